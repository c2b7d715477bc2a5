/* The comparison of any selection: four metric charts against epoch, samples seen or
 * wall-clock seconds; seed groups as mean ± std bands; the config-difference table;
 * parameter count against accuracy. New epochs extend the traces in place
 * (Plotly.extendTraces); anything structural goes through Plotly.react. */
import { api } from './api.js';
import { emptyLayout, enqueue, fade, lineLayout, missingPlotly, PLOT_CONFIG, plotlyReady, smooth } from './charts.js';
import { differingKeys, flattenConfig, groupLabel, runLabel } from './labels.js';
import { statusBadge } from './runs.js';
import {
  ACTIVE, bestAcc, finalAcc, forgetRun, getSeries, PALETTE, selectedOrder, setSelection, state, TERMINAL,
  totalSeconds,
} from './state.js';
import { $, el, fmtInt, fmtPct, fmtSeconds, mean, saveBlob, setText, std } from './util.js';

const METRICS = [
  { id: 'chart-train-loss', key: 'train_loss', title: 'training loss', loss: true },
  { id: 'chart-test-loss', key: 'test_loss', title: 'test loss', loss: true },
  { id: 'chart-test-acc', key: 'test_acc', title: 'test accuracy', pct: true },
  { id: 'chart-train-acc', key: 'train_acc', title: 'training accuracy', pct: true },
];
const X_TITLE = { epoch: 'epoch', samples: 'training samples seen', seconds: 'wall-clock seconds (training)' };
const HINT = 'Tick runs in the table to compare them';
// The notebook's parameter budget for its last model.
const PARAM_BUDGET = 20000;

export const opts = { x: 'epoch', smooth: 0, logLoss: false, group: true };
const expanded = new Set();     // group keys drawn seed by seed as well
let ready = false;
let sig = '';                   // what the charts were last built from
let traceOf = new Map();        // run id -> trace index, for runs drawn as their own line
let drawn = new Map();          // run id -> points already in its trace

// --- entries: what is drawn (a run, or a seed group) ---------------------------------

export function entries() {
  const byKey = new Map();
  for (const id of selectedOrder()) {
    const run = state.runs.get(id);
    const key = opts.group && run ? `g:${run.group_key}` : `r:${id}`;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(id);
  }
  return [...byKey.entries()].map(([key, ids], i) => {
    const first = state.runs.get(ids[0]);
    const group = ids.length > 1;
    return {
      key, ids, group, color: PALETTE[i % PALETTE.length],
      label: group ? `${groupLabel(first)} · ${ids.length} seeds` : `${runLabel(first) || `Run ${ids[0]}`} #${ids[0]}`,
      expanded: group && expanded.has(key),
    };
  });
}

function xOf(id, rows) {
  if (opts.x === 'samples') {
    const n = state.runs.get(id)?.train_size;
    return rows.map((r) => (n ? r.epoch * n : null));
  }
  if (opts.x === 'seconds') {
    let t = 0;
    return rows.map((r) => { t += r.seconds || 0; return Number(t.toFixed(3)); });
  }
  return rows.map((r) => r.epoch);
}

function runTrace(id, key, color, name, extra = {}) {
  const rows = getSeries(id).rows;
  return {
    type: 'scatter', mode: 'lines', name, x: xOf(id, rows), y: smooth(rows.map((r) => r[key]), opts.smooth),
    line: { color, width: 2 }, connectgaps: true, meta: id, ...extra,
  };
}

