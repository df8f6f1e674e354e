import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { finishedWithin, withDeadline } from '../../core/deadline.ts';

describe('withDeadline', () => {
  it('settles as the call does when it answers in time', async () => {
    assert.equal(await withDeadline(Promise.resolve(7), 1000, () => new Error('late')), 7);
    await assert.rejects(withDeadline(Promise.reject(new Error('refused')), 1000, () => new Error('late')), /refused/);
  });

  it('rejects with its own error when the call never answers, and lets no timer hold the process', async () => {
    const never = new Promise<number>(() => {});
    await assert.rejects(withDeadline(never, 20, () => new Error('no answer within 20 ms')), /no answer within 20 ms/);
  });

  it('finishedWithin: true when done in time, false when not, and a rejection passed on', async () => {
    assert.equal(await finishedWithin(Promise.resolve(), 1000), true);
    assert.equal(await finishedWithin(new Promise(() => {}), 20), false);
    await assert.rejects(finishedWithin(Promise.reject(new Error('refused')), 1000), /refused/);
  });
});
