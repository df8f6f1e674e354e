import { collectSink } from '../connectors/collectSink.ts';
import { runJob } from '../core/engine/engine.ts';
import type { Source } from '../core/job.ts';
import { resolveSettings } from '../core/settings.ts';
import { LazyInference } from './lazyInference.ts';
import { loadJob } from './loadJob.ts';
import { oneLine } from './runCommand.ts';
import { typecheckJob } from './typecheck.ts';

/**
 * `sluice check job.ts`: type-checks the job file, loads it, resolves its settings and builds
 * its operator graph against empty inputs — so a type error, a wrong pipeline (an output not
 * returned, a stateful operator without a key), a bad setting or a model that does not load is
 * reported before any record flows. Prints the graph's stages; returns the exit code.
 *
 * @example
 * process.exitCode = await checkCommand({ jobPath: 'jobs/fraud-detection.ts', settings: {} });
 */
export async function checkCommand(options: { jobPath: string; settings: Record<string, string> }, err: (text: string) => void = (text) => process.stderr.write(text)): Promise<number> {
  const problems = typecheckJob(options.jobPath);
  if (problems.length > 0) {
    err(`sluice: ${options.jobPath} has type errors:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    return 1;
  }
  const inference = new LazyInference({ workers: 1 });
  try {
    const job = await loadJob(options.jobPath);
    const settings = resolveSettings(job.settings, options.settings);
    const empty: Source<unknown> = { name: 'empty', run: async () => {} };
    const running = runJob(job, {
      sources: Object.fromEntries(Object.keys(job.inputs).map((name) => [name, empty])),
      sinks: Object.fromEntries(Object.keys(job.outputs).map((name) => [name, collectSink()])),
      deadLetterSink: collectSink(),
      settings,
      maxInFlight: 1,
      inference,
    });
    await running.done;
    err(
      `job ${job.name} is fine: inputs ${Object.keys(job.inputs).join(', ')} → ${running.stages().reverse().join(' → ') || '(no named stages)'} → outputs ${Object.keys(job.outputs).join(', ')}` +
        `${inference.started ? '; its models load' : ''}\n`,
    );
    return 0;
  } catch (error) {
    err(`sluice: ${oneLine(error)}\n`);
    return 1;
  } finally {
    await inference.close();
  }
}
