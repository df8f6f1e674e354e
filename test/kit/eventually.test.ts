import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, eventuallyValue } from './eventually.ts';

describe('eventually', () => {
  it('resolves at the first poll that holds, polling no more than it needs', async () => {
    let calls = 0;
    await eventually('the third poll', () => ++calls === 3, { everyMs: 1 });
    assert.equal(calls, 3);
    const started = Date.now();
    await eventually('the first poll', () => true, { everyMs: 10_000 });
    assert.ok(Date.now() - started < 5000, 'checked right away, before any pause');
  });

  it('throws an AssertionError naming what it waited for once the timeout has passed', async () => {
    const started = Date.now();
    let last = 0;
    await assert.rejects(
      eventually('the flag to flip', () => ((last = Date.now()), false), { timeoutMs: 100, everyMs: 10 }),
      (error: Error) => error instanceof assert.AssertionError && error.message === 'timed out after 100 ms waiting for the flag to flip',
    );
    assert.ok(last - started >= 100, `the last poll ran ${last - started} ms in, before the deadline`);
  });

  it('polls once more at the deadline: a condition that holds only then passes', async () => {
    const due = Date.now() + 100;
    await eventually('the deadline', () => Date.now() >= due, { timeoutMs: 100, everyMs: 60 });
  });

  it('lets an error the check throws through at once', async () => {
    let calls = 0;
    const check = () => {
      calls += 1;
      if (calls === 2) throw new Error('the store is closed');
      return false;
    };
    await assert.rejects(eventually('never', check, { everyMs: 1 }), /^Error: the store is closed$/);
    assert.equal(calls, 2);
    await assert.rejects(eventually('never', () => Promise.reject(new Error('refused')), { everyMs: 1 }), /refused/);
  });

  it('awaits an async check', async () => {
    let calls = 0;
    await eventually('an async answer', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return ++calls === 2;
    }, { everyMs: 1 });
    assert.equal(calls, 2);
  });

  it('evaluates detail only on failure, and puts it in the message', async () => {
    let details = 0;
    const detail = () => `details: ${++details}`;
    await eventually('a true check', () => true, { detail });
    assert.equal(details, 0);
    await assert.rejects(eventually('the count', () => false, { timeoutMs: 30, everyMs: 10, detail }), { message: 'timed out after 30 ms waiting for the count\ndetails: 1' });
    assert.equal(details, 1);
  });
});

describe('eventuallyValue', () => {
  it('resolves with the accepted value; detail gets the last value read', async () => {
    let n = 0;
    assert.equal(await eventuallyValue('n to reach 3', () => ++n, (value) => value >= 3, { everyMs: 1 }), 3);
    await assert.rejects(
      eventuallyValue('a negative n', async () => ++n, (value) => value < 0, { timeoutMs: 30, everyMs: 10, detail: (value) => `n is ${value}` }),
      (error: Error) => error.message === `timed out after 30 ms waiting for a negative n\nn is ${n}`,
    );
    assert.ok(n > 4, 'polled more than once');
  });
});
