import type { Source } from '../../../core/job.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { collectSink } from '../../../connectors/collectSink.ts';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import { BucketHistogram } from '../../../runtime/telemetry/bucketHistogram.ts';
import { startTelemetry } from '../../../runtime/telemetry/telemetry.ts';
import { listSource, startJob, transactions, type Decision } from './kit.ts';
import { parsePrometheusText, type Exposition } from './prometheusText.ts';

let pool: InferencePool;

before(() => {
  for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name];
  pool = new InferencePool({ workers: 2 });
});

after(async () => {
  await pool.close();
});

async function scrape(url: string): Promise<Exposition> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

function assertHistogram(metrics: Exposition, name: string, labels: Record<string, string> = {}): { count: number; sum: number } {
  const buckets = metrics.find(`${name}_bucket`, labels);
  assert.ok(buckets.length > 1, `${name} has buckets`);
  let previous = 0;
  for (const bucket of buckets) {
    assert.ok(bucket.value >= previous, `${name} buckets are cumulative`);
    previous = bucket.value;
  }
  const count = metrics.value(`${name}_count`, labels);
  assert.equal(buckets.at(-1)!.labels.le, '+Inf');
  assert.equal(buckets.at(-1)!.value, count, `${name}: the +Inf bucket holds every observation`);
  return { count, sum: metrics.value(`${name}_sum`, labels) };
}

describe('/metrics of a running job', () => {
  const COUNT = 1200;
  const BAD = 24;
  let url: string;
  let midRun: Exposition;
  let end: Exposition;
  let stats: Awaited<ReturnType<typeof run>>;

  async function run() {
    const telemetry = await startTelemetry({ jobName: 'telemetry-test', metricsPort: 0, metricsHost: '127.0.0.1', pool });
    assert.equal(telemetry.sampling, undefined, 'no tracing without an exporter or --trace-sample');
    url = telemetry.metricsServer!.url;
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    let open!: () => void;
    const gate = { at: COUNT / 2, open: new Promise<void>((resolve) => (open = resolve)), reached };
    const sink = collectSink<Decision>();
    const source = telemetry.instrumentSources({ tx: listSource(transactions(COUNT, { bad: (i) => i % 50 === 7 }), { gate, lag: true }) as Source<unknown> }).tx!;
    const { running } = startJob(source, sink, pool, telemetry.instrumentation);
    telemetry.attach(running);
    try {
      await atGate;
      midRun = await scrape(url);
    } finally {
      // Whatever failed, let the job finish, so the test ends instead of hanging at the gate.
      open();
    }
    const result = await running.done;
    try {
      end = await scrape(url);
      const notFound = await fetch(url.replace('/metrics', '/other'));
      assert.equal(notFound.status, 404);
    } finally {
      await telemetry.stop();
    }
    await assert.rejects(fetch(url), 'the server is closed by stop()');
    return result;
  }

  before(async () => {
    stats = await run();
  });

  it('counts what the test sent: in = out + dead letters', () => {
    assert.equal(stats.in, COUNT);
    assert.equal(end.value('sluice_records_in_total'), COUNT);
    assert.equal(end.value('sluice_records_out_total'), COUNT - BAD);
    assert.equal(end.value('sluice_records_dead_lettered_total'), BAD);
    assert.equal(end.value('sluice_records_filtered_total'), 0);
    assert.equal(end.value('sluice_records_skipped_total'), 0);
    assert.equal(end.value('sluice_checkpoints_total'), 0);
    assert.equal(end.value('sluice_records_in_total'), end.value('sluice_records_out_total') + end.value('sluice_records_dead_lettered_total'));
    assert.equal(end.value('sluice_records_in_flight'), 0);
    assert.ok(end.value('sluice_records_in_flight_peak') > 0);
  });

  it('counts records per stage and dead letters by the stage that sent them', () => {
    assert.equal(end.value('sluice_stage_records_total', { stage: 'features' }), COUNT);
    assert.equal(end.value('sluice_stage_records_total', { stage: 'decision' }), COUNT - BAD);
    assert.equal(end.value('sluice_dead_letters_total', { stage: 'validate' }), BAD);
    assert.equal(end.value('sluice_source_records_total', { source: 'test-input' }), COUNT);
    assert.equal(end.value('sluice_sink_records_total', { sink: 'collect' }), COUNT - BAD);
    assert.equal(end.value('sluice_inference_records_total', { stage: 'infer', model: 'fraud-v1.onnx' }), COUNT - BAD);
    assert.equal(end.value('sluice_inference_errors_total', { stage: 'infer', model: 'fraud-v1.onnx' }), 0);
    assert.equal(end.value('sluice_inference_fallbacks_total', { stage: 'infer', model: 'fraud-v1.onnx' }), 0);
  });

  it('fills the latency, batch-size and score histograms', () => {
    const endToEnd = assertHistogram(end, 'sluice_end_to_end_latency_seconds');
    assert.equal(endToEnd.count, COUNT - BAD);
    assert.ok(endToEnd.sum > 0);
    assert.equal(assertHistogram(end, 'sluice_stage_duration_seconds', { stage: 'features' }).count, COUNT);
    assert.equal(assertHistogram(end, 'sluice_stage_duration_seconds', { stage: 'decision' }).count, COUNT - BAD);
    const batches = assertHistogram(end, 'sluice_batch_size', { stage: 'infer' });
    assert.equal(batches.sum, COUNT - BAD, 'every scored record rode in exactly one batch');
    assert.ok(batches.count >= (COUNT - BAD) / 32);
    assert.equal(end.value('sluice_inference_batches_total', { stage: 'infer', model: 'fraud-v1.onnx' }), batches.count);
    assert.equal(assertHistogram(end, 'sluice_batch_wait_seconds', { stage: 'infer' }).count, batches.count);
    assert.equal(assertHistogram(end, 'sluice_inference_duration_seconds', { stage: 'infer', model: 'fraud-v1.onnx' }).count, batches.count);
    const scores = assertHistogram(end, 'sluice_model_score', { model: 'fraud-v1.onnx' });
    assert.equal(scores.count, COUNT - BAD);
    assert.ok(scores.sum > 0 && scores.sum < scores.count, 'scores are between 0 and 1');
    assert.ok(assertHistogram(end, 'sluice_sink_write_duration_seconds', { sink: 'collect' }).count >= 1);
  });

  it('reports consumer lag per partition, dropping to 0 once the job has caught up', () => {
    const lagMid = midRun.find('sluice_consumer_lag');
    assert.deepEqual(lagMid.map((s) => s.labels.partition).sort(), ['0', '1']);
    assert.deepEqual(lagMid.map((s) => s.value), [COUNT / 4, COUNT / 4], 'half of each partition still to read at the gate');
    assert.equal(end.value('sluice_consumer_lag', { topic: 'tx', partition: '0' }), 0);
    assert.equal(end.value('sluice_consumer_lag', { topic: 'tx', partition: '1' }), 0);
    assert.ok(midRun.value('sluice_records_in_total') <= COUNT / 2);
  });

  it('shows the worker pool, the process, and the job label on every sample', () => {
    assert.equal(end.value('sluice_worker_pool_threads'), 2);
    const utilization = end.value('sluice_worker_pool_utilization');
    assert.ok(utilization > 0 && utilization <= 1, `utilization ${utilization}`);
    assert.ok(end.value('sluice_worker_pool_queue_size') >= 0);
    assert.ok(end.value('process_cpu_user_seconds_total') > 0);
    assert.ok(end.samples.every((s) => s.labels.sluice_job === 'telemetry-test'));
    assert.equal(end.types.get('sluice_end_to_end_latency_seconds'), 'histogram');
    assert.equal(end.types.get('sluice_records_in_total'), 'counter');
    assert.equal(end.types.get('sluice_consumer_lag'), 'gauge');
  });
});

