import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { FEATURE_NAMES } from '../../jobs/fraud/features.ts';

const modelsDir = new URL('../../models/', import.meta.url);
const modelPath = fileURLToPath(new URL('fraud-v1.onnx', modelsDir));
const metadata = JSON.parse(readFileSync(new URL('fraud-v1.json', modelsDir), 'utf8')) as {
  version: string;
  featureNames: string[];
  input: { name: string };
  output: { name: string };
  threshold: number;
};
const fixture = JSON.parse(readFileSync(new URL('fixtures/fraud-v1.json', modelsDir), 'utf8')) as {
  cases: { features: number[]; score: number }[];
};
const TOLERANCE = 1e-4;

const session = await InferenceSession.create(modelPath);

async function score(rows: number[][]): Promise<{ dims: readonly number[]; values: Float32Array }> {
  const input = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 10]);
  const output = (await session.run({ features: input })).score;
  assert.ok(output !== undefined, 'the model has an output named score');
  return { dims: output.dims, values: output.data as Float32Array };
}

test('the committed ONNX model reproduces the PyTorch fixture outputs within 1e-4', async () => {
  assert.ok(fixture.cases.length >= 20);
  const { values } = await score(fixture.cases.map((c) => c.features));
  fixture.cases.forEach((c, i) => {
    assert.ok(Math.abs(values[i]! - c.score) <= TOLERANCE, `case ${i}: onnx ${values[i]} vs torch ${c.score}`);
  });
});

test('the model accepts a batch of one and returns [1, 1]', async () => {
  for (const c of fixture.cases.slice(0, 3)) {
    const { dims, values } = await score([c.features]);
    assert.deepEqual(dims, [1, 1]);
    assert.ok(Math.abs(values[0]! - c.score) <= TOLERANCE);
  }
});

test('the model accepts a batch of 64 (dynamic batch axis) and scores each row independently', async () => {
  const rows = Array.from({ length: 64 }, (_, i) => fixture.cases[i % fixture.cases.length]!.features);
  const { dims, values } = await score(rows);
  assert.deepEqual(dims, [64, 1]);
  for (let i = 0; i < 64; i++) {
    assert.ok(Math.abs(values[i]! - fixture.cases[i % fixture.cases.length]!.score) <= TOLERANCE, `row ${i}`);
  }
});

test('the model metadata matches the session and the feature definitions', () => {
  assert.equal(metadata.version, 'fraud-v1');
  assert.deepEqual(session.inputNames, [metadata.input.name]);
  assert.deepEqual(session.outputNames, [metadata.output.name]);
  assert.deepEqual(metadata.featureNames, [...FEATURE_NAMES]);
  assert.equal(metadata.threshold, 0.7);
});

test('fixture scores cover both sides of the threshold', () => {
  const flagged = fixture.cases.filter((c) => c.score >= metadata.threshold).length;
  assert.ok(flagged > 0 && flagged < fixture.cases.length, `flagged ${flagged} of ${fixture.cases.length}`);
});
