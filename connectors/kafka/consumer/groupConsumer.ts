import type { Consumer } from 'kafkajs';
import { ConnectorError } from '../../../core/errors.ts';
import type { KafkaSettings } from '../../../core/job.ts';
import { createKafka, type KafkaTuning } from '../config.ts';
import { describeKafkaError, kafkaError } from '../errors.ts';

/**
 * The kafkajs consumer of a Sluice source: one member of `settings.groupId`, no auto-commit
 * (the source commits what the engine reports done), no topic auto-creation. Retriable failures
 * (a broker gone for a while) restart it while `restartOnFailure()` says so; the source's ledger
 * keeps what was handed out, so nothing enters the job twice.
 *
 * @example
 * const consumer = groupConsumer(settings, kafkaTuning(process.env), () => !stopping);
 */
export function groupConsumer(settings: KafkaSettings, tuning: KafkaTuning, restartOnFailure: () => boolean): Consumer {
  return createKafka(settings, tuning, 'consumer').consumer({
    groupId: settings.groupId,
    sessionTimeout: tuning.sessionTimeoutMs,
    heartbeatInterval: tuning.heartbeatIntervalMs,
    rebalanceTimeout: tuning.rebalanceTimeoutMs,
    maxWaitTimeInMs: tuning.maxWaitMs,
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 3000, restartOnFailure: async () => restartOnFailure() },
  });
}

/**
 * The one line for a consumer that could not connect or subscribe: a missing topic says how to
 * create or choose it, an unreachable broker what to check.
 *
 * @example
 * catch (error) { throw consumerStartError(error, ['transactions'], settings.brokers); }
 */
export function consumerStartError(error: unknown, topics: readonly string[], brokers: readonly string[]): Error {
  if (/does not host this topic-partition|unknown topic/i.test(describeKafkaError(error))) {
    return new ConnectorError(`Kafka topic ${topics.join(', ')} does not exist on ${brokers.join(',')} — create it (or pass --input-topic / SLUICE_INPUT_TOPIC) and run again`, { cause: error });
  }
  return kafkaError(error, 'Kafka consumer could not start', brokers);
}

/**
 * Follows the consumer's crashes: one kafkajs restarts itself is logged; one it gives up on (or
 * any crash while the source is not stopping and kafkajs will not restart) fails the source
 * with a {@link kafkaError}. Returns the function that stops watching.
 *
 * @example
 * const off = watchCrashes(consumer, settings, { stopping: () => stopping, log, fail: (error) => stop(error) });
 */
export function watchCrashes(consumer: Consumer, settings: KafkaSettings, on: { stopping(): boolean; log(line: string): void; fail(error: Error): void }): () => void {
  return consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (on.stopping()) return;
    if (payload.restart) {
      on.log(`consumer of group ${settings.groupId} failed (${describeKafkaError(payload.error)}); restarting it`);
      return;
    }
    on.fail(kafkaError(payload.error, `Kafka consumer of group ${settings.groupId} stopped`, settings.brokers));
  });
}
