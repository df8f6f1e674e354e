/**
 * Runs inside each Piscina worker thread: loads a model once per thread (on first use) and
 * scores batches with onnxruntime-node. Kept free of Sluice imports (but the telemetry switch,
 * which has none) so a worker starts fast.
 * Several versions of a model live side by side here (keyed by file), so a hot swap only moves
 * the pool's pointer: the next batch names the new file, which this thread loaded ahead.
 */
import './onnxTelemetry.ts';
import { readFile } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** An extra named input tensor of a batch: `rows` × `columns`, row-major. */
export interface WireTensor {
  data: Float32Array | BigInt64Array;
  columns: number;
}

/** The message the pool sends for one batch. */
export interface ScoreTask {
  modelPath: string;
  /** How results name the version (`fraud@2`); the pool resolved it. Read from `<model>.json` or the file name when absent. */
  version?: string | undefined;
  /** The float32 [rows, columns] tensor for `featuresInput` (the model's first input by default). */
  features: Float32Array;
  rows: number;
  columns: number;
  featuresInput?: string | undefined;
  /** The model's other inputs, by name. */
  inputs?: Record<string, WireTensor> | undefined;
  /** The output holding the score (default: the first float output). */
  scoreOutput?: string | undefined;
  /** The column of a [rows, k] score output (default: the last, the positive class of [p0, p1]). */
  scoreColumn?: number | undefined;
}

/** What the worker sends back. Times are epoch ms with sub-ms precision, comparable across threads. */
export interface ScoreResult {
  scores: Float32Array;
  modelVersion: string;
  threadId: number;
  startedAt: number;
  endedAt: number;
}

/** One input or output as onnxruntime describes it (the manifest's TensorSpec shape). */
export interface WireTensorSpec {
  name: string;
  dtype: string;
  shape: Array<string | number>;
}

/** What a warm-up reports: the thread that loaded the model and what the model takes and gives. */
export interface WarmUpResult {
  threadId: number;
  version: string;
  inputs: WireTensorSpec[];
  outputs: WireTensorSpec[];
}

interface LoadedModel {
  session: ort.InferenceSession;
  inputName: string;
  /** The first float output: the score when the task names none. */
  floatOutput: string;
  /** One output only: run() fetches it without a fetch list. */
  single: boolean;
  version: string;
}

const models = new Map<string, Promise<LoadedModel>>();

/**
 * Loads a model on this thread ahead of the first batch (the pool calls it on every worker at
 * start and before a swap), so no record waits for a session to be created.
 */
export async function warmUp(task: { modelPath: string; version?: string }): Promise<WarmUpResult> {
  const model = await load(task.modelPath);
  const specs = (metadata: readonly ort.InferenceSession.ValueMetadata[]): WireTensorSpec[] =>
    metadata.map((m) => (m.isTensor ? { name: m.name, dtype: m.type, shape: [...m.shape] } : { name: m.name, dtype: 'non-tensor', shape: [] }));
  return { threadId, version: task.version ?? model.version, inputs: specs(model.session.inputMetadata), outputs: specs(model.session.outputMetadata) };
}

/** Drops a version this thread no longer needs (after a swap moved past it); says which thread did. */
export async function unload(task: { modelPath: string }): Promise<{ threadId: number }> {
  const model = models.get(task.modelPath);
  models.delete(task.modelPath);
  await (await model?.catch(() => undefined))?.session.release();
  return { threadId };
}

/** The model files this thread has loaded (or is loading), and which thread it is. */
export function loadedModels(): { threadId: number; modelPaths: string[] } {
  return { threadId, modelPaths: [...models.keys()] };
}

/** Scores one batch; the model behind `modelPath` is loaded on this thread's first call. */
export default async function score(task: ScoreTask): Promise<ScoreResult> {
  const startedAt = performance.timeOrigin + performance.now();
  const model = await load(task.modelPath);
  const feeds: Record<string, ort.Tensor> = { [task.featuresInput ?? model.inputName]: new ort.Tensor('float32', task.features, [task.rows, task.columns]) };
  if (task.inputs !== undefined) {
    for (const [name, tensor] of Object.entries(task.inputs)) {
      feeds[name] = tensor.data instanceof BigInt64Array ? new ort.Tensor('int64', tensor.data, [task.rows, tensor.columns]) : new ort.Tensor('float32', tensor.data, [task.rows, tensor.columns]);
    }
  }
  const outputName = task.scoreOutput ?? model.floatOutput;
  // Fetch only the score when there are other outputs (a label head costs nothing then).
  const output = model.single ? await model.session.run(feeds) : await model.session.run(feeds, [outputName]);
  const tensor = output[outputName];
  if (tensor === undefined) throw new Error(`model ${task.modelPath} returned no output "${outputName}"`);
  const data = tensor.data;
  if (!(data instanceof Float32Array) && !(data instanceof Float64Array)) throw new Error(`model ${task.modelPath} output "${outputName}" is ${tensor.type}, expected float32 or float64 scores`);
  if (data.length < task.rows) throw new Error(`model ${task.modelPath} returned ${data.length} scores for ${task.rows} rows`);
  // One score per row: column `scoreColumn` of a [rows, k] output, the last one by default.
  const stride = data.length / task.rows;
  const column = task.scoreColumn ?? stride - 1;
  if (column >= stride) throw new Error(`model ${task.modelPath} output "${outputName}" has ${stride} columns, scoreColumn is ${column}`);
  const scores = new Float32Array(task.rows);
  for (let row = 0; row < task.rows; row += 1) scores[row] = data[row * stride + column]!;
  return { scores, modelVersion: task.version ?? model.version, threadId, startedAt, endedAt: performance.timeOrigin + performance.now() };
}

function load(modelPath: string): Promise<LoadedModel> {
  let model = models.get(modelPath);
  if (model === undefined) {
    model = open(modelPath);
    models.set(modelPath, model);
    // A failed load is retried on the next batch rather than cached for ever.
    model.catch(() => models.delete(modelPath));
  }
  return model;
}

async function open(modelPath: string): Promise<LoadedModel> {
  // One intra-op thread: parallelism comes from the pool's worker threads, not from inside ORT.
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const inputName = session.inputNames[0];
  const floatOutput = session.outputMetadata.find((m) => m.isTensor && (m.type === 'float32' || m.type === 'float64'))?.name ?? session.outputNames[0];
  if (inputName === undefined || floatOutput === undefined) throw new Error(`model ${modelPath} has no inputs or outputs`);
  return { session, inputName, floatOutput, single: session.outputNames.length === 1, version: await readVersion(modelPath) };
}

/** The version from `<model>.json` beside the model (`{"version": "..."}`), else the file name. */
async function readVersion(modelPath: string): Promise<string> {
  const metadataPath = modelPath.replace(/\.onnx$/, '.json');
  try {
    const metadata = JSON.parse(await readFile(metadataPath, 'utf8')) as { version?: unknown };
    if (typeof metadata.version === 'string') return metadata.version;
  } catch {
    // No metadata: fall back to the file name.
  }
  return modelPath.split('/').pop()!.replace(/\.onnx$/, '');
}
