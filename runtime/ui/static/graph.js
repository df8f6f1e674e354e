// The job graph as an SVG: sources → stages (in the order records meet them) → sinks, and the
// dead-letter sink below, fed by every stage that sent dead letters. Edges are coloured by
// backpressure: how full the in-flight budget is, and red when a source is paused.
// Text goes in with textContent only: stage names come from job files.

const NS = 'http://www.w3.org/2000/svg';
const NODE_H = 72;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function formatRate(value) {
  if (value === undefined || value === null) return '—';
  if (value >= 10_000) return `${Math.round(value / 1000).toLocaleString('en-US')}k/s`;
  return `${Math.round(value).toLocaleString('en-US')}/s`;
}

export function formatMs(value) {
  if (value === undefined || value === null) return '—';
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 1) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** Budget use as a class: ok, warn, full; paused sources are full by definition. */
export function pressureClass(used, paused) {
  if (paused) return 'bp-paused';
  if (used >= 0.9) return 'bp-full';
  if (used >= 0.5) return 'bp-warn';
  return 'bp-ok';
}

function node(group, { kind, id, name, lines, x, y, w, quiet }) {
  const g = svg('g', { class: `node ${kind}${quiet ? ' quiet' : ''}`, 'data-node': id, transform: `translate(${x},${y})` });
  g.append(svg('rect', { width: w, height: NODE_H, rx: 6 }));
  g.append(svg('text', { x: 8, y: 17, class: 'name' }, clip(name, w)));
  lines.forEach(([cls, text], i) => g.append(svg('text', { x: 8, y: 33 + i * 14, class: cls }, clip(text, w))));
  const title = svg('title', {}, [name, ...lines.map(([, text]) => text)].join('\n'));
  g.append(title);
  group.append(g);
}

function clip(text, width) {
  const max = Math.max(6, Math.floor((width - 14) / 6.6));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function edge(group, from, to, cls, id) {
  const [x1, y1] = from;
  const [x2, y2] = to;
  const mid = (x1 + x2) / 2;
  const d = y1 === y2 ? `M${x1},${y1} L${x2},${y2}` : `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
  group.append(svg('path', { d, class: `edge ${cls}`, 'data-edge': id }));
}

/**
 * Draws the graph of `job` (GET /api/job) with the numbers of `metrics` (one metrics event).
 */
export function renderGraph(target, job, metrics) {
  const width = Math.max(640, target.clientWidth || 1000);
  const sources = job.graph.sources;
  const stages = job.graph.stages;
  const sinks = job.graph.sinks;
  const columns = stages.length + 2;
  const colW = (width - 20) / columns;
  const w = Math.min(178, colW - 26);
  const rows = Math.max(sources.length, sinks.length, 1);
  const rowH = NODE_H + 22;
  const top = 10;
  const mainH = rows * rowH;
  const height = top + mainH + NODE_H + 40;
  target.setAttribute('viewBox', `0 0 ${width} ${height}`);
  target.style.height = `${height}px`;
  target.replaceChildren();
  const edges = svg('g');
  const nodes = svg('g');
  const labels = svg('g');
  target.append(edges, nodes, labels);

  const colX = (i) => 10 + i * colW + (colW - w) / 2;
  const centerY = top + mainH / 2 - NODE_H / 2;
  const rowY = (i, count) => top + (mainH - count * rowH) / 2 + i * rowH + 11;
  const byName = (list, name) => (list ?? []).find((s) => s.name === name);
  const bp = metrics?.backpressure;
  const used = bp?.used ?? 0;

  // Sources, with how often they paused.
  sources.forEach((s, i) => {
    const view = byName(metrics?.sources, s.name);
    const y = rowY(i, sources.length);
    node(nodes, {
      kind: 'source', id: `source:${s.name}`, name: s.input, x: colX(0), y, w,
      lines: [['rate', formatRate(view?.rate)], ['note', s.name], ['note', view?.paused ? 'paused: budget full' : view && view.pausedShare > 0 ? `paused ${Math.round(view.pausedShare * 100)} % of last s` : 'fetching']],
    });
    const paused = view !== undefined && (view.paused || view.pausedShare > 0);
    const to = stages.length > 0 ? [colX(1), centerY + NODE_H / 2] : [colX(columns - 1), rowY(0, sinks.length) + NODE_H / 2];
    edge(edges, [colX(0) + w, y + NODE_H / 2], to, pressureClass(used, paused), `source:${s.name}`);
  });

  // Stages in a row, each with its rate and time.
  stages.forEach((name, i) => {
    const view = byName(metrics?.stages, name);
    const x = colX(i + 1);
    const per = view?.per === 'batch' ? ' /batch' : view?.per === 'lookup' ? ' /lookup' : '';
    const quiet = view !== undefined && view.records === undefined;
    node(nodes, {
      kind: 'stage', id: `stage:${name}`, name, x, y: centerY, w, quiet,
      lines: quiet
        ? [['note', 'reports no events'], ['note', '']]
        : [['rate', formatRate(view?.rate)], ['time', `p50 ${formatMs(view?.time.p50)}${per}`], ['time', `p99 ${formatMs(view?.time.p99)}${per}`]],
    });
    if (i < stages.length - 1) edge(edges, [x + w, centerY + NODE_H / 2], [colX(i + 2), centerY + NODE_H / 2], pressureClass(used, false), `stage:${name}`);
  });

  // Sinks, with their write rate and time.
  sinks.forEach((s, i) => {
    const view = byName(metrics?.sinks, s.name);
    const y = rowY(i, sinks.length);
    node(nodes, {
      kind: 'sink', id: `sink:${s.output}`, name: s.output, x: colX(columns - 1), y, w,
      lines: [['rate', formatRate(view?.rate)], ['time', `write p50 ${formatMs(view?.time.p50)}`], ['time', `write p99 ${formatMs(view?.time.p99)}`]],
    });
    if (stages.length > 0) edge(edges, [colX(columns - 2) + w, centerY + NODE_H / 2], [colX(columns - 1), y + NODE_H / 2], pressureClass(used, false), `sink:${s.output}`);
  });

  // The infer stages' worker-pool queue, on the edge into them.
  if (bp !== undefined && bp.poolQueue > 0) {
    for (const m of metrics.model.stages) {
      const i = stages.indexOf(m.stage);
      if (i > 0) labels.append(svg('text', { x: colX(i) + w + 4, y: centerY + NODE_H / 2 - 6, class: 'edge-label info' }, `pool queue ${bp.poolQueue}`));
    }
  }

  // Dead letters below, from each stage (or source) that sent some.
  const dead = metrics?.deadLetters;
  const deadX = width / 2 - w / 2;
  const deadY = top + mainH + 26;
  node(nodes, {
    kind: 'dead', id: 'dead-letters', name: 'dead letters', x: deadX, y: deadY, w,
    lines: [['rate', formatRate(dead?.rate)], ['note', `${(dead?.total ?? 0).toLocaleString('en-US')} in all`], ['note', job.graph.deadLetters]],
  });
  for (const [stage, count] of Object.entries(dead?.byStage ?? {})) {
    if (count === 0) continue;
    const i = stages.indexOf(stage);
    const from = i >= 0 ? [colX(i + 1) + w / 2, centerY + NODE_H] : [colX(0) + w / 2, rowY(sources.length - 1, sources.length) + NODE_H];
    edge(edges, from, [deadX + w / 2, deadY], 'dead', `dead:${stage}`);
  }
}
