import { ConnectorError } from '../../core/errors.ts';
import type { KafkaSettings } from '../../core/job.ts';
import { createKafka, kafkaTuning } from './config.ts';
import { describeKafkaError } from './errors.ts';
import { connectionFailure } from './security.ts';

/**
 * Checks, before a job starts, that the brokers answer and that every topic the job reads or
 * writes exists: an unreachable broker or a missing topic is one line that says what to do,
 * instead of a job that starts and then retries for minutes. (Sluice creates only its own
 * changelog topics; a job's topics are the operator's to create, with their partition counts.)
 *
 * @example
 * await kafkaPreflight(settings, ['transactions', 'fraud-decisions', 'fraud-dead-letters']);
 */
export async function kafkaPreflight(settings: KafkaSettings, topics: readonly string[]): Promise<void> {
  const admin = createKafka(settings, kafkaTuning(), 'preflight').admin();
  try {
    await admin.connect();
  } catch (error) {
    throw connectionFailure(settings, error);
  }
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      throw new ConnectorError(
        `topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist on ${settings.brokers.join(',')} — create ${missing.length === 1 ? 'it' : 'them'} (e.g. kafka-topics.sh --create --topic ${missing[0]} --partitions 4), or name an existing one with --topic`,
      );
    }
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    throw new ConnectorError(`could not list the topics on ${settings.brokers.join(',')}: ${describeKafkaError(error)}`, { cause: error, retriable: true });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
