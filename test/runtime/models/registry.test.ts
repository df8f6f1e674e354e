import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelNotFoundError, resolveModel } from '../../../runtime/models/index.ts';
import { FIXTURE_MODELS, FRAUD_REGISTRY, ROOT, tempRegistry, writeVersion } from './registryKit.ts';

const registry = tempRegistry();
after(registry.remove);
const dir = registry.dir;
// 1 valid, 2 a manifest that is not JSON, 3 a model that is not the manifest's, 4 still being written (no manifest).
writeVersion(dir, 1);
writeVersion(dir, 2, { manifest: 'garbage' });
writeVersion(dir, 3, { manifest: (m) => m });
writeFileSync(join(dir, '3/model.onnx'), 'replaced after training');
writeVersion(dir, 4, { manifest: 'none' });
writeVersion(dir, 5, { manifest: (m) => ({ ...m, version: 6 }) });

test('the real registry resolves to fraud@1, the model of fraud-v1.onnx', async () => {
  const model = await resolveModel(FRAUD_REGISTRY);
  assert.equal(model.id, 'fraud@1');
  assert.equal(model.version, 1);
  assert.equal(model.modelPath, join(FRAUD_REGISTRY, '1/model.onnx'));
  assert.equal(model.manifest?.features.length, 10);
  assert.deepEqual(model.skipped, []);
});

test('the newest valid version wins; broken and incomplete newer ones are skipped with a reason', async () => {
  const model = await resolveModel(dir);
  assert.equal(model.version, 1);
  assert.equal(model.id, 'fraud@1');
  assert.deepEqual(model.skipped.map((s) => s.version), [5, 4, 3, 2]);
  const reasons = Object.fromEntries(model.skipped.map((s) => [s.version, s.reason]));
  assert.match(reasons[5]!, /says version 6, but it is in directory 5/);
  assert.equal(reasons[4], 'no manifest.json yet (training writes it last)');
  assert.match(reasons[3]!, /model.onnx is not the file its manifest describes \(size or sha256 differ\)/);
  assert.match(reasons[2]!, /manifest.json is not JSON/);
});

test('a pinned version resolves to exactly that version', async () => {
  const model = await resolveModel(`${FRAUD_REGISTRY}@1`);
  assert.equal(model.id, 'fraud@1');
});

test('a missing pinned version is one line listing the versions there are', async () => {
  await assert.rejects(resolveModel(`${dir}@9`), {
    name: 'ModelNotFoundError',
    message: `${dir}@9 not found: available versions in ${dir} are 1, 2, 3, 4, 5 — pin one of them or run \`npm run train\``,
  });
  await assert.rejects(resolveModel(`${dir}@2`), (error: Error) => error instanceof ModelNotFoundError && error.message.startsWith(`${dir}@2 is not usable: `) && !error.message.includes('\n'));
  await assert.rejects(resolveModel(`${dir}@latest`), { message: `${dir}@latest: the version after @ must be a positive integer, e.g. ${dir}@1` });
});

test('a registry with no valid version, or none at all, says what to do', async () => {
  const empty = tempRegistry();
  after(empty.remove);
  await assert.rejects(resolveModel(empty.dir), { message: `no valid model version in ${empty.dir} (it has no version directories) — run \`npm run train\` to write one` });
  writeVersion(empty.dir, 1, { manifest: 'none' });
  await assert.rejects(resolveModel(empty.dir), { message: `no valid model version in ${empty.dir} (1: no manifest.json yet (training writes it last)) — run \`npm run train\` to write one` });
  await assert.rejects(resolveModel(join(empty.dir, 'nothing')), { message: `model registry ${join(empty.dir, 'nothing')} not found — run \`npm run train\` to create it, or pass an .onnx file` });
});

test('a bare .onnx file still works, its version taken from the file name', async () => {
  const model = await resolveModel(join(ROOT, 'models/fraud-v1.onnx'));
  assert.deepEqual({ name: model.name, version: model.version, id: model.id, manifest: model.manifest }, { name: 'fraud', version: 1, id: 'fraud-v1', manifest: undefined });
  const plain = await resolveModel(join(FIXTURE_MODELS, 'slow.onnx'));
  assert.deepEqual({ name: plain.name, version: plain.version, id: plain.id }, { name: 'slow', version: undefined, id: 'slow' });
  await assert.rejects(resolveModel('models/none-v3.onnx'), { message: 'model file not found: models/none-v3.onnx — run `npm run train` to build a registry version, or point the job at an existing .onnx file' });
});
