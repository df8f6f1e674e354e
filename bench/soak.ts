/**
 * Soak: is memory flat under sustained backpressure? The fraud job runs on an endless generated
 * stream into a deliberately slow sink (so the in-flight budget stays full and the source waits
 * the whole time), and every `--sample-seconds` this prints RSS and heap used, then the least-
 * squares slope of each over the run after the first minute (warm-up). A slope near 0 MiB/min is
 * flat; a steady positive slope is growth. Figures, not a test.
 *
 *   npm run bench:soak                                  # 15 minutes
 *   npm run bench:soak -- --minutes 3 --sink-ms-per-record 0.05 --max-in-flight 20000
 */
import { parseArgs } from 'node:util';
import { runJob } from '../core/engine/engine.ts';
import type { DeadLetter, Sink } from '../core/job.ts';
import { resolveSettings } from '../core/settings.ts';
import fraudJob from '../jobs/fraud-detection.ts';
import { bindIO } from '../runtime/bindIO.ts';
import { LazyInference } from '../runtime/lazyInference.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '15' },
    'sample-seconds': { type: 'string', default: '60' },
    /** Sink time per record: 0.05 ms caps the sink at 20,000 records/s, below the job's pace, so the budget stays full. */
    'sink-ms-per-record': { type: 'string', default: '0.05' },
    'max-in-flight': { type: 'string', default: '20000' },
    workers: { type: 'string', default: '1' },
  },
});
const minutes = Number(values.minutes);
const sampleMs = Number(values['sample-seconds']) * 1000;
const msPerRecord = Number(values['sink-ms-per-record']);
const maxInFlight = Number(values['max-in-flight']);

const settings = resolveSettings(fraudJob.settings, { count: String(Number.MAX_SAFE_INTEGER) });
const binding = bindIO(fraudJob, { kafka: undefined, topics: {}, inputFiles: {}, outputFiles: { decisions: 'none' }, outputMode: 'overwrite', settings });
// A slow sink: a write takes `msPerRecord` per record, so the job is held back by it.
const slow: Sink<unknown> = { name: 'slow', write: (records) => new Promise((resolve) => setTimeout(resolve, records.length * msPerRecord)) };
const discard: Sink<DeadLetter> = { name: 'discard', write: async () => {} };
const inference = new LazyInference({ workers: Number(values.workers) });
const running = runJob(fraudJob, { sources: binding.sources, sinks: { decisions: slow }, deadLetterSink: discard, settings, maxInFlight, inference });

const MiB = 1024 * 1024;
const samples: Array<{ minute: number; rss: number; heap: number }> = [];
const started = performance.now();
console.log(`soak: fraud job, endless input, a sink of ${msPerRecord} ms per record, --max-in-flight ${maxInFlight}, ${minutes} min`);
console.log('minute   rss MiB   heap MiB   in flight   events/s');
let previousIn = 0;
const timer = setInterval(() => {
  const memory = process.memoryUsage();
  const stats = running.stats();
  const minute = (performance.now() - started) / 60_000;
  samples.push({ minute, rss: memory.rss / MiB, heap: memory.heapUsed / MiB });
  console.log(`${minute.toFixed(1).padStart(6)}   ${(memory.rss / MiB).toFixed(0).padStart(7)}   ${(memory.heapUsed / MiB).toFixed(0).padStart(8)}   ${String(stats.inFlight).padStart(9)}   ${Math.round((stats.in - previousIn) / (sampleMs / 1000)).toLocaleString('en-US').padStart(8)}`);
  previousIn = stats.in;
}, sampleMs);

await new Promise((resolve) => setTimeout(resolve, minutes * 60_000 + 1000));
clearInterval(timer);
running.stop();
await running.done;
await inference.close();

/** Least-squares slope (MiB per minute) of the samples after the first minute. */
function slope(pick: (s: { rss: number; heap: number }) => number): number {
  const points = samples.filter((s) => s.minute >= 1);
  if (points.length < 2) return NaN;
  const meanX = points.reduce((a, s) => a + s.minute, 0) / points.length;
  const meanY = points.reduce((a, s) => a + pick(s), 0) / points.length;
  const num = points.reduce((a, s) => a + (s.minute - meanX) * (pick(s) - meanY), 0);
  const den = points.reduce((a, s) => a + (s.minute - meanX) ** 2, 0);
  return num / den;
}
console.log(`slope after the first minute: rss ${slope((s) => s.rss).toFixed(2)} MiB/min, heap ${slope((s) => s.heap).toFixed(2)} MiB/min`);