describe('BucketHistogram', () => {
  it('renders exactly what prom-client\'s own Histogram renders for the same observations', async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const values = [0, 0.001, 0.0011, 0.05, 0.1, 0.5, 1, 3, 0.01];
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new BucketHistogram({ name: 'h', help: 'h', labelNames: ['stage'], buckets, registers: [ours] });
    const reference = new Histogram({ name: 'h', help: 'h', labelNames: ['stage'], buckets, registers: [theirs] });
    for (const [i, v] of values.entries()) {
      const stage = i % 2 === 0 ? 'a' : 'b';
      fast.cell({ stage }).observe(v);
      reference.observe({ stage }, v);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    fast.reset();
    reference.reset();
    assert.deepEqual(parsePrometheusText(await ours.metrics()).find('h_count').map((s) => s.value), [0, 0]);
  });

  it('renders a count of equal observations as that many single ones', async () => {
    // Binary fractions, so the sums are exact either way.
    const buckets = [0.125, 0.5, 1];
    const [counted, single] = [new Registry(), new Registry()];
    const many = new BucketHistogram({ name: 'h', help: 'h', labelNames: ['stage'], buckets, registers: [counted] }).cell({ stage: 'a' });
    const one = new BucketHistogram({ name: 'h', help: 'h', labelNames: ['stage'], buckets, registers: [single] }).cell({ stage: 'a' });
    many.observe(0.25, 3);
    many.observe(2, 2);
    for (const v of [0.25, 0.25, 0.25, 2, 2]) one.observe(v);
    assert.equal(await counted.metrics(), await single.metrics());
  });

  it('parses only well-formed text', () => {
    assert.throws(() => parsePrometheusText('# TYPE x counter\nx{a="1" 3\n'), /not a sample|bad labels/);
    assert.throws(() => parsePrometheusText('y 1\n'), /no # TYPE/);
  });
});
