import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClock } from '../../core/clock.ts';
import { SluiceError } from '../../core/errors.ts';
import { BreakerOpenError, CallGuard, EnrichTimeoutError, type BreakerState } from '../../operators/enrichPolicy.ts';

const unavailable = () => new SluiceError('HTTP 503', { retriable: true });
const badRequest = () => new SluiceError('HTTP 400', { retriable: false });

function guard(options: { clock?: TestClock; maxAttempts?: number; timeoutMs?: number } = {}) {
  const states: BreakerState[] = [];
  const clock = options.clock ?? new TestClock(1_000_000);
  const g = new CallGuard(
    'rules',
    { timeoutMs: options.timeoutMs ?? 1000, retry: { maxAttempts: options.maxAttempts ?? 1, initialDelayMs: 1, maxDelayMs: 4 }, breaker: { threshold: 0.5, window: 4, minimumCalls: 4, halfOpenAfterMs: 30_000 } },
    clock,
    { onBreaker: (state) => states.push(state) },
  );
  return { g, states, clock };
}

describe('CallGuard (timeout, retries, cockatiel breaker on an injected clock)', () => {
  it('opens after the failure rate, refuses without calling, half-opens only when the clock passes the cool-down, reopens on a failed probe and closes on a good one', async () => {
    const { g, states, clock } = guard();
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw unavailable();
    };
    for (let i = 0; i < 4; i += 1) assert.equal((await g.run(failing)).ok, false);
    assert.equal(g.breakerState, 'open');
    assert.equal(calls, 4);
    const refused = await g.run(failing);
    assert.ok(!refused.ok && refused.error instanceof BreakerOpenError && refused.attempts === 0);
    assert.equal(calls, 4);

    clock.advance(29_999);
    assert.equal((await g.run(failing)).attempts, 0, 'one ms before the cool-down ends it still refuses');
    clock.advance(1);
    await g.run(failing); // the probe fails: open again, cool-down from now
    assert.equal(calls, 5);
    assert.equal(g.breakerState, 'open');
    clock.advance(20_000);
    assert.equal((await g.run(failing)).attempts, 0);
    assert.equal(calls, 5);

    clock.advance(10_000);
    const probe = await g.run(async () => 'ok');
    assert.ok(probe.ok && probe.value === 'ok');
    assert.equal(g.breakerState, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('does not count or retry failures that are not retriable (a 4xx says nothing about the service)', async () => {
    const { g } = guard({ maxAttempts: 3 });
    let calls = 0;
    for (let i = 0; i < 10; i += 1) {
      const outcome = await g.run(async () => {
        calls += 1;
        throw badRequest();
      });
      assert.equal(outcome.attempts, 1);
    }
    assert.equal(calls, 10);
    assert.equal(g.breakerState, 'closed');
  });

  it('retries retriable failures with growing delays up to maxAttempts', async () => {
    const { g } = guard({ maxAttempts: 3 });
    const retries: Array<{ attempt: number; delayMs: number }> = [];
    let calls = 0;
    const outcome = await g.run(
      async () => {
        calls += 1;
        if (calls < 3) throw unavailable();
        return calls;
      },
      (attempt, delayMs) => retries.push({ attempt, delayMs }),
    );
    assert.ok(outcome.ok && outcome.value === 3 && outcome.attempts === 3);
    assert.deepEqual(retries.map((r) => r.attempt), [2, 3]);
    assert.ok(retries.every((r) => r.delayMs >= 0 && r.delayMs <= 4));
  });

  it('times an attempt out, aborting its signal', async () => {
    const { g } = guard({ timeoutMs: 20 });
    let signal: AbortSignal | undefined;
    const outcome = await g.run((s) => {
      signal = s;
      return new Promise<never>(() => {});
    });
    assert.ok(!outcome.ok && outcome.error instanceof EnrichTimeoutError);
    assert.equal(signal?.aborted, true);
  });
});
