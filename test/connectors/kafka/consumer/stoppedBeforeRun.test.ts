import { describe, it } from 'node:test';
import type { SourceContext } from '../../../../core/job.ts';
import { kafkaSource } from '../../../../connectors/kafka/index.ts';

describe('kafkaSource stopped before it runs', () => {
  it('returns at once without connecting (it used to join the group and wait for an abort that had already happened)', async () => {
    const stopped = new AbortController();
    stopped.abort();
    // Nothing listens on this port: a source that tried to connect would fail to start.
    const source = kafkaSource({ settings: { brokers: ['127.0.0.1:1'], groupId: 'g', clientId: 'c', start: 'earliest' }, topic: 't', tuning: { connectionTimeoutMs: 100 } });
    const ctx = { signal: stopped.signal } as unknown as SourceContext<unknown>;
    await source.run(ctx);
    await source.close?.();
  });
});
