/**
 * Runs inside each Piscina worker thread: loads a model once per thread (on first use) and
 * scores batches with onnxruntime-node. Kept free of Sluice imports so a worker starts fast.
 */
import { readFile } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** The message the pool sends for one batch. */
export interface ScoreTask {
  modelPath: string;
  features: Float32Array;
  rows: number;
  columns: number;
}

/** What the worker sends back. Times are epoch ms with sub-ms precision, comparable across threads. */
export interface ScoreResult {
  scores: Float32Array;
  modelVersion: string;
  threadId: number;
  startedAt: number;
  endedAt: number;
}

interface LoadedModel {
  session: ort.InferenceSession;
  inputName: string;
  outputName: string;
  version: string;
}

const models = new Map<string, Promise<LoadedModel>>();

/**
 * Loads a model on this thread ahead of the first batch (the pool calls it once per worker at
 * start), so the first records do not wait for a session to be created.
 */
export async function warmUp(modelPath: string): Promise<string> {
  return (await load(modelPath)).version;
}

/** Scores one batch; the model behind `modelPath` is loaded on this thread's first call. */
export default async function score(task: ScoreTask): Promise<ScoreResult> {
  const startedAt = performance.timeOrigin + performance.now();
  const model = await load(task.modelPath);
  const input = new ort.Tensor('float32', task.features, [task.rows, task.columns]);
  const output = await model.session.run({ [model.inputName]: input });
  const tensor = output[model.outputName];
  if (tensor === undefined) throw new Error(`model ${task.modelPath} returned no output "${model.outputName}"`);
  const data = tensor.data;
  if (!(data instanceof Float32Array)) throw new Error(`model ${task.modelPath} output "${model.outputName}" is ${tensor.type}, expected float32`);
  if (data.length < task.rows) throw new Error(`model ${task.modelPath} returned ${data.length} scores for ${task.rows} rows`);
  // One score per row: the first column of a [rows, k] output.
  const stride = data.length / task.rows;
  const scores = new Float32Array(task.rows);
  for (let row = 0; row < task.rows; row += 1) scores[row] = data[row * stride]!;
  return { scores, modelVersion: model.version, threadId, startedAt, endedAt: performance.timeOrigin + performance.now() };
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
  const outputName = session.outputNames[0];
  if (inputName === undefined || outputName === undefined) throw new Error(`model ${modelPath} has no inputs or outputs`);
  return { session, inputName, outputName, version: await readVersion(modelPath) };
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
