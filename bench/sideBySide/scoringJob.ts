/**
 * The tutorial's scoring work as a Sluice job, for `npm run bench:side-by-side`: each event
 * carries its 10 features, the fraud MLP scores it (micro-batched on the worker pool), and every
 * score goes to Kafka with the event's id and creation time, so an outside consumer can take
 * (arrival − creation). Reads `sbs-events`, writes `sbs-scores` (the bench renames both with --topic).
 */
import { fileURLToPath } from 'node:url';
import { defineJob, input, output } from '../../core/index.ts';
import { infer } from '../../operators/index.ts';
import { parseScoringEvent, type Score } from './events.ts';

export default defineJob({
  name: 'side-by-side-scoring',
  inputs: { events: input('sbs-events', { parse: parseScoringEvent }, { key: (event) => event.userId, time: (event) => event.createdAt }) },
  outputs: { scores: output<Score>('sbs-scores') },
  pipeline: ({ events }) =>
    events.pipe(
      infer({
        model: fileURLToPath(new URL('../../models/fraud-v1.onnx', import.meta.url)),
        features: (event) => event.features,
        output: (event, prediction): Score => ({ id: event.id, createdAt: event.createdAt, userId: event.userId, score: prediction.score }),
        fallback: { score: 1 },
      }),
    ),
});
