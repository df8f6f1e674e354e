/**
 * Tracing end to end on Kafka, the way a user runs it: `sluice run jobs/fraud-detection.ts
 * --brokers ... --trace-sample 1` in a child process, exporting to an OTLP/HTTP receiver in this
 * test, over input records that arrive with a `traceparent` header from an upstream producer.
 * The in-process tests (tracing.test.ts) cover the span tree in detail over a test source; this
 * one checks that the real Kafka source and sink carry the trace through: the consume span
 * continues the incoming trace, every stage of the fraud job has its span, and the decision
 * written to the output topic carries a `traceparent` of the same trace.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TransactionGenerator } from '../../../jobs/fraud/transactions.ts';
import { createTopics, produceMessages, sharedKafka, type ConsumedMessage, type KafkaCluster } from '../../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../../kit/sluiceProcess.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlpReceiver.ts';

/** Input records; every tenth comes from an upstream that did not sample it (flag 00). */
const COUNT = 300;
const upstreamSampled = (i: number) => i % 10 !== 9;

interface Upstream {
  traceId: string;
  spanId: string;
  traceparent: string;
  sampled: boolean;
}

/** A distinct, recognisable upstream trace context per input record. */
function upstream(i: number): Upstream {
  const traceId = `5e1ce000${(i + 1).toString(16).padStart(24, '0')}`;
  const spanId = `b0${(i + 1).toString(16).padStart(14, '0')}`;
  const sampled = upstreamSampled(i);
  return { traceId, spanId, sampled, traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` };
}

const header = (m: ConsumedMessage, name: string): string | undefined => {
  const value = m.headers[name];
  return value === undefined ? undefined : String(value);
};

describe('tracing the fraud job on Kafka (sluice run --brokers --trace-sample 1)', () => {
  let kafka: KafkaCluster;
  let receiver: OtlpReceiver;
  /** Upstream trace context of each input transaction, by transaction id. */
  const inputs = new Map<string, Upstream>();
  /** The first decision read for each transaction id. */
  const decisions = new Map<string, ConsumedMessage>();
  let spans: ReceivedSpan[] = [];
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  let stderr = '';

  before(async () => {
    [kafka, receiver] = await Promise.all([sharedKafka(), startOtlpReceiver()]);
    await createTopics(kafka.brokers, [
      { name: 'transactions', partitions: 2 },
      { name: 'fraud-decisions', partitions: 2 },
      { name: 'fraud-dead-letters', partitions: 1 },
    ]);
    const generator = new TransactionGenerator({ seed: 4242, users: 40 });
    const messages = Array.from({ length: COUNT }, (_, i) => {
      const tx = generator.next();
      const trace = upstream(i);
      inputs.set(tx.id, trace);
      return { key: tx.userId, value: JSON.stringify(tx), headers: { traceparent: trace.traceparent } };
    });
    await produceMessages(kafka.brokers, 'transactions', messages);

    const job = spawnSluice(['run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--group', 'fraud-trace', '--workers', '1', '--trace-sample', '1', '--no-progress'], {
      env: {
        ...KAFKA_TEST_ENV,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        // The receiver decodes the JSON encoding only.
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_BSP_MAX_QUEUE_SIZE: '100000',
      },
    });
    try {
      const read = await consumeUntil(kafka.brokers, 'fraud-decisions', {
        until: (got) => new Set(got.map((m) => transactionId(m))).size >= COUNT,
        timeoutMs: 30_000,
      });
      for (const m of read) if (!decisions.has(transactionId(m))) decisions.set(transactionId(m), m);
    } finally {
      job.kill('SIGTERM');
      exit = await job.exited;
      stderr = job.stderr();
    }
    // The job flushes its last spans before it exits.
    spans = [...receiver.spans];
  });

  after(async () => {
    await killAllSluice();
    await receiver?.close();
  });

  const byId = () => new Map(spans.map((span) => [span.spanId, span]));
  const sampledInputs = () => [...inputs].filter(([, trace]) => trace.sampled);

  it('stops on SIGTERM with exit code 0 after announcing where its spans go', () => {
    assert.equal(exit.code, 0, stderr);
    assert.match(stderr, /tracing: every record .*→ http:\/\/127\.0\.0\.1:\d+\/v1\/traces \(otlp http\/json\)/);
    assert.equal(decisions.size, COUNT);
  });

  it('exports spans under the job name, and none for records whose upstream did not sample them', () => {
    assert.ok(spans.length > 0, 'spans reached the OTLP receiver');
    assert.ok(spans.every((span) => span.resource['service.name'] === 'fraud-detection'));
    const unsampled = new Set([...inputs.values()].filter((trace) => !trace.sampled).map((trace) => trace.traceId));
    assert.ok(!spans.some((span) => unsampled.has(span.traceId)), 'an unsampled upstream trace got spans');
  });

  it('continues the incoming trace: the consume span is a child of the upstream span, in its trace', () => {
    const consumes = spans.filter((span) => span.name === 'consume kafka:transactions');
    assert.equal(consumes.length, sampledInputs().length, 'one consume span per sampled record');
    for (const [id, trace] of sampledInputs()) {
      const consume = consumes.filter((span) => span.traceId === trace.traceId);
      assert.equal(consume.length, 1, `consume span of ${id}`);
      assert.equal(consume[0]!.parentSpanId, trace.spanId, `the consume span of ${id} is a child of the incoming span`);
      assert.equal(consume[0]!.kind, 5 /* CONSUMER */);
      assert.equal(consume[0]!.attributes['messaging.destination.name'], 'transactions');
    }
  });

  it('has every stage span of the fraud job under the consume span of a sampled record', () => {
    const spansById = byId();
    for (const [id, trace] of sampledInputs()) {
      const consume = spans.find((span) => span.traceId === trace.traceId && span.name === 'consume kafka:transactions')!;
      const children = spans.filter((span) => span.parentSpanId === consume.spanId);
      for (const child of children) assert.equal(child.traceId, trace.traceId);
      const stages = children
        .filter((span) => !span.name.startsWith('inference'))
        .sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs)
        .map((span) => span.name);
      assert.deepEqual(stages, ['features', 'batch wait', 'decision', 'produce kafka:fraud-decisions'], `stage spans of ${id}`);
      const produce = children.find((span) => span.name === 'produce kafka:fraud-decisions')!;
      assert.equal(produce.kind, 4 /* PRODUCER */);
      // Inference is one span per batch, in the trace of the batch's first sampled record; the
      // record's batch wait links to it wherever it lives.
      const wait = children.find((span) => span.name === 'batch wait')!;
      const inference = wait.links.map((link) => spansById.get(link.spanId)).find((span) => span?.name === 'inference fraud');
      assert.ok(inference !== undefined, `the batch wait of ${id} links to an exported inference span`);
      assert.equal(inference.attributes['sluice.model.version'], 'fraud@1');
      assert.ok(Number(inference.attributes['thread.id']) > 0, 'inference ran on a worker thread');
      assert.ok(inference.links.some((link) => link.spanId === wait.spanId), 'the batch links back to the record');
    }
  });

  it('writes the decision with a traceparent of the same trace, naming the consume span', () => {
    const spansById = byId();
    for (const [id, trace] of inputs) {
      const decision = decisions.get(id);
      assert.ok(decision !== undefined, `no decision for ${id}`);
      const traceparent = header(decision, 'traceparent');
      assert.ok(traceparent !== undefined, `the decision of ${id} has no traceparent header`);
      const [version, traceId, spanId, flags] = traceparent.split('-');
      assert.equal(version, '00');
      assert.equal(traceId, trace.traceId, `the decision of ${id} carries the incoming trace id`);
      if (trace.sampled) {
        assert.equal(flags, '01');
        const consume = spansById.get(spanId!);
        assert.equal(consume?.name, 'consume kafka:transactions', `the decision of ${id} names its consume span as parent`);
        assert.equal(consume.traceId, trace.traceId);
      } else {
        assert.equal(traceparent, trace.traceparent, 'an unsampled record passes the upstream traceparent on untouched');
      }
    }
  });
});

function transactionId(m: ConsumedMessage): string {
  return (JSON.parse(m.value!.toString()) as { transactionId: string }).transactionId;
}