/** Mean and std across the group's seeds at each epoch (x from the same alignment). */
function groupTraces(e, key, pct) {
  const perRun = e.ids.map((id) => {
    const rows = getSeries(id).rows;
    return { ys: smooth(rows.map((r) => r[key]), opts.smooth), xs: xOf(id, rows), epochs: rows.map((r) => r.epoch) };
  });
  const epochs = [...new Set(perRun.flatMap((p) => p.epochs))].sort((a, b) => a - b);
  const x = []; const m = []; const lo = []; const hi = []; const n = [];
  for (const ep of epochs) {
    const ys = []; const xs = [];
    for (const p of perRun) {
      const i = p.epochs.indexOf(ep);
      if (i >= 0 && p.ys[i] !== null) { ys.push(p.ys[i]); xs.push(p.xs[i]); }
    }
    if (!ys.length) continue;
    const mu = mean(ys); const sd = std(ys);
    x.push(xs.every((v) => v !== null) ? mean(xs) : null);
    m.push(mu); lo.push(mu - sd); hi.push(mu + sd); n.push(ys.length);
  }
  const fmt = pct ? '.2%' : '.4f';
  const band = { type: 'scatter', mode: 'lines', x, line: { width: 0, color: e.color }, hoverinfo: 'skip', showlegend: false };
  const out = [
    { ...band, y: hi },
    { ...band, y: lo, fill: 'tonexty', fillcolor: fade(e.color, 0.18) },
    { type: 'scatter', mode: 'lines', name: e.label, x, y: m, customdata: n, line: { color: e.color, width: 2.5 },
      hovertemplate: `%{y:${fmt}} (mean of %{customdata})<extra>${e.label}</extra>` },
  ];
  if (e.expanded) {
    for (const id of e.ids) out.push(runTrace(id, key, e.color, `#${id} seed ${state.runs.get(id)?.config?.seed ?? '?'}`, { line: { color: e.color, width: 1, dash: 'dot' }, opacity: 0.8 }));
  }
  return out;
}

function plannedEpochs(ids) {
  return Math.max(0, ...ids.map((id) => Math.max(state.runs.get(id)?.epochs || 0, getSeries(id).lastEpoch)));
}

function layoutFor(m, list) {
  const ids = list.flatMap((e) => e.ids);
  const n = plannedEpochs(ids);
  return lineLayout({
    xTitle: X_TITLE[opts.x], yTitle: m.title, pct: m.pct, log: m.loss && opts.logLoss,
    xRange: opts.x === 'epoch' && n ? [0.5, n + 0.5] : null,
    hover: list.length <= 8 ? 'x unified' : 'closest',
    uirevision: `${opts.x}-${opts.logLoss}`,
  });
}

function buildTraces(m, list) {
  const traces = [];
  const index = new Map();
  const fmt = m.pct ? '.2%' : '.4f';
  for (const e of list) {
    if (e.group) { traces.push(...groupTraces(e, m.key, m.pct)); continue; }
    index.set(e.ids[0], traces.length);
    traces.push(runTrace(e.ids[0], m.key, e.color, e.label, { hovertemplate: `%{y:${fmt}}<extra>${e.label}</extra>` }));
  }
  return { traces, index };
}

function signature(list) {
  return JSON.stringify([opts, list.map((e) => [e.key, e.ids, e.label, e.expanded]), plannedEpochs(list.flatMap((e) => e.ids))]);
}

/** Rebuild every chart from the stored rows (selection or options changed). */
function redraw() {
  if (!ready) return Promise.resolve();
  return enqueue(async () => {
    const list = entries();
    sig = signature(list);
    const empty = list.length === 0;
    for (const m of METRICS) {
      const { traces, index } = buildTraces(m, list);
      traceOf = index;
      await Plotly.react(m.id, traces, empty ? emptyLayout(HINT) : layoutFor(m, list), PLOT_CONFIG);
    }
    drawn = new Map(list.flatMap((e) => e.ids).map((id) => [id, getSeries(id).rows.length]));
    await drawScatter(list);
  });
}

