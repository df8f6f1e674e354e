// The dashboard page: reads /api/job and /api/metrics once, then follows /api/events (one
// `metrics` event a second, a `job` event when the graph or state changes). Everything from
// the job (names, reasons, dead-letter contents) is set with textContent, never as HTML.
import { formatMs, formatRate, renderGraph } from './graph.js';

const $ = (id) => document.getElementById(id);
const HISTORY = 300;

let job;
let metrics;
const series = { at: [], p50: [], p95: [], p99: [], in: [], out: [], dead: [] };
let latencyChart;
let throughputChart;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ''));
  return node;
}

const number = (n) => (n === undefined || n === null ? '—' : Math.round(n).toLocaleString('en-US'));
/** A number with `digits` decimals; JSON turns NaN (a window without data) into null. */
const fixed = (n, digits) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—');
const time = (at) => new Date(at).toLocaleTimeString('en-GB');
const bytes = (n) => (n === undefined || n === null ? '—' : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`);

function makeChart(target, names, colors, yLabel) {
  const opts = {
    width: Math.max(300, target.clientWidth),
    height: 220,
    legend: { live: false },
    scales: { x: { time: true } },
    axes: [{}, { label: yLabel, size: 60 }],
    series: [{}, ...names.map((label, i) => ({ label, stroke: colors[i], width: 2, spanGaps: true }))],
  };
  return new uPlot(opts, [[], ...names.map(() => [])], target);
}

function pushHistory(point) {
  series.at.push(point.at / 1000);
  series.p50.push(point.p50 ?? null);
  series.p95.push(point.p95 ?? null);
  series.p99.push(point.p99 ?? null);
  series.in.push(point.in);
  series.out.push(point.out);
  series.dead.push(point.deadLettered);
  if (series.at.length > HISTORY) for (const list of Object.values(series)) list.shift();
}

function drawCharts() {
  latencyChart ??= makeChart($('latency-chart'), ['p50', 'p95', 'p99'], ['#2f9e5b', '#e0a100', '#d64541'], 'ms');
  throughputChart ??= makeChart($('throughput-chart'), ['in', 'out', 'dead letters'], ['#2f6fde', '#2f9e5b', '#d64541'], 'records/s');
  latencyChart.setData([series.at, series.p50, series.p95, series.p99]);
  throughputChart.setData([series.at, series.in, series.out, series.dead]);
}

function renderJob() {
  $('job-name').textContent = job.name;
  document.title = `${job.name} — Sluice`;
  $('job-description').textContent = job.description ?? '';
  const state = $('job-state');
  state.textContent = job.state;
  state.className = `state ${job.state}`;
  $('job-io').replaceChildren(...job.io.map((line) => el('li', {}, line)));
}

function renderTotals() {
  const t = metrics.totals;
  const bp = metrics.backpressure;
  const fact = (value, label, id) => el('div', { id }, el('b', {}, value), el('span', {}, label));
  $('totals').replaceChildren(
    fact(formatRate(metrics.rates.in), 'in now', 'rate-in'),
    fact(formatRate(metrics.rates.out), 'out now', 'rate-out'),
    fact(number(t.in), 'records in'),
    fact(number(t.out), 'written'),
    fact(number(t.deadLettered), 'dead letters'),
    fact(`${number(bp.inFlight)} / ${number(bp.budget)}`, 'in flight / budget', 'in-flight'),
    fact(`${formatMs(metrics.latency.window.p50)} · ${formatMs(metrics.latency.window.p99)}`, 'latency p50 · p99 (last second)'),
    fact(`${(metrics.elapsedMs / 1000).toFixed(0)} s`, 'running'),
  );
  $('budget-line').textContent = `in flight ${number(bp.inFlight)} of ${number(bp.budget)} (${Math.round(bp.used * 100)} %), peak ${number(bp.peakInFlight)}${bp.paused ? ' — source paused' : ''}`;
}

/** A partition's fetching: paused now, paused for a share of the last second, or fetching. */
function fetching(p) {
  if (p.paused) return 'paused';
  if (p.pausedShare > 0) return `paused ${Math.max(1, Math.round(p.pausedShare * 100))} % of the last second`;
  return 'fetching';
}

function renderSources() {
  $('sources').tBodies[0].replaceChildren(
    ...metrics.sources.map((s) =>
      el('tr', { class: s.paused || s.pausedShare > 0 ? 'paused' : '', 'data-source': s.name }, el('td', {}, s.name), el('td', {}, formatRate(s.rate)), el('td', {}, s.paused ? 'paused now' : `${Math.round(s.pausedShare * 100)} %`), el('td', {}, number(s.pauses))),
    ),
  );
  $('partitions').tBodies[0].replaceChildren(
    ...metrics.partitions.map((p) =>
      // A pause shorter than the second between two views still marks the row, with its share.
      el('tr', { class: p.paused || p.pausedShare > 0 ? 'paused' : '', 'data-partition': `${p.topic}/${p.partition}` }, el('td', {}, `${p.topic}[${p.partition}]`), el('td', {}, number(p.lag)), el('td', {}, number(p.committed)), el('td', {}, fetching(p))),
    ),
  );
  $('partitions-empty').hidden = metrics.partitions.length > 0;
}

function renderCheckpoints() {
  const c = metrics.checkpoints;
  const rows = c.enabled
    ? [
        ['taken', number(c.taken)],
        ['failures', number(c.failures)],
        ['last', c.last ? `${time(c.last.at)} (${Math.round((Date.now() - c.last.at) / 1000)} s ago)` : 'none yet'],
        ['duration', c.last ? formatMs(c.last.durationMs) : '—'],
        ['size', c.last ? [c.last.bytes !== undefined ? bytes(c.last.bytes) : undefined, c.last.entries !== undefined ? `${number(c.last.entries)} state entries` : undefined, `${c.last.partitions} partitions`].filter(Boolean).join(', ') : '—'],
        ['last failure', c.lastFailure ? `${time(c.lastFailure.at)}: ${c.lastFailure.error}` : 'none'],
      ]
    : [['checkpoints', 'off (--checkpoint-dir, or --brokers with a changelog topic)']];
  $('checkpoints').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function bars(histogram) {
  const max = Math.max(1, ...histogram.map((b) => b.count));
  return [
    el('div', { class: 'bars' }, ...histogram.map((b) => el('div', { style: `height:${(b.count / max) * 100}%`, title: `≤ ${b.le}: ${b.count} batches` }))),
    el('div', { class: 'bar-labels' }, ...histogram.map((b) => el('span', {}, `≤${b.le}`))),
  ];
}

function renderModel() {
  const m = metrics.model;
  const parts = [];
  for (const s of m.stages) {
    parts.push(
      el('div', { class: 'model-stage', 'data-model-stage': s.stage },
        el('dl', { class: 'facts' },
          ...[
            ['stage', s.stage], ['model', s.model], ['version serving', s.version ?? '—'],
            ['batches', number(s.batches)], ['records scored', number(s.records)],
            ['inference p50 / p99', `${formatMs(s.time.p50)} / ${formatMs(s.time.p99)} per batch`],
            ['errors', number(s.errors)], ['fallbacks', number(s.fallbacks)],
            ['worker threads busy', `${Math.round(metrics.backpressure.poolBusy * 100)} %, queue ${metrics.backpressure.poolQueue}`],
          ].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
        ),
        el('div', {}, el('div', { class: 'muted' }, 'batch sizes (records per model call)'), ...bars(s.batchSizes)),
      ),
    );
  }
  for (const e of m.enrich) {
    const breaker = m.breakers[e.stage] ?? 'closed';
    parts.push(el('p', {}, `${e.stage}: ${number(e.calls)} calls, p50 ${formatMs(e.time.p50)} / p99 ${formatMs(e.time.p99)}, ${number(e.errors)} failed, ${number(e.fallbacks)} fallbacks, breaker `, el('span', { class: `badge ${breaker}` }, breaker)));
  }
  if (m.drift) {
    parts.push(el('h3', {}, `Drift (${m.drift.model}, ${number(m.drift.records)} rows, window at ${time(m.drift.at)})`));
    parts.push(el('table', { id: 'drift' }, el('thead', {}, el('tr', {}, el('th', {}, 'column'), el('th', {}, 'PSI'), el('th', {}, 'KS'))),
      el('tbody', {}, ...m.drift.columns.map((c) => el('tr', { class: c.drifted ? 'drifted' : '' }, el('td', {}, c.name), el('td', {}, fixed(c.psi, 3)), el('td', {}, fixed(c.ks, 3)))))));
  }
  if (m.accuracy) {
    const a = m.accuracy;
    parts.push(el('p', { id: 'accuracy' }, `Online accuracy (${a.model}, ${number(a.count)} labelled, ${time(a.at)}): precision ${fixed(a.precision, 3)}, recall ${fixed(a.recall, 3)}, AUC ${fixed(a.auc, 3)}`));
  }
  if (m.changes.length > 0) {
    parts.push(el('ul', { class: 'muted' }, ...m.changes.slice(-5).reverse().map((c) => el('li', {}, c.refused ? `${time(c.at)} ${c.stage}: refused ${c.version} — ${c.refused.join('; ')}` : `${time(c.at)} ${c.stage}: ${c.version} serving${c.from ? ` (was ${c.from})` : ''}`))));
  }
  if (parts.length === 0) parts.push(el('p', { class: 'muted' }, 'This job calls no model.'));
  $('model').replaceChildren(...parts);
}

function renderDeadLetters() {
  const d = metrics.deadLetters;
  $('dead-letter-rate').textContent = `${formatRate(d.rate)} now, ${number(d.total)} in all${job.redacted ? ' — contents redacted (--ui-redact)' : ''}`;
  $('dead-letters').tBodies[0].replaceChildren(
    ...d.recent.map((e) =>
      el('tr', { 'data-stage': e.stage },
        el('td', {}, time(e.at)), el('td', {}, e.stage), el('td', { class: 'reason' }, e.reason),
        el('td', {}, e.topic === undefined ? '—' : `${e.topic}[${e.partition}]@${e.offset}`),
        job.redacted ? el('td', { class: 'redacted' }, 'redacted') : el('td', { class: 'wrap' }, e.key ?? '—'),
        job.redacted ? el('td', { class: 'redacted' }, 'redacted') : el('td', { class: 'wrap' }, e.original ?? e.value ?? '—'),
      ),
    ),
  );
  $('dead-letters-empty').hidden = d.recent.length > 0;
}

function renderSlowTraces() {
  $('slow-traces').tBodies[0].replaceChildren(
    ...metrics.slowTraces.map((t) => {
      const link = job.jaegerUrl ? el('a', { href: `${job.jaegerUrl}/trace/${t.traceId}`, target: '_blank', rel: 'noopener noreferrer' }, t.traceId) : el('span', {}, t.traceId);
      return el('tr', {}, el('td', {}, formatMs(t.latencyMs)), el('td', {}, `${t.topic}[${t.partition}]@${t.offset}`), el('td', {}, t.sink), el('td', { class: 'wrap' }, link));
    }),
  );
  const empty = $('slow-traces-empty');
  empty.hidden = metrics.slowTraces.length > 0;
  empty.textContent = job.tracing ? 'No traced record written in the last minute.' : 'Tracing is off: run with --trace-sample (and --jaeger-url for links) to see slow records here.';
}

function render() {
  if (job === undefined || metrics === undefined) return;
  renderTotals();
  renderGraph($('graph'), job, metrics);
  renderSources();
  renderCheckpoints();
  renderModel();
  renderDeadLetters();
  renderSlowTraces();
  drawCharts();
}

async function start() {
  job = await (await fetch('/api/job')).json();
  renderJob();
  const first = await (await fetch('/api/metrics')).json();
  for (const point of first.history ?? []) pushHistory(point);
  metrics = first;
  render();
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => $('live').classList.add('on'));
  events.addEventListener('error', () => $('live').classList.remove('on'));
  events.addEventListener('job', (event) => {
    job = JSON.parse(event.data);
    renderJob();
    render();
  });
  events.addEventListener('metrics', (event) => {
    metrics = JSON.parse(event.data);
    pushHistory({ at: metrics.at, in: metrics.rates.in, out: metrics.rates.out, deadLettered: metrics.rates.deadLettered, ...metrics.latency.window });
    render();
  });
  window.addEventListener('resize', () => {
    for (const [chart, id] of [[latencyChart, 'latency-chart'], [throughputChart, 'throughput-chart']]) chart?.setSize({ width: Math.max(300, $(id).clientWidth), height: 220 });
    render();
  });
}

start().catch((error) => {
  $('job-state').textContent = `cannot reach the job: ${error.message}`;
});
