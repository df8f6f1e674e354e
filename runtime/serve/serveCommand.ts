import { describeError, SluiceError } from '../../core/errors.ts';
import { startTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import { startModelService, type ModelService } from './modelService.ts';

/** Everything `sluice serve` was told. */
export interface ServeOptions {
  /** An .onnx file, a model registry directory (`models/fraud`) or a pinned version (`models/fraud@1`). */
  model: string;
  name?: string;
  port?: number;
  host?: string;
  workers?: number;
  maxBatch?: number;
  maxDelayMs?: number;
  /** Stops the service like SIGTERM does (for tests and embedding). */
  signal?: AbortSignal;
}

/** Where the command writes; tests pass their own. */
export interface ServeOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processOutput: ServeOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * `sluice serve <model>`: serves the model over the Open Inference Protocol until SIGTERM or
 * SIGINT, then answers the requests under way and exits 0. Tracing follows the standard OTEL_*
 * variables (as for `sluice run`). Failures become one readable line and exit code 1.
 *
 * @example
 * process.exitCode = await serveCommand({ model: 'models/fraud-v1.onnx', port: 8500, workers: 2 });
 * // serving fraud-v1 vfraud-v1 at http://127.0.0.1:8500 (OIP v2)
 */
export async function serveCommand(options: ServeOptions, output: ServeOutput = processOutput): Promise<number> {
  let telemetry: Telemetry | undefined;
  let service: ModelService | undefined;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const signals = ['SIGTERM', 'SIGINT'] as const;
  for (const signal of signals) process.on(signal, stop);
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    telemetry = await startTelemetry({ jobName: options.name ?? 'sluice-serve', warn: (line) => output.err(`sluice: ${line}\n`) });
    for (const line of telemetry.describe()) output.err(`${line}\n`);
    service = await startModelService({
      model: options.model,
      ...definedOnly({ name: options.name, port: options.port, host: options.host, workers: options.workers, maxBatch: options.maxBatch, maxDelayMs: options.maxDelayMs }),
    });
    output.out(`serving ${service.model.name} v${service.model.version} at ${service.url} (OIP v2)\n`);
    output.err(`metrics: ${service.url}/metrics\n`);
    if (options.signal?.aborted !== true) await stopped;
    output.err('stopping: answering the requests under way\n');
    await service.close();
    await telemetry.stop();
    return 0;
  } catch (error) {
    output.err(`sluice serve: ${error instanceof SluiceError ? error.message : describeError(error).split('\n')[0]}\n`);
    await service?.close().catch(() => {});
    await telemetry?.stop().catch(() => {});
    return 1;
  } finally {
    for (const signal of signals) process.off(signal, stop);
  }
}

/** Drops undefined options so the service's defaults apply. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