/** New epochs arrived for ``ids``: extend their traces, or redraw when that cannot be exact. */
function update(ids) {
  if (!ready || !ids.length) return Promise.resolve();
  const list = entries();
  const simple = opts.smooth === 0 && signature(list) === sig && ids.every((id) => traceOf.has(id));
  if (!simple) return redraw();
  return enqueue(async () => {
    const idx = []; const fresh = [];
    for (const id of ids) {
      const rows = getSeries(id).rows;
      const from = drawn.get(id) || 0;
      if (rows.length <= from) continue;
      idx.push(traceOf.get(id));
      fresh.push({ id, x: xOf(id, rows).slice(from), rows: rows.slice(from) });
      drawn.set(id, rows.length);
    }
    if (!idx.length) return;
    for (const m of METRICS) {
      await Plotly.extendTraces(m.id, { x: fresh.map((f) => f.x), y: fresh.map((f) => f.rows.map((r) => r[m.key])) }, idx);
    }
    await drawScatter(list);
  });
}

async function drawScatter(list) {
  const points = list.map((e) => {
    const accs = e.ids.map(bestAcc).filter((v) => v !== null);
    return { e, params: state.runs.get(e.ids[0])?.param_count, acc: accs.length ? mean(accs) : null, sd: std(accs) };
  }).filter((p) => p.acc !== null && p.params);
  if (!points.length) {
    await Plotly.react('chart-scatter', [], emptyLayout(list.length ? 'No accuracy yet' : HINT), PLOT_CONFIG);
    return;
  }
  const labels = points.length <= 10;
  const traces = points.map((p) => ({
    type: 'scatter', mode: labels ? 'markers+text' : 'markers', name: p.e.label,
    x: [p.params], y: [p.acc], text: [p.e.label], textposition: 'middle right', textfont: { size: 11, color: '#374151' },
    cliponaxis: false,
    marker: { color: p.e.color, size: 11, line: { color: '#fff', width: 1 } },
    error_y: p.e.group ? { type: 'data', array: [p.sd], color: p.e.color, thickness: 1.5, width: 4 } : undefined,
    hovertemplate: `%{x:,} parameters<br>best test acc %{y:.2%}<extra>${p.e.label}</extra>`,
  }));
  const layout = lineLayout({ xTitle: 'parameters (log scale)', yTitle: 'best test accuracy', pct: true, hover: 'closest', uirevision: 'scatter' });
  // Always show the 20k budget line, with room either side for the labels.
  const params = points.map((p) => p.params);
  const lo = Math.log10(Math.min(...params, PARAM_BUDGET)) - 0.35;
  const hi = Math.log10(Math.max(...params, PARAM_BUDGET)) + 0.35;
  const ticks = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) for (const m of [1, 2, 5]) ticks.push(m * 10 ** e);
  layout.xaxis = { ...layout.xaxis, type: 'log', range: [lo, hi], autorange: false, tickvals: ticks,
    ticktext: ticks.map((t) => (t >= 1e6 ? `${t / 1e6}M` : t >= 1e3 ? `${t / 1e3}k` : String(t))) };
  layout.yaxis = { ...layout.yaxis, tickformat: '.1%' };
  layout.shapes = [{ type: 'line', xref: 'x', yref: 'paper', x0: PARAM_BUDGET, x1: PARAM_BUDGET, y0: 0, y1: 1, line: { color: '#9ca3af', dash: 'dash', width: 1 } }];
  layout.annotations = [{ x: Math.log10(PARAM_BUDGET), xref: 'x', y: 0, yref: 'paper', text: ' 20k budget', showarrow: false, xanchor: 'left', yanchor: 'bottom', font: { size: 11, color: '#6b7280' } }];
  await Plotly.react('chart-scatter', traces, layout, PLOT_CONFIG);
}

// --- legend and the config-difference table -------------------------------------------

function renderLegend(list) {
  const box = $('#compare-legend');
  box.replaceChildren(...list.map((e) => el('span', { class: 'legend-item', title: e.label }, [
    el('span', { class: `swatch${e.group ? ' swatch-band' : ''}`, style: `background:${e.color}` }),
    e.group ? el('span', { text: e.label }) : el('a', { href: `#/runs/${e.ids[0]}`, text: e.label }),
  ])));
}

