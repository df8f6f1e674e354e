import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { JobStats } from '../../../core/engine/engine.ts';
import { Instrumentation } from '../../../core/instrumentation.ts';
import { JobMetrics } from '../../../runtime/telemetry/jobMetrics.ts';
import { parsePrometheusText } from './prometheusText.ts';

const docs = new URL('../../../docs/', import.meta.url);

/** Every metric family a job can expose, with one event of each kind so labelled series exist. */
async function exposedFamilies(): Promise<Map<string, string>> {
  const metrics = new JobMetrics({ jobName: 'j', pool: { workers: 2, utilization: 0.5, queueSize: 0 } });
  const bus = new Instrumentation();
  metrics.subscribe(bus);
  metrics.attach(() => ({ in: 1, out: 1, deadLettered: 0, dropped: 0, inFlight: 0, peakInFlight: 1, skipped: 0, checkpoints: 0, counted: 0, elapsedMs: 1, latency: { count: 1, p50: 1, p95: 1, p99: 1, max: 1 } }) as JobStats);
  bus.emit('source.lag', { topic: 't', partition: 0, lag: 3 });
  bus.emit('source.commit', { topic: 't', partition: 0, offset: 9 });
  bus.emit('source.backpressure', { source: 's', paused: true });
  bus.emit('source.records', { source: 's', count: 1 });
  const text = await metrics.registry.metrics();
  return parsePrometheusText(text).types;
}

function referencedMetrics(text: string): Set<string> {
  // `sluice_job` is the label every series carries, not a metric.
  return new Set([...text.matchAll(/\b((?:sluice|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!).filter((name) => name !== 'sluice_job'));
}

describe('docs/grafana-dashboard.json and docs/observability.md', () => {
  it('the dashboard is valid JSON and queries only metrics a job exposes', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('grafana-dashboard.json', docs), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const families = await exposedFamilies();
    const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));
    assert.ok(exprs.length >= 20);
    for (const { panel, expr } of exprs) {
      for (const name of referencedMetrics(expr)) {
        const family = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(families.has(family), `panel "${panel}" queries ${name}, which no job exposes`);
        if (family !== name) assert.equal(families.get(family), 'histogram', `${name} is a histogram series`);
      }
    }
  });

  it('the observability guide lists every sluice_ metric a job exposes, and no other', async () => {
    const guide = readFileSync(new URL('observability.md', docs), 'utf8');
    const families = [...(await exposedFamilies()).keys()].filter((name) => name.startsWith('sluice_'));
    for (const family of families) assert.ok(guide.includes(`\`${family}\``), `${family} is documented`);
    const documented = [...referencedMetrics(guide)].filter((name) => name.startsWith('sluice_') && !/_(bucket|sum|count)$/.test(name));
    for (const name of documented) assert.ok(families.includes(name), `the guide mentions ${name}, which does not exist`);
  });
});
