import { describeError, InvalidOptionError, requirePositiveInteger } from '../../core/errors.ts';
import { ModelServiceError, ModelServiceProtocolError, ModelServiceRequestError, ModelServiceTimeoutError, ModelServiceUnavailableError } from './errors.ts';

export interface OipClientOptions {
  /** Base URL of the service, e.g. http://127.0.0.1:8500 (Triton: its HTTP port, 8000). */
  url: string;
  /** The model name in `/v2/models/<model>`. */
  model: string;
  /** Ask for this version (`/versions/<version>`); the server picks one when absent. */
  version?: string;
  /** Per HTTP call, the body included. */
  timeoutMs: number;
  /** The input tensor's name; read from the model's metadata on first use when absent. */
  inputName?: string;
  /** The output tensor to read; read from the model's metadata on first use when absent. */
  outputName?: string;
}

export interface InferOptions {
  /** W3C trace context of the caller's span, so the service's span becomes its child. */
  traceparent?: string;
  tracestate?: string;
  signal?: AbortSignal;
}

export interface OipScores {
  /** One score per row: the first column of the output tensor. */
  scores: Float32Array;
  /** The version that scored, as the service reports it (else the one asked for, else 'unknown'). */
  modelVersion: string;
}

export interface OipClient {
  /** Scores a row-major [rows, columns] float32 matrix in one request. */
  infer(features: Float32Array, rows: number, columns: number, options?: InferOptions): Promise<OipScores>;
  /** True when the model answers ready (`GET .../ready` is 200). */
  ready(): Promise<boolean>;
}

interface Tensors {
  input: string;
  output: string;
  /** Features per row the service expects, when its metadata says. */
  columns: number | undefined;
}

/**
 * A client of the Open Inference Protocol (KServe/Triton "v2" REST) using only what Sluice's
 * service, Triton, KServe and MLServer all share: JSON model metadata, and a JSON inference
 * request with one FP32 input and one named output. Calls go through Node's global fetch
 * (undici), whose default agent keeps connections alive. Failures are ModelServiceError
 * subclasses whose `retriable` says whether to try again: 5xx, timeouts and unreachable
 * services are retriable, 4xx (except 408/429) and unreadable answers are not.
 *
 * @example
 * const client = oipClient({ url: 'http://127.0.0.1:8500', model: 'fraud-v1', timeoutMs: 1000 });
 * const { scores, modelVersion } = await client.infer(features, 64, 10, { traceparent });
 */