function cellValues(ids, key) {
  const vals = [...new Set(ids.map((id) => flattenConfig(state.runs.get(id)?.config)[key] ?? '—'))];
  return vals.join(', ');
}

function accCell(ids, fn) {
  const vals = ids.map(fn).filter((v) => v !== null && v !== undefined);
  if (!vals.length) return '—';
  return vals.length > 1 ? `${fmtPct(mean(vals), 2)} ± ${(std(vals) * 100).toFixed(2)}` : fmtPct(vals[0], 2);
}

function renderTable(list) {
  const head = $('#compare-head');
  const body = $('#compare-body');
  const ids = list.flatMap((e) => e.ids);
  const configs = ids.map((id) => state.runs.get(id)?.config).filter(Boolean);
  const keys = differingKeys(configs);
  head.replaceChildren(el('tr', {}, [
    el('th', { text: 'Run' }), el('th', { text: 'Status' }),
    ...keys.map((k) => el('th', { class: 'diff-col', text: k, title: 'differs between the selected runs' })),
    el('th', { class: 'num', text: 'Params' }),
    el('th', { class: 'num', text: 'Final acc', title: 'Final test accuracy (mean ± std over seeds)' }),
    el('th', { class: 'num', text: 'Best acc', title: 'Best test accuracy over all epochs' }),
    el('th', { class: 'num', text: 'Time', title: 'Sum of per-epoch training seconds' }),
  ]));
  if (!list.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, [el('td', { colspan: 6, text: 'No runs selected.' })]));
    return;
  }
  const rows = [];
  const row = (e, rowIds, label, sub) => el('tr', { class: sub ? 'seed-row' : '', dataset: { key: e.key } }, [
    el('td', { class: 'name', title: label }, [
      el('span', { class: `swatch${e.group && !sub ? ' swatch-band' : ''}`, style: `background:${e.color}` }),
      e.group && !sub
        ? el('button', { type: 'button', class: 'linklike expand', 'aria-expanded': String(e.expanded), text: `${e.expanded ? '▾' : '▸'} ${label}`, onclick: () => { toggleGroup(e.key); } })
        : el('a', { href: `#/runs/${rowIds[0]}`, text: label }),
    ]),
    el('td', {}, [...new Set(rowIds.map((id) => state.runs.get(id)?.status))].filter(Boolean).map(statusBadge)),
    ...keys.map((k) => el('td', { class: 'diff-col', text: cellValues(rowIds, k) })),
    el('td', { class: 'num', text: fmtInt(state.runs.get(rowIds[0])?.param_count) }),
    el('td', { class: 'num', text: accCell(rowIds, finalAcc) }),
    el('td', { class: 'num', text: accCell(rowIds, bestAcc) }),
    el('td', { class: 'num', text: rowIds.length > 1 ? `${fmtSeconds(mean(rowIds.map((id) => totalSeconds(id) || 0)))} avg` : fmtSeconds(totalSeconds(rowIds[0])) }),
  ]);
  for (const e of list) {
    rows.push(row(e, e.ids, e.label, false));
    if (e.expanded) for (const id of e.ids) rows.push(row(e, [id], `#${id} seed ${state.runs.get(id)?.config?.seed}`, true));
  }
  body.replaceChildren(...rows);
}

function toggleGroup(key) {
  if (expanded.has(key)) expanded.delete(key); else expanded.add(key);
  refresh();
}

function renderSummary(list) {
  const n = state.selected.size;
  const groups = list.filter((e) => e.group).length;
  setText($('#compare-summary'), n === 0 ? 'Tick runs in the table (or launch a notebook comparison) to compare them.'
    : `Comparing ${n} run${n === 1 ? '' : 's'}${groups ? ` (${groups} seed group${groups === 1 ? '' : 's'} drawn as mean ± std)` : ''}. Curves update live while runs train.`);
  document.querySelectorAll('#compare-card .needs-selection').forEach((b) => { b.disabled = n === 0; });
}

