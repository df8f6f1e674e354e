/**
 * The tutorial's scoring work as a Sluice job, for `npm run bench:side-by-side`: each event
 * carries its 10 features, the fraud MLP scores it (micro-batched on the worker pool), and every
 * score goes to Kafka with the event's id and creation time, so an outside consumer can take
 * (arrival − creation). Reads `sbs-events`, writes `sbs-scores` (the bench renames both with --topic).
 *
 * With SBS_STAGES=1 (the bench's `--stages`) each score also carries when its event was decoded
 * (handed into the job by the source), batched (its features read for a model call) and scored (back on the job's thread), so the
 * outside consumer can split a record's latency into input hop, job, and output hop.
 */
import { fileURLToPath } from 'node:url';
import { defineJob, input, output } from '../../core/index.ts';
import { infer } from '../../operators/index.ts';
import { parseScoringEvent, type Score, type ScoringEvent } from './events.ts';

const stages = process.env.SBS_STAGES === '1';
const parse = stages ? (value: unknown): ScoringEvent => ({ ...parseScoringEvent(value), decodedAt: Date.now() }) : parseScoringEvent;

export default defineJob({
  name: 'side-by-side-scoring',
  inputs: { events: input('sbs-events', { parse }, { key: (event) => event.userId, time: (event) => event.createdAt }) },
  outputs: { scores: output<Score>('sbs-scores') },
  pipeline: ({ events }) =>
    events.pipe(
      infer({
        model: fileURLToPath(new URL('../../models/fraud-v1.onnx', import.meta.url)),
        features: (event) => {
          if (stages) event.batchedAt = Date.now();
          return event.features;
        },
        output: (event, prediction): Score =>
          stages
            ? { id: event.id, createdAt: event.createdAt, userId: event.userId, score: prediction.score, decodedAt: event.decodedAt, batchedAt: event.batchedAt, scoredAt: Date.now() }
            : { id: event.id, createdAt: event.createdAt, userId: event.userId, score: prediction.score },
        fallback: { score: 1 },
      }),
    ),
});
