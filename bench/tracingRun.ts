/**
 * One measured run for bench/tracing.ts (a child process per setting): the embedded fraud job
 * with the telemetry that `--trace-sample`, `--metrics-port` and the OTEL_* variables ask for,
 * run once to warm up and once measured. Prints one JSON line: events/s, the main thread's CPU
 * per event (read from /proc, so other processes on the machine barely disturb it) and the
 * whole process's (worker threads, GC and exporter included).
 *
 *   npx tsx bench/tracingRun.ts --count 1000000 [--trace-sample 0.01] [--metrics]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runJob } from '../core/engine/engine.ts';
import { resolveSettings } from '../core/settings.ts';
import { bindIO } from '../runtime/bindIO.ts';
import type { DeadLetter, Sink } from '../core/job.ts';
import { InferencePool } from '../runtime/inferencePool.ts';
import { loadJob } from '../runtime/loadJob.ts';
import { startTelemetry } from '../runtime/telemetry/telemetry.ts';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '1000000' }, warmup: { type: 'string', default: '200000' }, workers: { type: 'string', default: '2' }, 'trace-sample': { type: 'string' }, metrics: { type: 'boolean', default: false } },
});
const workers = Number(values.workers);
const job = await loadJob('jobs/fraud-detection.ts');
const pool = new InferencePool({ workers });
const deadLetters: Sink<DeadLetter> = { name: 'discard', write: async () => {} };

/** utime + stime of the main thread, in ms (clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function once(count: number): Promise<{ rate: number; mainCpuUsPerEvent: number; processCpuUsPerEvent: number; traced: number }> {
  const telemetry = await startTelemetry({
    jobName: job.name,
    traceSample: values['trace-sample'] === undefined ? undefined : Number(values['trace-sample']),
    metricsPort: values.metrics ? 0 : undefined,
    pool,
  });
  const settings = resolveSettings(job.settings, { count: String(count) });
  const binding = bindIO(job, { kafka: undefined, topics: {}, inputFiles: {}, outputFiles: { decisions: 'none' }, outputMode: 'overwrite', settings });
  const cpu0 = mainThreadCpuMs();
  const process0 = process.cpuUsage();
  const t0 = performance.now();
  const running = runJob(job, { sources: telemetry.instrumentSources(binding.sources), sinks: binding.sinks, settings, maxInFlight: 20_000, inference: pool, deadLetterSink: deadLetters, instrumentation: telemetry.instrumentation });
  telemetry.attach(running);
  const stats = await running.done;
  const wallMs = performance.now() - t0;
  const cpuMs = mainThreadCpuMs() - cpu0;
  const processCpu = process.cpuUsage(process0);
  const traced = telemetry.sampling === undefined ? 0 : Number((await telemetry.metrics?.registry.getSingleMetricAsString('sluice_traced_records_total'))?.match(/ (\d+)$/m)?.[1] ?? 0);
  await telemetry.stop();
  return { rate: stats.in / (wallMs / 1000), mainCpuUsPerEvent: (cpuMs * 1000) / stats.in, processCpuUsPerEvent: (processCpu.user + processCpu.system) / stats.in, traced };
}

await once(Number(values.warmup));
const measured = await once(Number(values.count));
await pool.close();
process.stdout.write(`${JSON.stringify(measured)}\n`);
