import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadFixtures, loadHeldOut, resolveModel, validateCandidate, type FixtureSet, type HeldOutSet, type ResolvedModel } from '../../../runtime/models/index.ts';
import { FIXTURE_MODELS, FRAUD_REGISTRY, PINNED_FIXTURES, tempRegistry, writeVersion } from './registryKit.ts';

// Each broken candidate is a real ONNX file from test/fixtures/models/make_models.py, put in a
// registry as version 2 with the fraud manifest (as a careless training run would), and checked
// against fraud@1 serving now.
const MAX_AUC_DROP = 0.01;
let current: ResolvedModel;
let fixtures: FixtureSet;
let heldOut: HeldOutSet;
const registry = tempRegistry();

before(async () => {
  current = await resolveModel(FRAUD_REGISTRY);
  fixtures = await loadFixtures(PINNED_FIXTURES);
  heldOut = await loadHeldOut(join(FRAUD_REGISTRY, '1/holdout.csv'));
});
test.after(registry.remove);

async function candidate(file: string, version: number): Promise<ResolvedModel> {
  writeVersion(registry.dir, version, { model: join(FIXTURE_MODELS, file) });
  return resolveModel(`${registry.dir}@${version}`);
}

test('the trained model passes against itself; both held-out AUCs are measured', async () => {
  const verdict = await validateCandidate(current, { current, fixtures, heldOut, maxAucDrop: MAX_AUC_DROP });
  assert.deepEqual(verdict.reasons, []);
  assert.equal(verdict.ok, true);
  assert.ok(verdict.candidateAuc! > 0.98, `held-out AUC ${verdict.candidateAuc}`);
  assert.equal(verdict.candidateAuc, verdict.currentAuc);
  assert.equal(heldOut.labels.length, 1000);
});

test('a wrong input name is refused: it matches neither its manifest nor the current model', async () => {
  const verdict = await validateCandidate(await candidate('wrong-input-name.onnx', 2), { current, fixtures, heldOut, maxAucDrop: MAX_AUC_DROP });
  assert.equal(verdict.ok, false);
  assert.deepEqual(verdict.reasons, [
    'input 0 is x float32[batch,10], its manifest has features float32[batch,10]',
    'input 0 is x float32[batch,10], the current model fraud@1 has features float32[batch,10]',
  ]);
});

test('a wrong input width is refused on its signature', async () => {
  const verdict = await validateCandidate(await candidate('wrong-width.onnx', 3), { current, fixtures, maxAucDrop: MAX_AUC_DROP });
  assert.equal(verdict.ok, false);
  assert.ok(verdict.reasons.includes('input 0 is features float32[batch,11], its manifest has features float32[batch,10]'), verdict.reasons.join('\n'));
});

test('a model that outputs NaN is refused on the pinned fixtures', async () => {
  const verdict = await validateCandidate(await candidate('nan-output.onnx', 4), { current, fixtures, heldOut, maxAucDrop: MAX_AUC_DROP });
  assert.equal(verdict.ok, false);
  assert.deepEqual(verdict.reasons, ['20 of 20 fixture scores are not finite numbers in [0, 1] (case 0 scored NaN)']);
});

test('a model with a lower held-out AUC (random weights) is refused; without a held-out set it would pass', async () => {
  const random = await candidate('random-weights.onnx', 5);
  const verdict = await validateCandidate(random, { current, fixtures, heldOut, maxAucDrop: MAX_AUC_DROP });
  assert.equal(verdict.ok, false);
  assert.equal(verdict.reasons.length, 1);
  assert.match(verdict.reasons[0]!, /^its held-out AUC 0\.\d{4} is 0\.\d{4} below fraud@1's 0\.99\d\d \(allowed drop 0\.01\)$/);
  assert.ok(verdict.candidateAuc! < verdict.currentAuc! - MAX_AUC_DROP);
  assert.equal((await validateCandidate(random, { current, fixtures, maxAucDrop: MAX_AUC_DROP })).ok, true, 'its signature and scores are fine');
});

test('a file onnxruntime cannot load is refused, and a bad margin is an option error', async () => {
  const verdict = await validateCandidate({ ...current, id: 'fraud@9', modelPath: PINNED_FIXTURES }, { fixtures, maxAucDrop: MAX_AUC_DROP });
  assert.equal(verdict.ok, false);
  assert.match(verdict.reasons[0]!, /^fraud@9 cannot be loaded by onnxruntime: /);
  await assert.rejects(validateCandidate(current, { fixtures, maxAucDrop: -0.1 }), { name: 'InvalidOptionError', message: 'maxAucDrop must be a number in [0, 1] (got -0.1)' });
});
