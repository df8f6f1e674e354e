import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURE_NAMES } from '../../../jobs/fraud/features.ts';
import { ManifestError, parseManifest } from '../../../runtime/models/index.ts';
import { checkHistogram } from '../../../core/drift/index.ts';
import { manifestV1 } from './registryKit.ts';

const SOURCE = 'models/fraud/2/manifest.json';

function refusal(json: unknown): string {
  try {
    parseManifest(json, SOURCE);
  } catch (error) {
    assert.ok(error instanceof ManifestError);
    return error.message;
  }
  assert.fail('the manifest was accepted');
}

test('version 1 of the registry has a valid manifest with the job features, tensors and references', () => {
  const manifest = parseManifest(manifestV1(), 'models/fraud/1/manifest.json');
  assert.equal(manifest.version, 1);
  assert.deepEqual(manifest.features, [...FEATURE_NAMES]);
  assert.deepEqual(manifest.inputs, [{ name: 'features', dtype: 'float32', shape: ['batch', 10] }]);
  assert.deepEqual(manifest.outputs, [{ name: 'score', dtype: 'float32', shape: ['batch', 1] }]);
  assert.equal(manifest.metrics.auc, 0.9935);
  for (const name of manifest.features) checkHistogram(name, manifest.reference.features[name]!);
  checkHistogram('score', manifest.reference.score);
  // Decile bins of a continuous feature hold 10% each of the training rows.
  assert.ok(manifest.reference.features['hour_deviation']!.proportions.every((p) => Math.abs(p - 0.1) < 0.001));
});

test('a bad manifest is refused with one line naming the file, the field and what it must be', () => {
  const m = manifestV1();
  assert.equal(refusal({ ...m, version: 0 }), `${SOURCE} is not a valid model manifest: version must be a positive integer — rewrite it with models/train.py`);
  assert.equal(
    refusal({ ...m, inputs: [{ name: 'features', dtype: 'float', shape: ['batch', 10] }] }),
    `${SOURCE} is not a valid model manifest: inputs.0.dtype must be an onnxruntime tensor type such as float32 or int64 — rewrite it with models/train.py`,
  );
  assert.equal(
    refusal({ ...m, model: { file: 'model.onnx', sha256: 'abc', bytes: 10 } }),
    `${SOURCE} is not a valid model manifest: model.sha256 must be a sha256 in 64 lowercase hex digits — rewrite it with models/train.py`,
  );
  assert.match(refusal({ ...m, manifestVersion: 2 }), /manifestVersion must be 1: this Sluice reads manifest format 1/);
  assert.match(refusal({ ...m, features: [...(m['features'] as string[]), 'extra'] }), /reference.features has no histogram for feature extra/);
  const reference = m['reference'] as Record<string, unknown>;
  assert.match(refusal({ ...m, reference: { ...reference, score: { edges: [1], proportions: [1] } } }), /reference.score 1 edges need 2 proportions \(got 1\)/);
  assert.match(refusal({ ...m, reference: { ...reference, score: { edges: [2, 1], proportions: [0.2, 0.3, 0.5] } } }), /reference.score.edges must be strictly increasing/);
  assert.match(refusal({}), /manifestVersion must be 1.* \(and \d+ more problems\)/);
});
