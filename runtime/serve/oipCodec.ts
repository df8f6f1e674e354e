import { InvalidInferenceRequestError } from './errors.ts';
import type { ServedModel } from './resolveModel.ts';

/** A validated inference request: one [rows, columns] float32 matrix. */
export interface ParsedInferenceRequest {
  id: string | undefined;
  features: Float32Array;
  rows: number;
  columns: number;
}

/** The Open Inference Protocol's inference response object. */
export interface InferenceResponseBody {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; shape: number[]; datatype: 'FP32'; data: number[] }[];
}

const fail = (message: string): never => {
  throw new InvalidInferenceRequestError(message);
};

/**
 * Reads an Open Inference Protocol inference request (REST/JSON) for a model with one FP32
 * input of shape [-1, columns] and one output. Anything else is refused with a one-line
 * InvalidInferenceRequestError naming what to change. Tensor data may be flat or nested
 * (the protocol allows both); every element must be a number whose float32 value is finite.
 *
 * @example
 * parseInferenceRequest('{"inputs":[{"name":"features","shape":[1,10],"datatype":"FP32","data":[...]}]}', model)
 */
export function parseInferenceRequest(body: string, model: ServedModel): ParsedInferenceRequest {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch (error) {
    fail(`request body is not valid JSON (${(error as Error).message}) — send an Open Inference Protocol inference request object`);
  }
  if (!isObject(request)) return fail('request body must be a JSON object with an "inputs" array');
  const id = request.id;
  if (id !== undefined && typeof id !== 'string') return fail('"id" must be a string when given');
  const inputs = request.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) return fail(`"inputs" must be a non-empty array holding the tensor "${model.input.name}"`);
  const input: unknown = inputs.find((tensor) => isObject(tensor) && tensor.name === model.input.name);
  if (!isObject(input)) return fail(`input tensor "${model.input.name}" is missing (got ${names(inputs)}) — model ${model.name} takes one FP32 input "${model.input.name}"`);
  if (inputs.length > 1) fail(`unexpected input tensors ${names(inputs.filter((tensor) => tensor !== input))} — model ${model.name} takes only "${model.input.name}"`);
  checkOutputs(request.outputs, model);
  if (input.datatype !== 'FP32') fail(`input "${model.input.name}" has datatype ${JSON.stringify(input.datatype)}, expected "FP32"`);
  if (isObject(input.parameters) && input.parameters.binary_data_size !== undefined) fail('binary tensor data is not supported — send "data" as a JSON array');
  const { rows, columns } = checkShape(input.shape, model);
  const features = readData(input.data, rows * columns, model.input.name);
  return { id, features, rows, columns };
}

/**
 * The response to one inference request: the output tensor [rows, 1] with one score per row.
 *
 * @example
 * inferenceResponse(model, 'fraud-v1', scores, '42') // { model_name, model_version, id, outputs: [...] }
 */
export function inferenceResponse(model: ServedModel, modelVersion: string, scores: Float32Array, id: string | undefined): InferenceResponseBody {
  return {
    model_name: model.name,
    model_version: modelVersion,
    ...(id === undefined ? {} : { id }),
    outputs: [{ name: model.output.name, shape: [scores.length, 1], datatype: 'FP32', data: Array.from(scores) }],
  };
}

function checkOutputs(outputs: unknown, model: ServedModel): void {
  if (outputs === undefined) return;
  if (!Array.isArray(outputs)) fail('"outputs" must be an array of {"name": ...} when given');
  for (const output of outputs as unknown[]) {
    if (!isObject(output) || output.name !== model.output.name) fail(`unknown output ${isObject(output) ? JSON.stringify(output.name) : JSON.stringify(output)} — model ${model.name} has one output "${model.output.name}"`);
    const parameters = (output as Record<string, unknown>).parameters;
    if (isObject(parameters) && parameters.binary_data === true) fail(`binary output data is not supported — ask for output "${model.output.name}" without "binary_data": true`);
  }
}

function checkShape(shape: unknown, model: ServedModel): { rows: number; columns: number } {
  const expected = `[rows, ${model.columns ?? 'columns'}]`;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0)) {
    return fail(`input "${model.input.name}" has shape ${JSON.stringify(shape)}, expected ${expected}`);
  }
  const [rows, columns] = shape as [number, number];
  if (rows === 0 || columns === 0) fail(`input "${model.input.name}" has shape ${JSON.stringify(shape)} with no elements — send at least one row`);
  if (model.columns !== undefined && columns !== model.columns) fail(`input "${model.input.name}" has shape ${JSON.stringify(shape)}, expected ${expected}: model ${model.name} takes ${model.columns} features per row`);
  return { rows, columns };
}

/** Flattens row-major data (flat or nested) into a Float32Array of exactly `size` elements. */
function readData(data: unknown, size: number, inputName: string): Float32Array {
  if (!Array.isArray(data)) return fail(`input "${inputName}" has no "data" array`);
  const flat = data.flat(Infinity) as unknown[];
  if (flat.length !== size) fail(`input "${inputName}" has ${flat.length} data elements but its shape needs ${size}`);
  const features = new Float32Array(size);
  for (let i = 0; i < size; i += 1) {
    const value = flat[i];
    if (typeof value !== 'number') fail(`input "${inputName}" element ${i} is ${JSON.stringify(value)}, not a number`);
    features[i] = value as number;
    if (!Number.isFinite(features[i])) fail(`input "${inputName}" element ${i} (${String(value)}) is not a finite float32 — send finite features`);
  }
  return features;
}

function names(tensors: unknown[]): string {
  const list = tensors.map((tensor) => (isObject(tensor) ? JSON.stringify(tensor.name) : JSON.stringify(tensor)));
  return list.length === 0 ? 'none' : list.join(', ');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