/** Everything but the line charts' data: legend, table, summary (cheap DOM). */
function renderSide() {
  const list = entries();
  renderLegend(list);
  renderTable(list);
  renderSummary(list);
}

/** Selection or options changed. Runs not loaded yet are fetched first, so the charts
 * are drawn once with their data rather than empty and then again. */
export function refresh() {
  renderSide();
  const unloaded = selectedOrder().some((id) => { const s = getSeries(id); return !s.done && !s.rows.length; });
  return unloaded ? loadMetrics(true) : redraw();
}

// --- metrics, incrementally ----------------------------------------------------------

function needsMetrics(id) {
  const s = getSeries(id);
  if (s.inflight) return false;
  if (!s.done) return true;
  const run = state.runs.get(id);
  return !!run && ACTIVE.has(run.status);
}

async function fetchMetrics(id) {
  const s = getSeries(id);
  s.inflight = true;
  try {
    const res = await api.metrics(id, s.lastEpoch);
    const rows = (res.data || []).filter((m) => m.epoch > s.lastEpoch);
    for (const m of rows) s.rows.push(m);
    if (rows.length) s.lastEpoch = rows[rows.length - 1].epoch;
    s.done = TERMINAL.has(res.status);
    return rows.length ? id : null;
  } catch (err) {
    if (err.status === 404) forgetRun(id);
    return null;
  } finally {
    s.inflight = false;
  }
}

let ticking = false;
let again = false;
let statusSig = '';
/** Fetch only the epochs each selected run gained since the last look; ``force`` draws
 * even when nothing new arrived (the selection changed). */
export async function loadMetrics(force = false) {
  if (ticking) { again = true; return; }
  ticking = true;
  try {
    const ids = selectedOrder().filter(needsMetrics);
    const changed = (await Promise.all(ids.map(fetchMetrics))).filter((x) => x !== null);
    const st = JSON.stringify(selectedOrder().map((id) => [id, state.runs.get(id)?.status, state.runs.get(id)?.name]));
    if (changed.length || st !== statusSig || force) {
      statusSig = st;
      renderSide();
      await (changed.length && !force ? update(changed) : redraw());
    }
  } finally {
    ticking = false;
    if (again) { again = false; loadMetrics(true); }
  }
}

async function exportSelection(format) {
  const msg = $('#compare-message');
  try {
    const ids = selectedOrder();
    const blob = await api.exportMetrics(ids, format);
    saveBlob(blob, `trainboard-metrics-${ids.length}-runs.${format}`);
    msg.hidden = true;
  } catch (err) {
    msg.hidden = false;
    msg.className = 'message error';
    msg.textContent = `Export failed: ${err.message}`;
  }
}

export function initCompare() {
  const chartIds = [...METRICS.map((m) => m.id), 'chart-scatter'];
  if (!plotlyReady()) { missingPlotly(chartIds); return; }
  ready = true;
  $('#opt-x').addEventListener('change', (ev) => { opts.x = ev.target.value; refresh(); });
  $('#opt-smooth').addEventListener('input', (ev) => {
    opts.smooth = Number(ev.target.value);
    setText($('#opt-smooth-value'), opts.smooth.toFixed(2));
    refresh();
  });
  $('#opt-log').addEventListener('change', (ev) => { opts.logLoss = ev.target.checked; refresh(); });
  $('#opt-group').addEventListener('change', (ev) => { opts.group = ev.target.checked; refresh(); });
  $('#export-csv').addEventListener('click', () => exportSelection('csv'));
  $('#export-json').addEventListener('click', () => exportSelection('json'));
  $('#study-select').addEventListener('change', (ev) => {
    const st = state.studies.find((s) => String(s.id) === ev.target.value);
    if (st) setSelection(st.run_ids || []);
  });
  refresh();
}
