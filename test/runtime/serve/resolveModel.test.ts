import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolve } from 'node:path';
import { ModelError } from '../../../core/errors.ts';
import { resolveModel } from '../../../runtime/serve/resolveModel.ts';

describe('resolveModel', () => {
  it('reads name, version and tensors from the metadata beside the model', () => {
    const model = resolveModel('models/fraud-v1.onnx');
    assert.deepEqual(model, {
      name: 'fraud-v1',
      version: 'fraud-v1',
      path: resolve('models/fraud-v1.onnx'),
      input: { name: 'features', datatype: 'FP32', shape: [-1, 10] },
      output: { name: 'score', datatype: 'FP32', shape: [-1, 1] },
      columns: 10,
    });
    assert.equal(resolveModel('models/fraud-v1.onnx', 'fraud').name, 'fraud');
  });

  it('falls back to the file name and tensors of any width without metadata', () => {
    const model = resolveModel('test/fixtures/models/slow.onnx');
    assert.equal(model.version, 'slow');
    assert.equal(model.columns, undefined);
    assert.deepEqual(model.input.shape, [-1, -1]);
  });

  it('says what to do about a missing file or a directory', () => {
    assert.throws(() => resolveModel('models/none.onnx'), (error: unknown) => error instanceof ModelError && /model file not found: models\/none\.onnx — run `npm run train`/.test(error.message));
    assert.throws(() => resolveModel('models'), (error: unknown) => error instanceof ModelError && /models is a directory — serve one \.onnx file/.test(error.message));
  });
});
