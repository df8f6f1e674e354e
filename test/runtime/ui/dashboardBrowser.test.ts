/**
 * The dashboard of a real `sluice run --ui` on a real Kafka broker, in Debian's Chromium driven
 * by playwright-core: the graph shows the fraud job's stages, the rates move, a malformed input
 * record shows up as a dead letter, the small in-flight budget pauses the source for real and
 * the page shows it, and --ui-redact (on two stream threads, each redacting its own dead
 * letters) keeps the record out of the page and the API. The test
 * saves a screenshot to out/dashboard.png. Run under `flock /tmp/heavy.lock`.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { eventually, eventuallyValue } from '../../kit/eventually.ts';
import { createTopics, produceMessages, sharedKafka, uniqueTopic, type KafkaCluster } from '../../kit/kafka.ts';
import { KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../../kit/sluiceProcess.ts';
import { startTransactionFeed, type TransactionFeed } from '../../kit/transactionFeed.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../telemetry/otlpReceiver.ts';

const CHROMIUM = '/usr/bin/chromium';
/** Where the page's trace links point; nothing listens there, the links are only read. */
const JAEGER = 'http://127.0.0.1:16686';
const SECRET = 'SECRET-CARD-4111111111111111';
/** Not JSON (it ends early): the job dead-letters it with "malformed JSON: unexpected end of input". */
const BAD_RECORD = `{"id":"${SECRET}","userId":"u-${SECRET}","amount":`;

interface DeadLetterJson {
  reason: string;
  stage: string;
  topic?: string;
  key?: string;
  original?: string;
  value?: string;
}

async function api<T>(base: string, path: string): Promise<T> {
  const response = await fetch(new URL(path, base));
  assert.equal(response.status, 200, path);
  return (await response.json()) as T;
}

/** Starts the fraud job on `topics` with the dashboard on a free port; resolves with the job and its URL. */
async function startJob(kafka: KafkaCluster, topics: { input: string; output: string; dead: string }, extra: string[], env: Record<string, string> = {}, threads = 1): Promise<{ job: SluiceProcess; url: string }> {
  const job = spawnSluice(
    [
      'run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--group', uniqueTopic('ui-group'),
      '--input-topic', topics.input, '--output-topic', topics.output, '--dead-letter-topic', topics.dead,
      // A budget of 64 records (per stream thread) fills at once, so the source pauses for real.
      '--parallelism', String(threads), '--max-in-flight', '64', '--workers', '1', '--no-checkpoints', '--no-progress', '--no-typecheck',
      '--ui', '0', ...extra,
    ],
    { env: { ...KAFKA_TEST_ENV, ...env } },
  );
  const [, url] = await job.waitForStderr(/dashboard: (http:\/\/\S+)/, 90_000);
  return { job, url: url! };
}

async function stop(job: SluiceProcess | undefined): Promise<void> {
  if (job === undefined) return;
  job.kill('SIGTERM');
  await job.exited;
}

