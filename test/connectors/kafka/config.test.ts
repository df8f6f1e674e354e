import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_KAFKA_TUNING, kafkaTuning } from '../../../connectors/kafka/config.ts';
import { InvalidOptionError } from '../../../core/errors.ts';

describe('Kafka tuning from the environment', () => {
  it('is the defaults when nothing is set', () => {
    assert.deepEqual(kafkaTuning({}), DEFAULT_KAFKA_TUNING);
  });

  it('reads each SLUICE_KAFKA_* value, and overrides win over the environment', () => {
    const tuning = kafkaTuning({ SLUICE_KAFKA_MAX_WAIT_MS: '5', SLUICE_KAFKA_SESSION_TIMEOUT_MS: '45000', SLUICE_KAFKA_LOG_LEVEL: 'warn' }, { sessionTimeoutMs: 20_000 });
    assert.equal(tuning.maxWaitMs, 5);
    assert.equal(tuning.sessionTimeoutMs, 20_000);
    assert.equal(tuning.logLevel, 'warn');
  });

  it('refuses a bad value in one line that says what it must be', () => {
    assert.throws(() => kafkaTuning({ SLUICE_KAFKA_MAX_WAIT_MS: '0' }), (error: Error) => {
      assert.ok(error instanceof InvalidOptionError);
      assert.equal(error.message, 'SLUICE_KAFKA_MAX_WAIT_MS must be a positive integer of milliseconds (got "0")');
      return true;
    });
    assert.throws(() => kafkaTuning({ SLUICE_KAFKA_LOG_LEVEL: 'loud' }), /SLUICE_KAFKA_LOG_LEVEL must be one of nothing, error, warn, info, debug \(got "loud"\)/);
    assert.throws(() => kafkaTuning({ SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: '30000' }), /the Kafka heartbeat interval \(30000 ms\) must be below the session timeout \(30000 ms\)/);
  });
});
