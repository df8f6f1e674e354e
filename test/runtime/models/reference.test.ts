import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DriftWindow } from '../../../core/drift/index.ts';
import { driftColumns, loadHeldOut, resolveModel } from '../../../runtime/models/index.ts';
import { FRAUD_REGISTRY, PINNED_FIXTURES, ROOT } from './registryKit.ts';

test('version 1 is fraud-v1: the same ONNX bytes and the same PyTorch fixtures', async () => {
  assert.ok(readFileSync(join(FRAUD_REGISTRY, '1/model.onnx')).equals(readFileSync(join(ROOT, 'models/fraud-v1.onnx'))));
  const ours = JSON.parse(readFileSync(join(FRAUD_REGISTRY, '1/fixtures.json'), 'utf8')) as { cases: unknown[] };
  const pinned = JSON.parse(readFileSync(PINNED_FIXTURES, 'utf8')) as { cases: unknown[] };
  assert.deepEqual(ours.cases, pinned.cases);
});

test('the reference histograms fit the held-out rows through core/drift: legit rows close, fraud rows far', async () => {
  const model = await resolveModel(FRAUD_REGISTRY);
  const heldOut = await loadHeldOut(join(FRAUD_REGISTRY, '1/holdout.csv'));
  const session = await ort.InferenceSession.create(model.modelPath);
  const rows = heldOut.labels.length;
  const scores = (await session.run({ features: new ort.Tensor('float32', heldOut.features, [rows, 10]) })).score!.data as Float32Array;
  await session.release();
  const legit = new DriftWindow(driftColumns(model.manifest!));
  const fraud = new DriftWindow(driftColumns(model.manifest!));
  for (let r = 0; r < rows; r++) (heldOut.labels[r] === 1 ? fraud : legit).add([...heldOut.features.subarray(r * 10, r * 10 + 10), scores[r]!]);
  const psi = (w: DriftWindow) => Object.fromEntries(w.result().map((d) => [d.name, d.psi]));
  const legitPsi = psi(legit);
  const fraudPsi = psi(fraud);
  // Features that do not depend on a user's history are stationary in the generator: the 700 legit
  // rows of the test period sit on the training reference (sampling noise ≈ 9/700 = 0.013).
  // History features (tx_count_24h, foreign_country, new_merchant) do drift over the stream
  // (users accumulate history), so they are not asserted here.
  for (const name of ['amount_log', 'tx_count_1h', 'merchant_category_risk', 'card_not_present']) {
    assert.ok(legitPsi[name]! < 0.05, `${name}: legit PSI ${legitPsi[name]}`);
  }
  // Fraud rows alone are a different population on every column, the score most of all.
  for (const [name, value] of Object.entries(fraudPsi)) assert.ok(value > 0.5, `${name}: fraud PSI ${value}`);
  assert.ok(fraudPsi['score']! > 5, `score: fraud PSI ${fraudPsi['score']}`);
});