describe('the dashboard of a running Kafka job, in Chromium', () => {
  let kafka: KafkaCluster;
  let browser: Browser;
  let page: Page;
  let job: SluiceProcess | undefined;
  let url: string;
  let feed: TransactionFeed;
  let receiver: OtlpReceiver;
  const topics = { input: uniqueTopic('ui-in'), output: uniqueTopic('ui-out'), dead: uniqueTopic('ui-dead') };

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [
      { name: topics.input, partitions: 2 },
      { name: topics.output, partitions: 2 },
      { name: topics.dead, partitions: 1 },
    ]);
    await produceMessages(kafka.brokers, topics.input, [{ key: `u-${SECRET}`, value: BAD_RECORD }]);
    // A steady stream for the whole test, faster in bursts than 64 records in flight allow.
    feed = startTransactionFeed(kafka.brokers, topics.input, { count: 120_000, perSecond: 3000, batchSize: 500 });
    // 1 % of records traced, their spans sent to an OTLP receiver in this test (Jaeger's port 4318 minus Jaeger).
    receiver = await startOtlpReceiver();
    const tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200' };
    ({ job, url } = await startJob(kafka, topics, ['--trace-sample', '0.01', '--jaeger-url', JAEGER], tracing));
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(url).catch((error: unknown) => {
      throw new Error(`cannot open ${url}: ${String(error)}\nsluice stderr:\n${job?.stderr() ?? ''}`);
    });
  });

  after(async () => {
    await browser?.close();
    await stop(job);
    await killAllSluice();
    await feed?.done.catch(() => {});
    await receiver?.close();
  });

  it('draws the job graph as the engine sees it: source, every stage, sink and dead letters', async () => {
    await page.waitForSelector('[data-node="stage:infer"]', { timeout: 30_000 });
    const nodes = await page.$$eval('#graph [data-node]', (list) => list.map((n) => n.getAttribute('data-node')));
    for (const stage of ['keyBy', 'features', 'materialize', 'infer', 'decision']) assert.ok(nodes.includes(`stage:${stage}`), `graph has stage ${stage}: ${nodes.join(', ')}`);
    assert.ok(nodes.includes(`source:kafka:${topics.input}`), nodes.join(', '));
    assert.ok(nodes.includes('sink:decisions'));
    assert.ok(nodes.includes('dead-letters'));
    assert.equal(await page.textContent('#job-name'), 'fraud-detection');
  });

  it('updates the rates live', async () => {
    const read = () => page.$eval('[data-node="stage:features"] .rate', (n) => n.textContent ?? '');
    const totalIn = () => page.$eval('#totals div:nth-child(3) b', (n) => Number((n.textContent ?? '').replace(/,/g, '')));
    await page.waitForFunction(() => /^[1-9][\d,]*k?\/s$/.test(document.querySelector('[data-node="stage:features"] .rate')?.textContent ?? ''), undefined, { timeout: 30_000 });
    const first = await read();
    const firstIn = await totalIn();
    await page.waitForFunction((before) => (document.querySelector('[data-node="stage:features"] .rate')?.textContent ?? before) !== before, first, { timeout: 15_000 });
    assert.notEqual(await read(), first);
    // A rate can change in a second the source spent paused (the budget is 64): the total grows over the next ones.
    const grew = await page
      .waitForFunction((before) => Number((document.querySelector('#totals div:nth-child(3) b')?.textContent ?? '0').replace(/,/g, '')) > before, firstIn, { timeout: 15_000 })
      .then(() => true, () => false);
    assert.ok(grew, `records in grew: ${firstIn} → ${await totalIn()}`);
  });

  it('lists the dead letter of the malformed record with its reason, stage, position and bytes', async () => {
    const row = page.locator('#dead-letters tbody tr', { hasText: 'malformed JSON' }).first();
    await row.waitFor({ timeout: 30_000 });
    const text = (await row.textContent()) ?? '';
    assert.match(text, /malformed JSON: unexpected end of input/);
    assert.ok(text.includes(`${topics.input}[`), `position in ${text}`);
    assert.ok(text.includes(SECRET), 'without --ui-redact the page shows what the dead letter holds');
    // The list shows a dead letter when it is routed, the total once the dead-letter sink wrote it.
    await page.waitForFunction(() => Number((document.querySelector('#totals div:nth-child(5) b')?.textContent ?? '0').replace(/,/g, '')) >= 1, undefined, { timeout: 30_000 });
  });

  it('shows the paused source as backpressure: a red edge and paused partitions', async () => {
    // The budget of 64 fills with every fetch: kafkaSource pauses the topic until half is free.
    await page.waitForSelector(`#graph .edge.bp-paused[data-edge="source:kafka:${topics.input}"]`, { state: 'attached', timeout: 30_000 });
    await page.waitForSelector(`#partitions tr.paused[data-partition^="${topics.input}/"]`, { timeout: 30_000 });
    const metrics = await api<{ sources: Array<{ pauses: number }>; backpressure: { budget: number } }>(url, '/api/metrics');
    assert.ok(metrics.sources[0]!.pauses > 0, 'the source paused at least once');
    assert.equal(metrics.backpressure.budget, 64);
  });

  it('links the slowest traced records to their traces in Jaeger', async () => {
    const link = page.locator('#slow-traces tbody tr a').first();
    await link.waitFor({ timeout: 30_000 });
    const href = (await link.getAttribute('href'))!;
    const traceId = /^http:\/\/127\.0\.0\.1:16686\/trace\/([0-9a-f]{32})$/.exec(href)?.[1];
    assert.ok(traceId !== undefined, `link ${href}`);
    // The id is a real trace: the job exported spans of it (consume, stages, sink).
    await eventually(`spans of trace ${traceId} at the receiver`, () => receiver.spans.some((span) => span.traceId === traceId), {
      timeoutMs: 20_000,
      everyMs: 250,
      detail: () => `${receiver.spans.length} spans received, none of that trace`,
    });
    const spans = receiver.spans.filter((span) => span.traceId === traceId).map((span) => span.name);
    assert.ok(spans.some((name) => name.startsWith('consume')), `spans of trace ${traceId}: ${spans.join(', ')}`);
  });

  it('saves a screenshot of the page (out/dashboard.png)', async () => {
    await mkdir('out', { recursive: true });
    // A few more seconds of history, so the charts have a shape.
    await page.waitForTimeout(8000);
    const png = await page.screenshot({ path: 'out/dashboard.png', fullPage: true });
    assert.ok(png.length > 20_000, `screenshot of ${png.length} bytes`);
  });

  it('keeps record contents out of the API except in the dead letters', async () => {
    const jobView = JSON.stringify(await api(url, '/api/job'));
    const metrics = await api<{ deadLetters: { recent: unknown[] } }>(url, '/api/metrics');
    assert.ok(metrics.deadLetters.recent.length > 0);
    const withoutDeadLetters = JSON.stringify({ ...metrics, deadLetters: { ...metrics.deadLetters, recent: [] } });
    for (const text of [jobView, withoutDeadLetters]) {
      assert.ok(!text.includes(SECRET), 'the bad record appears only among dead letters');
      assert.doesNotMatch(text, /tx-42-\d+/, 'no transaction id');
      assert.doesNotMatch(text, /"u\d{4}"/, 'no user id (record key)');
    }
  });

  // On two stream threads: each thread redacts its own dead letters before they reach the main thread.
  describe('with --ui-redact, on two stream threads', () => {
    let redacted: SluiceProcess | undefined;
    let redactedUrl: string;

    before(async () => {
      await stop(job);
      job = undefined;
      ({ job: redacted, url: redactedUrl } = await startJob(kafka, topics, ['--ui-redact'], {}, 2));
    });

    after(() => stop(redacted));

    it('shows the dead letter with reason and position only, in the page and the API', async () => {
      const recent = await eventuallyValue(
        'a dead letter in the API',
        async () => (await api<{ deadLetters: { recent: DeadLetterJson[] } }>(redactedUrl, '/api/metrics')).deadLetters.recent,
        (list) => list.length > 0,
        { timeoutMs: 30_000, everyMs: 500 },
      );
      const [entry] = recent;
      assert.ok(entry !== undefined, 'the malformed record was dead-lettered');
      assert.match(entry.reason, /malformed JSON/);
      assert.equal(entry.topic, topics.input);
      assert.deepEqual([entry.key, entry.original, entry.value], [undefined, undefined, undefined]);
      const everything = JSON.stringify(await api(redactedUrl, '/api/metrics')) + JSON.stringify(await api(redactedUrl, '/api/job'));
      assert.ok(!everything.includes(SECRET), 'nothing of the record anywhere in the API');
      assert.equal((await api<{ budget: number }>(redactedUrl, '/api/job')).budget, 128, 'both threads\' budgets');

      const redactedPage = await browser.newPage();
      await redactedPage.goto(redactedUrl);
      const row = redactedPage.locator('#dead-letters tbody tr', { hasText: 'malformed JSON' }).first();
      await row.waitFor({ timeout: 15_000 });
      assert.match((await row.textContent()) ?? '', /redacted/);
      assert.ok(!(await redactedPage.content()).includes(SECRET));
      await redactedPage.close();
    });
  });
});
