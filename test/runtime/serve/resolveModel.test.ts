import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolve } from 'node:path';
import { ModelError } from '../../../core/errors.ts';
import { resolveModel } from '../../../runtime/serve/resolveModel.ts';

describe('resolveModel', () => {
  it('reads name, version and tensors from the metadata beside an .onnx file', async () => {
    assert.deepEqual(await resolveModel('models/fraud-v1.onnx'), {
      name: 'fraud-v1',
      version: 'fraud-v1',
      path: resolve('models/fraud-v1.onnx'),
      input: { name: 'features', datatype: 'FP32', shape: [-1, 10] },
      output: { name: 'score', datatype: 'FP32', shape: [-1, 1] },
      columns: 10,
    });
    assert.equal((await resolveModel('models/fraud-v1.onnx', 'fraud')).name, 'fraud');
  });

  it('serves a pinned registry version under the manifest name, its number as the version', async () => {
    assert.deepEqual(await resolveModel('models/fraud@1'), {
      name: 'fraud',
      version: '1',
      path: resolve('models/fraud/1/model.onnx'),
      input: { name: 'features', datatype: 'FP32', shape: [-1, 10] },
      output: { name: 'score', datatype: 'FP32', shape: [-1, 1] },
      columns: 10,
    });
  });

  it('falls back to the file name and tensors of any width without metadata', async () => {
    const model = await resolveModel('test/fixtures/models/slow.onnx');
    assert.equal(model.version, 'slow');
    assert.equal(model.columns, undefined);
    assert.deepEqual(model.input.shape, [-1, -1]);
  });

  it('says what to do about a missing file, registry or version', async () => {
    await assert.rejects(resolveModel('models/none.onnx'), (error: unknown) => error instanceof ModelError && /model file not found: models\/none\.onnx — run `npm run train`/.test(error.message));
    await assert.rejects(resolveModel('models/nothing'), (error: unknown) => error instanceof ModelError && /model registry models\/nothing not found/.test(error.message));
    await assert.rejects(resolveModel('models/fraud@99'), (error: unknown) => error instanceof ModelError && /models\/fraud@99 not found: available versions/.test(error.message));
  });
});