export function oipClient(options: OipClientOptions): OipClient {
  requirePositiveInteger('timeoutMs', options.timeoutMs);
  const base = `${options.url.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(options.model)}${options.version === undefined ? '' : `/versions/${encodeURIComponent(options.version)}`}`;
  let tensors: Promise<Tensors> | undefined =
    options.inputName !== undefined && options.outputName !== undefined ? Promise.resolve({ input: options.inputName, output: options.outputName, columns: undefined }) : undefined;
  let nextId = 0;

  const call = async (path: string, init: RequestInit, signal?: AbortSignal): Promise<{ status: number; body: string }> => {
    const url = `${base}${path}`;
    const timeout = AbortSignal.timeout(options.timeoutMs);
    try {
      const response = await fetch(url, { ...init, signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]) });
      return { status: response.status, body: await response.text() };
    } catch (error) {
      if (timeout.aborted) throw new ModelServiceTimeoutError(url, options.timeoutMs, error);
      if (signal?.aborted === true) throw error;
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new ModelServiceUnavailableError(`model service ${options.url} cannot be reached (${cause?.code ?? describeError(error)}) — is it running? (sluice serve <model>)`, { cause: error });
    }
  };

  const loadTensors = async (): Promise<Tensors> => {
    const { status, body } = await call('', { method: 'GET' });
    if (status !== 200) throw failure(status, body, `model metadata of ${options.model}`);
    const metadata = parseJson(body, status) as { inputs?: MetadataTensor[]; outputs?: MetadataTensor[] };
    const input = metadata.inputs?.find((tensor) => options.inputName === undefined || tensor.name === options.inputName);
    const output = metadata.outputs?.find((tensor) => options.outputName === undefined || tensor.name === options.outputName);
    if (input === undefined || output === undefined) throw new ModelServiceProtocolError(`model ${options.model} metadata names no ${input === undefined ? `input ${options.inputName ?? ''}` : `output ${options.outputName ?? ''}`} — check the model name or set inputName/outputName`);
    if (input.datatype !== 'FP32') throw new ModelServiceProtocolError(`model ${options.model} input "${input.name}" is ${String(input.datatype)}; this client sends FP32 features`);
    const width = Array.isArray(input.shape) ? input.shape[input.shape.length - 1] : undefined;
    return { input: input.name, output: output.name, columns: typeof width === 'number' && width > 0 ? width : undefined };
  };

  return {
    async infer(features, rows, columns, inferOptions = {}) {
      if (features.length < rows * columns) throw new InvalidOptionError(`features hold ${features.length} values, fewer than ${rows} rows × ${columns} columns`);
      tensors ??= loadTensors();
      // A failed metadata call is asked again next time rather than cached.
      const names = await tensors.catch((error: unknown) => {
        tensors = undefined;
        throw error;
      });
      if (names.columns !== undefined && names.columns !== columns) throw new InvalidOptionError(`model ${options.model} takes ${names.columns} features per row, not ${columns} — check the feature vector`);
      const id = String((nextId += 1));
      const request = {
        id,
        inputs: [{ name: names.input, shape: [rows, columns], datatype: 'FP32', data: Array.from(features.subarray(0, rows * columns)) }],
        outputs: [{ name: names.output }],
      };
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (inferOptions.traceparent !== undefined) headers.traceparent = inferOptions.traceparent;
      if (inferOptions.tracestate !== undefined) headers.tracestate = inferOptions.tracestate;
      const { status, body } = await call('/infer', { method: 'POST', headers, body: JSON.stringify(request) }, inferOptions.signal);
      if (status !== 200) throw failure(status, body, `inference on ${options.model}`);
      const answer = parseJson(body, status);
      return { scores: readScores(answer, names.output, rows), modelVersion: versionOf(answer, options.version) };
    },
    async ready() {
      try {
        return (await call('/ready', { method: 'GET' })).status === 200;
      } catch (error) {
        if (error instanceof ModelServiceError && error.retriable) return false;
        throw error;
      }
    },
  };
}

interface MetadataTensor {
  name: string;
  datatype?: string;
  shape?: number[];
}

/** The error for a non-200 answer, with the protocol's `{"error": "..."}` message when there is one. */
function failure(status: number, body: string, what: string): ModelServiceError {
  let message = body.slice(0, 200);
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // Not JSON (a proxy's error page): keep the start of the text.
  }
  const text = `${what} failed with HTTP ${status}: ${message.split('\n')[0]}`;
  return status >= 500 ? new ModelServiceUnavailableError(text, { status }) : new ModelServiceRequestError(text, status);
}

function parseJson(body: string, status: number): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new ModelServiceProtocolError(`model service answered HTTP ${status} with a body that is not a JSON object: ${body.slice(0, 80)}`, status);
}

/** One score per row: the first column of the named output, flat or nested. */
function readScores(response: Record<string, unknown>, outputName: string, rows: number): Float32Array {
  const outputs = Array.isArray(response.outputs) ? (response.outputs as { name?: unknown; data?: unknown }[]) : [];
  const output = outputs.find((tensor) => tensor.name === outputName) ?? (outputs.length === 1 ? outputs[0] : undefined);
  if (output === undefined || !Array.isArray(output.data)) throw new ModelServiceProtocolError(`inference response has no output "${outputName}" with JSON data (binary outputs are not read)`);
  const data = output.data.flat(Infinity) as unknown[];
  if (data.length < rows || data.length % rows !== 0) throw new ModelServiceProtocolError(`output "${outputName}" holds ${data.length} values for ${rows} rows`);
  const stride = data.length / rows;
  const scores = new Float32Array(rows);
  for (let row = 0; row < rows; row += 1) {
    const value = data[row * stride];
    if (typeof value !== 'number') throw new ModelServiceProtocolError(`output "${outputName}" row ${row} is ${JSON.stringify(value)}, not a number`);
    scores[row] = value;
  }
  return scores;
}

function versionOf(response: Record<string, unknown>, asked: string | undefined): string {
  const version = response.model_version;
  return typeof version === 'string' && version !== '' ? version : (asked ?? 'unknown');
}
