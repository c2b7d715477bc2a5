/* Trainboard frontend — plain ES2020, no build step.
 *
 * Organisation:
 *   - api.*            thin fetch wrappers around the JSON API
 *   - state            single mutable store (runs, selection, per-run metric series)
 *   - render*          DOM updates (health, presets, form, runs table, comparison)
 *   - charts.*         Plotly handling: react on selection change, extendTraces on new epochs
 *   - poll loops       runs (1.5 s), health (3 s), studies (10 s)
 */
'use strict';

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------
const RUNS_POLL_MS = 1500;
const HEALTH_POLL_MS = 3000;
const STUDIES_POLL_MS = 10000;
const RUNS_LIMIT = 100;
const ACTIVE = new Set(['queued', 'running']);
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2',
  '#db2777', '#4b5563', '#65a30d', '#ea580c', '#0f766e', '#9333ea'];
const STORAGE_KEY = 'trainboard.selected';
const OPT_LABEL = { sgd: 'SGD', adam: 'Adam', adamw: 'AdamW', adagrad: 'Adagrad', rmsprop: 'RMSprop' };
const MOMENTUM_OPTIMIZERS = new Set(['sgd', 'rmsprop']);

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------
const $ = (sel, root = document) => root.querySelector(sel);

/** Create an element: el('td', {class: 'x', dataset: {a: 1}}, ['text', child]) */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of [].concat(children)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function setText(node, text) {
  const t = text === null || text === undefined ? '' : String(text);
  if (node.textContent !== t) node.textContent = t;
}

function fmtPct(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  return `${(x * 100).toFixed(digits)}%`;
}

function fmtInt(n) {
  if (n === null || n === undefined) return '—';
  return Number(n).toLocaleString('en-US');
}

function fmtSeconds(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '—';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// ---------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, detail, fallback) {
    super(ApiError.describe(detail) || fallback || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }

  /** Turn FastAPI's detail (string | [{loc,msg}] | object) into readable items. */
  static items(detail) {
    if (detail === null || detail === undefined) return [];
    if (typeof detail === 'string') return [{ field: null, loc: [], message: detail }];
    if (Array.isArray(detail)) {
      return detail.map((d) => {
        if (typeof d === 'string') return { field: null, loc: [], message: d };
        const loc = Array.isArray(d.loc) ? d.loc.filter((p) => p !== 'body') : [];
        return { field: loc.length ? loc.join('.') : null, loc, message: d.msg || JSON.stringify(d) };
      });
    }
    if (typeof detail === 'object') {
      if (detail.message) return [{ field: null, loc: [], message: detail.message }];
      return [{ field: null, loc: [], message: JSON.stringify(detail) }];
    }
    return [{ field: null, loc: [], message: String(detail) }];
  }

  static describe(detail) {
    return ApiError.items(detail).map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ');
  }
}

async function request(method, path, body) {
  const opts = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (err) {
    throw new ApiError(0, null, `Network error: ${err.message}`);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const detail = data && typeof data === 'object' && 'detail' in data ? data.detail : (text || null);
    throw new ApiError(res.status, detail, `${res.status} ${res.statusText}`);
  }
  return data;
}

const api = {
  health: () => request('GET', '/api/health'),
  presets: () => request('GET', '/api/presets'),
  datasets: () => request('GET', '/api/datasets'),
  listRuns: (params = {}) => request('GET', `/api/runs?${new URLSearchParams(params)}`),
  getRun: (id) => request('GET', `/api/runs/${id}`),
  createRun: (body) => request('POST', '/api/runs', body),
  metrics: (id, after) => request('GET', `/api/runs/${id}/metrics?after=${after}`),
  cancelRun: (id) => request('POST', `/api/runs/${id}/cancel`),
  deleteRun: (id) => request('DELETE', `/api/runs/${id}`),
  createStudy: (body) => request('POST', '/api/studies', body),
  listStudies: () => request('GET', '/api/studies'),
  getStudy: (id) => request('GET', `/api/studies/${id}`),
};

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------
const state = {
  runs: new Map(),          // id -> RunPublic (latest known)
  listedIds: [],            // ids in table order (newest first)
  selected: new Set(),      // ids selected for comparison
  series: new Map(),        // id -> {lastEpoch, epochs, loss, acc, seconds, done, inflight}
  presets: [],
  datasets: [],
  studies: [],
  runsLoaded: false,
};

function loadSelection() {
  try {
    const ids = JSON.parse(localStorage.getItem(STORAGE_KEY) || '[]');
    if (Array.isArray(ids)) ids.filter(Number.isInteger).forEach((id) => state.selected.add(id));
  } catch { /* ignore */ }
}

function saveSelection() {
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify([...state.selected])); } catch { /* ignore */ }
}

function getSeries(id) {
  let s = state.series.get(id);
  if (!s) {
    s = { lastEpoch: 0, epochs: [], loss: [], acc: [], seconds: 0, done: false, inflight: false };
    state.series.set(id, s);
  }
  return s;
}

// ---------------------------------------------------------------------------
// Run labels
// ---------------------------------------------------------------------------
function describeModel(model) {
  if (!model) return 'model';
  if (model.kind === 'mlp') {
    const hidden = model.hidden || [];
    const depth = hidden.length + 1;
    let s = hidden.length ? `${depth}-layer ${model.activation || ''}`.trim() : 'linear';
    if (model.batchnorm) s += ' +BN';
    if (model.dropout) s += ` drop ${model.dropout}`;
    return s;
  }
  if (model.kind === 'layers') {
    const layers = model.layers || [];
    const convs = layers.filter((l) => l.type === 'conv2d').length;
    const lins = layers.filter((l) => l.type === 'linear').length;
    return convs ? `CNN ${convs} conv + ${lins} fc` : `${lins}-layer net`;
  }
  return String(model.kind || 'model');
}

function describeConfig(cfg) {
  if (!cfg) return '';
  const opt = cfg.optimizer || {};
  const optName = OPT_LABEL[opt.name] || opt.name || '';
  const lr = opt.lr !== undefined && opt.lr !== null ? ` ${opt.lr}` : '';
  return `${describeModel(cfg.model)}, ${optName}${lr}`.trim();
}

function runLabel(run) {
  if (!run) return '';
  return run.name || (run.config && describeConfig(run.config)) || `Run ${run.id}`;
}

/** Labels for the selected runs; duplicates get their id appended so legends stay readable. */
function traceLabels(ids) {
  const base = ids.map((id) => runLabel(state.runs.get(id)) || `Run ${id}`);
  const counts = new Map();
  base.forEach((b) => counts.set(b, (counts.get(b) || 0) + 1));
  return base.map((b, i) => (counts.get(b) > 1 ? `${b} (#${ids[i]})` : b));
}

// ---------------------------------------------------------------------------
// Health pill
// ---------------------------------------------------------------------------
function renderHealth(h, err) {
  const pill = $('#health');
  const text = $('.pill-text', pill);
  if (err || !h) {
    pill.className = 'pill pill-bad';
    setText(text, 'API offline');
    pill.title = err ? err.message : '';
    return;
  }
  pill.className = `pill ${h.status === 'ok' ? 'pill-ok' : 'pill-warn'}`;
  const parts = [h.device || 'device ?', `queue ${h.queued ?? 0}`];
  if (h.running !== null && h.running !== undefined) {
    parts.push(typeof h.running === 'object' ? `running #${h.running.id ?? '?'}` : `running #${h.running}`);
  } else {
    parts.push('idle');
  }
  setText(text, parts.join(' · '));
  pill.title = `status: ${h.status}`;
}

async function pollHealth() {
  try { renderHealth(await api.health(), null); } catch (err) { renderHealth(null, err); }
}

// ---------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------
function showMessage(node, text, kind = 'info') {
  if (!text) { node.hidden = true; node.textContent = ''; return; }
  node.className = `message ${kind}`;
  node.textContent = text;
  node.hidden = false;
}

function renderPresets() {
  const box = $('#presets');
  box.replaceChildren();
  if (!state.presets.length) {
    box.append(el('p', { class: 'muted', text: 'No presets available.' }));
    return;
  }
  for (const p of state.presets) {
    const n = (p.runs || []).length;
    const btn = el('button', {
      type: 'button', class: 'preset', id: `preset-${p.key}`,
      'data-testid': `preset-${p.key}`, 'data-preset': p.key, title: p.description || p.title,
    }, [
      el('span', { class: 'preset-title', text: p.title || p.key }),
      el('span', { class: 'preset-desc', text: p.description || '' }),
      el('span', { class: 'preset-meta' }, [
        el('span', { class: 'chip', text: `${n} run${n === 1 ? '' : 's'}` }),
        p.epochs ? el('span', { class: 'chip', text: `${p.epochs} epochs` }) : null,
      ]),
    ]);
    btn.addEventListener('click', () => launchPreset(p.key, btn));
    box.append(btn);
  }
}

function readPresetEpochs() {
  const raw = $('#preset-epochs').value.trim();
  if (!raw) return { ok: true, value: null };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) return { ok: false, error: 'Epochs override must be a whole number ≥ 1.' };
  return { ok: true, value: n };
}

async function launchPreset(key, btn) {
  const msg = $('#preset-message');
  const epochs = readPresetEpochs();
  if (!epochs.ok) { showMessage(msg, epochs.error, 'error'); return; }
  const body = { preset: key };
  if (epochs.value !== null) body.epochs = epochs.value;
  btn.disabled = true;
  btn.classList.add('busy');
  showMessage(msg, `Launching “${key}”…`, 'info');
  try {
    const study = await api.createStudy(body);
    const runs = study.runs || [];
    runs.forEach((r) => state.runs.set(r.id, r));
    setSelection(runs.map((r) => r.id));
    showMessage(msg, `Launched study #${study.id} “${study.name || key}” with ${runs.length} run${runs.length === 1 ? '' : 's'}` +
      `${epochs.value ? ` (${epochs.value} epochs each)` : ''} — selected for comparison.`, 'ok');
    refreshStudies();
    tickRuns();
  } catch (err) {
    showMessage(msg, `Could not launch “${key}”: ${err.message}`, 'error');
  } finally {
    btn.disabled = false;
    btn.classList.remove('busy');
  }
}

// ---------------------------------------------------------------------------
// Launch form
// ---------------------------------------------------------------------------
const FIELD_INPUTS = {
  name: 'f-name',
  dataset: 'f-dataset',
  'model.hidden': 'f-hidden',
  'model.activation': 'f-activation',
  'model.batchnorm': 'f-batchnorm',
  'optimizer.name': 'f-optimizer',
  'optimizer.lr': 'f-lr',
  'optimizer.momentum': 'f-momentum',
  epochs: 'f-epochs',
  batch_size: 'f-batch-size',
  seed: 'f-seed',
};

function inputForLoc(loc) {
  // Try the longest matching prefix of the path, e.g. model.hidden.0 -> model.hidden
  for (let n = loc.length; n > 0; n--) {
    const key = loc.slice(0, n).join('.');
    if (FIELD_INPUTS[key]) return document.getElementById(FIELD_INPUTS[key]);
  }
  return null;
}

function renderDatasets() {
  const sel = $('#f-dataset');
  const current = sel.value;
  sel.replaceChildren();
  for (const d of state.datasets) {
    const extra = d.num_classes ? ` · ${d.num_classes} classes` : '';
    sel.append(el('option', { value: d.name, text: `${d.title || d.name}${extra}` }));
  }
  if (state.datasets.some((d) => d.name === current)) sel.value = current;
}

function parseHidden(raw) {
  const s = raw.trim();
  if (!s) return { ok: true, value: [] };
  const parts = s.split(/[\s,;x]+/).filter(Boolean);
  const vals = parts.map(Number);
  if (vals.some((v) => !Number.isInteger(v) || v < 1)) {
    return { ok: false, error: `“${raw}” is not a list of positive whole numbers (e.g. 64,32).` };
  }
  return { ok: true, value: vals };
}

/** Read a number input: '' -> undefined (server default), otherwise Number (may be NaN -> sent as given). */
function numField(id) {
  const raw = document.getElementById(id).value.trim();
  if (raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : raw; // let the server reject non-numbers with a proper 422
}

function readLaunchForm() {
  const hidden = parseHidden($('#f-hidden').value);
  if (!hidden.ok) return { ok: false, errors: [{ field: 'model.hidden', loc: ['model', 'hidden'], message: hidden.error }] };
  const optName = $('#f-optimizer').value;
  const optimizer = { name: optName, lr: numField('f-lr') };
  optimizer.momentum = MOMENTUM_OPTIMIZERS.has(optName) ? numField('f-momentum') : 0;
  const body = {
    dataset: $('#f-dataset').value,
    model: {
      kind: 'mlp',
      hidden: hidden.value,
      activation: $('#f-activation').value,
      batchnorm: $('#f-batchnorm').checked,
      dropout: 0,
    },
    optimizer,
    epochs: numField('f-epochs'),
    batch_size: numField('f-batch-size'),
    seed: numField('f-seed'),
  };
  const name = $('#f-name').value.trim();
  if (name) body.name = name;
  // Drop undefined values so the server applies its defaults.
  for (const obj of [body, body.optimizer]) {
    for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k];
  }
  return { ok: true, body };
}

function clearFormErrors() {
  const box = $('#launch-error');
  box.hidden = true;
  box.replaceChildren();
  document.querySelectorAll('#launch-form .invalid').forEach((n) => {
    n.classList.remove('invalid');
    n.removeAttribute('aria-invalid');
  });
}

function showFormErrors(items, heading) {
  const box = $('#launch-error');
  box.replaceChildren(el('strong', { text: heading || 'The run was not launched:' }));
  const list = el('ul');
  for (const it of items) {
    list.append(el('li', {}, [
      it.field ? el('code', { class: 'err-field', text: it.field }) : null,
      it.field ? ' ' : null,
      el('span', { class: 'err-msg', text: it.message }),
    ]));
    const input = it.loc && it.loc.length ? inputForLoc(it.loc) : null;
    if (input) {
      input.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
    }
  }
  box.append(list);
  box.hidden = false;
}

function syncMomentumField() {
  const on = MOMENTUM_OPTIMIZERS.has($('#f-optimizer').value);
  const m = $('#f-momentum');
  m.disabled = !on;
  m.closest('.field').classList.toggle('disabled', !on);
  m.title = on ? '' : 'Momentum only applies to SGD and RMSprop';
}

async function onLaunchSubmit(ev) {
  ev.preventDefault();
  clearFormErrors();
  showMessage($('#launch-ok'), '');
  const parsed = readLaunchForm();
  if (!parsed.ok) { showFormErrors(parsed.errors, 'Please fix the form:'); return; }
  const btn = $('#launch-submit');
  btn.disabled = true;
  try {
    const run = await api.createRun(parsed.body);
    state.runs.set(run.id, run);
    addToSelection(run.id);
    showMessage($('#launch-ok'), `Launched run #${run.id} “${runLabel(run)}” — added to the comparison.`, 'ok');
    tickRuns();
  } catch (err) {
    const items = err instanceof ApiError ? ApiError.items(err.detail) : [];
    showFormErrors(items.length ? items : [{ field: null, loc: [], message: err.message }],
      `The server rejected the run${err.status ? ` (HTTP ${err.status})` : ''}:`);
  } finally {
    btn.disabled = false;
  }
}

// ---------------------------------------------------------------------------
// Runs table
// ---------------------------------------------------------------------------
function statusBadge(status) {
  return el('span', { class: `badge badge-${status}`, text: status });
}

function progressInfo(run) {
  const total = run.epochs || (run.config && run.config.epochs) || 0;
  const done = run.epochs_done || 0;
  const frac = total ? Math.min(1, done / total) : 0;
  return { total, done, frac };
}

function buildRunRow(id) {
  const tr = el('tr', { dataset: { runId: String(id) } });
  const cb = el('input', { type: 'checkbox', class: 'select-run', 'aria-label': `Compare run ${id}` });
  cb.addEventListener('change', () => toggleSelected(id, cb.checked));
  tr.append(
    el('td', { class: 'col-select' }, [cb]),
    el('td', { class: 'name' }, [
      el('div', { class: 'run-name' }),
      el('div', { class: 'run-sub muted' }),
    ]),
    el('td', { class: 'status' }),
    el('td', { class: 'progress' }, [
      el('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0 }, [el('div', { class: 'bar-fill' })]),
      el('span', { class: 'bar-text' }),
    ]),
    el('td', { class: 'num params' }),
    el('td', { class: 'num acc' }),
    el('td', { class: 'device' }),
    el('td', { class: 'col-actions actions' }),
  );
  return tr;
}

function updateRunRow(tr, run) {
  const id = run.id;
  const selected = state.selected.has(id);
  const cb = $('.select-run', tr);
  if (cb.checked !== selected) cb.checked = selected;
  tr.classList.toggle('selected', selected);

  setText($('.run-name', tr), runLabel(run));
  $('.run-name', tr).title = runLabel(run);
  const sub = [`#${id}`];
  if (run.study_id !== null && run.study_id !== undefined) sub.push(`study ${run.study_id}`);
  if (run.name && run.config && describeConfig(run.config) !== run.name) sub.push(describeConfig(run.config));
  if (run.dataset) sub.push(run.dataset);
  setText($('.run-sub', tr), sub.join(' · '));

  const stTd = $('td.status', tr);
  if (stTd.dataset.status !== run.status || stTd.dataset.error !== (run.error || '')) {
    stTd.dataset.status = run.status;
    stTd.dataset.error = run.error || '';
    stTd.replaceChildren(statusBadge(run.status));
    if (run.error) stTd.append(el('div', { class: 'run-error', title: run.error, text: run.error }));
  }

  const { total, done, frac } = progressInfo(run);
  const bar = $('.bar', tr);
  bar.setAttribute('aria-valuemax', String(total));
  bar.setAttribute('aria-valuenow', String(done));
  bar.className = `bar bar-${run.status}`;
  $('.bar-fill', tr).style.width = `${(frac * 100).toFixed(1)}%`;
  setText($('.bar-text', tr), `${done}/${total || '?'}`);

  setText($('td.params', tr), fmtInt(run.param_count));
  const acc = run.final_test_acc ?? latestAcc(id);
  setText($('td.acc', tr), fmtPct(acc));
  setText($('td.device', tr), run.device || '—');

  const actTd = $('td.actions', tr);
  const want = ACTIVE.has(run.status) ? 'cancel' : 'delete';
  if (actTd.dataset.action !== want) {
    actTd.dataset.action = want;
    const btn = want === 'cancel'
      ? el('button', { type: 'button', class: 'btn btn-small btn-warn', 'data-action': 'cancel', text: 'Cancel' })
      : el('button', { type: 'button', class: 'btn btn-small btn-ghost', 'data-action': 'delete', text: 'Delete' });
    btn.addEventListener('click', () => (want === 'cancel' ? cancelRun(id, btn) : deleteRun(id, btn)));
    actTd.replaceChildren(btn);
  }
}

function latestAcc(id) {
  const s = state.series.get(id);
  if (!s) return null;
  for (let i = s.acc.length - 1; i >= 0; i--) if (s.acc[i] !== null && s.acc[i] !== undefined) return s.acc[i];
  return null;
}

function renderRunsTable() {
  const body = $('#runs-body');
  if (!state.listedIds.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, [
      el('td', { colspan: 8 }, [
        state.runsLoaded ? 'No runs yet — launch a notebook comparison above.' : 'Loading runs…',
      ]),
    ]));
    return;
  }
  const existing = new Map();
  body.querySelectorAll('tr[data-run-id]').forEach((tr) => existing.set(Number(tr.dataset.runId), tr));
  body.querySelectorAll('tr.empty-row').forEach((tr) => tr.remove());
  let prev = null;
  for (const id of state.listedIds) {
    let tr = existing.get(id);
    if (!tr) tr = buildRunRow(id);
    existing.delete(id);
    updateRunRow(tr, state.runs.get(id));
    // keep DOM order equal to listedIds without moving rows unnecessarily
    const expectedNext = prev ? prev.nextSibling : body.firstChild;
    if (expectedNext !== tr) body.insertBefore(tr, expectedNext);
    prev = tr;
  }
  existing.forEach((tr) => tr.remove());
}

function renderRunsSummary(total) {
  const counts = {};
  for (const id of state.listedIds) {
    const st = state.runs.get(id).status;
    counts[st] = (counts[st] || 0) + 1;
  }
  const parts = [`${total} run${total === 1 ? '' : 's'}`];
  for (const st of ['running', 'queued', 'completed', 'failed', 'cancelled']) {
    if (counts[st]) parts.push(`${counts[st]} ${st}`);
  }
  if (total > state.listedIds.length) parts.push(`showing newest ${state.listedIds.length}`);
  setText($('#runs-summary'), parts.join(' · '));
}

async function cancelRun(id, btn) {
  btn.disabled = true;
  try {
    const run = await api.cancelRun(id);
    if (run && run.id) state.runs.set(run.id, run);
    showRunsError(null);
    tickRuns();
  } catch (err) {
    showRunsError(`Could not cancel run #${id}: ${err.message}`);
    btn.disabled = false;
  }
}

async function deleteRun(id, btn) {
  btn.disabled = true;
  try {
    await api.deleteRun(id);
    forgetRun(id);
    showRunsError(null);
    renderRunsTable();
    tickRuns();
  } catch (err) {
    showRunsError(`Could not delete run #${id}: ${err.message}`);
    btn.disabled = false;
  }
}

function forgetRun(id) {
  state.runs.delete(id);
  state.series.delete(id);
  state.listedIds = state.listedIds.filter((x) => x !== id);
  if (state.selected.delete(id)) onSelectionChanged();
}

function showRunsError(text) {
  const box = $('#runs-error');
  box.hidden = !text;
  box.textContent = text || '';
}

// ---------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------
function toggleSelected(id, on) {
  if (on) state.selected.add(id); else state.selected.delete(id);
  onSelectionChanged();
}

function addToSelection(id) {
  state.selected.add(id);
  onSelectionChanged();
}

function setSelection(ids) {
  state.selected = new Set(ids);
  onSelectionChanged();
}

function onSelectionChanged() {
  saveSelection();
  $('#clear-selection').disabled = state.selected.size === 0;
  renderRunsTable();
  charts.sync();
  renderCompareTable();
  tickMetrics();
}

/** Selected ids in a stable order (oldest first), used for trace order + colours. */
function selectedOrder() {
  return [...state.selected].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------
// Charts (Plotly)
// ---------------------------------------------------------------------------
const CHART_FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['lasso2d', 'select2d', 'autoScale2d'] };

/** Planned epoch count of the selected runs, so curves grow into a fixed x range. */
function plannedEpochs(ids) {
  let max = 0;
  for (const id of ids) {
    const run = state.runs.get(id);
    const planned = run ? (run.epochs || (run.config && run.config.epochs) || 0) : 0;
    const seen = state.series.has(id) ? state.series.get(id).lastEpoch : 0;
    max = Math.max(max, planned, seen);
  }
  return max;
}

function epochAxis(ids) {
  const n = plannedEpochs(ids || []);
  if (!n) return { autorange: true, tickformat: 'd' };
  return { range: [0.7, n + 0.3], autorange: false, tick0: 1, dtick: Math.max(1, Math.ceil(n / 12)) };
}

/** Layout used while nothing is selected: no axes, a centred hint. */
function emptyLayout(hint) {
  return {
    font: { family: CHART_FONT, size: 13, color: '#6b7280' },
    paper_bgcolor: '#ffffff', plot_bgcolor: '#ffffff',
    margin: { l: 10, r: 10, t: 10, b: 10 },
    xaxis: { visible: false }, yaxis: { visible: false },
    annotations: [{ text: hint, showarrow: false, xref: 'paper', yref: 'paper', x: 0.5, y: 0.5 }],
  };
}

function baseLayout(extra = {}) {
  return {
    font: { family: CHART_FONT, size: 12, color: '#1f2937' },
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    margin: { l: 56, r: 16, t: 12, b: 44 },
    hovermode: 'x unified',
    showlegend: true,
    legend: { orientation: 'h', x: 0, xanchor: 'left', y: -0.22, yanchor: 'top', font: { size: 12 } },
    xaxis: { title: { text: 'epoch' }, gridcolor: '#eef0f3', zeroline: false, ...epochAxis(charts.order) },
    yaxis: { gridcolor: '#eef0f3', zeroline: false },
    ...extra,
  };
}

const charts = {
  ready: false,
  order: [],              // run ids in trace order for loss/acc charts
  chain: Promise.resolve(),
  finalSig: '',
  labelSig: '',
  epochSig: 0,

  available() { return typeof window.Plotly !== 'undefined'; },

  /** Serialise all Plotly operations so react/extend never interleave. */
  enqueue(fn) {
    this.chain = this.chain.then(fn).catch((err) => console.error('chart error', err));
    return this.chain;
  },

  init() {
    if (!this.available()) {
      for (const id of ['chart-loss', 'chart-acc', 'chart-final']) {
        document.getElementById(id).replaceChildren(el('p', { class: 'chart-missing', text: 'Plotly failed to load (/vendor/plotly.min.js).' }));
      }
      return;
    }
    this.ready = true;
    this.sync();
  },

  lineTraces(ids, key) {
    const labels = traceLabels(ids);
    return ids.map((id, i) => {
      const s = getSeries(id);
      return {
        type: 'scatter', mode: 'lines+markers', name: labels[i],
        x: s.epochs.slice(), y: s[key].slice(),
        line: { color: PALETTE[i % PALETTE.length], width: 2 },
        marker: { size: 5 },
        connectgaps: true,
        meta: id,
        hovertemplate: key === 'acc' ? '%{y:.2%}' : '%{y:.4f}',
      };
    });
  },

  lossLayout() {
    return baseLayout({ yaxis: { title: { text: 'train loss' }, gridcolor: '#eef0f3', zeroline: false }, uirevision: 'loss' });
  },

  accLayout() {
    return baseLayout({ yaxis: { title: { text: 'test accuracy' }, gridcolor: '#eef0f3', zeroline: false, tickformat: '.0%' }, uirevision: 'acc' });
  },

  finalData(ids) {
    const labels = traceLabels(ids).map(wrapLabel);
    const y = ids.map((id) => finalAcc(id));
    return {
      type: 'bar', x: labels, y,
      marker: { color: ids.map((_, i) => PALETTE[i % PALETTE.length]) },
      text: y.map((v) => (v === null ? '' : fmtPct(v))),
      textposition: 'outside', cliponaxis: false,
      hovertemplate: '%{y:.2%}<extra></extra>',
    };
  },

  finalLayout() {
    return baseLayout({
      showlegend: false, hovermode: 'closest',
      margin: { l: 56, r: 16, t: 20, b: 90 },
      xaxis: { automargin: true, tickangle: 0, gridcolor: '#ffffff' },
      yaxis: { title: { text: 'test accuracy' }, tickformat: '.0%', range: [0, 1.08], gridcolor: '#eef0f3', zeroline: false },
      uirevision: 'final',
    });
  },

  /** Full (re)build — only when the selection changes. */
  sync() {
    if (!this.ready) return;
    this.enqueue(async () => {
      const ids = selectedOrder();
      this.order = ids;
      this.labelSig = JSON.stringify(traceLabels(ids));
      this.epochSig = plannedEpochs(ids);
      const empty = ids.length === 0;
      const hint = 'Select runs in the table to compare them';
      await Plotly.react('chart-loss', this.lineTraces(ids, 'loss'), empty ? emptyLayout(hint) : this.lossLayout(), PLOT_CONFIG);
      await Plotly.react('chart-acc', this.lineTraces(ids, 'acc'), empty ? emptyLayout(hint) : this.accLayout(), PLOT_CONFIG);
      const fd = this.finalData(ids);
      this.finalSig = JSON.stringify([fd.x, fd.y]);
      await Plotly.react('chart-final', empty ? [] : [fd], empty ? emptyLayout(hint) : this.finalLayout(), PLOT_CONFIG);
      setChartsEmpty(empty);
    });
  },

  /** Append new epochs for one run (called inside the queue, see appendMetrics). */
  async extend(id, epochs, loss, acc) {
    if (!this.ready) return;
    const idx = this.order.indexOf(id);
    if (idx < 0 || !epochs.length) return;
    await Plotly.extendTraces('chart-loss', { x: [epochs], y: [loss] }, [idx]);
    await Plotly.extendTraces('chart-acc', { x: [epochs], y: [acc] }, [idx]);
  },

  /** Legend names can change after selection (run details arrive later) — restyle names only. */
  refreshLabels() {
    if (!this.ready) return;
    this.enqueue(async () => {
      const ids = this.order;
      if (!ids.length) return;
      const labels = traceLabels(ids);
      const sig = JSON.stringify(labels);
      if (sig === this.labelSig) return;
      this.labelSig = sig;
      const idx = ids.map((_, i) => i);
      await Plotly.restyle('chart-loss', { name: labels }, idx);
      await Plotly.restyle('chart-acc', { name: labels }, idx);
    });
  },

  /** Planned epochs may only be known after selection (or grow): adjust the x range only. */
  refreshAxes() {
    if (!this.ready) return;
    this.enqueue(async () => {
      const ids = this.order;
      if (!ids.length) return;
      const n = plannedEpochs(ids);
      if (n === this.epochSig) return;
      this.epochSig = n;
      const ax = epochAxis(ids);
      const upd = {};
      for (const [k, v] of Object.entries(ax)) upd[`xaxis.${k}`] = v;
      await Plotly.relayout('chart-loss', upd);
      await Plotly.relayout('chart-acc', upd);
    });
  },

  /** Cheap in-place update of the bar chart values (no re-creation). */
  refreshFinal() {
    if (!this.ready) return;
    this.enqueue(async () => {
      const ids = this.order;
      if (!ids.length) return;
      const fd = this.finalData(ids);
      const sig = JSON.stringify([fd.x, fd.y]);
      if (sig === this.finalSig) return;
      this.finalSig = sig;
      await Plotly.restyle('chart-final', { x: [fd.x], y: [fd.y], text: [fd.text], 'marker.color': [fd.marker.color] }, [0]);
    });
  },
};

/** Break long legend/axis labels onto two lines for the bar chart. */
function wrapLabel(label) {
  const i = label.indexOf(', ');
  return i > 0 ? `${label.slice(0, i)}<br>${label.slice(i + 2)}` : label;
}

function setChartsEmpty(empty) {
  document.querySelectorAll('.chart-box').forEach((b) => b.classList.toggle('is-empty', empty));
  const n = state.selected.size;
  setText($('#compare-summary'), empty
    ? 'Tick runs in the table (or launch a notebook comparison) to compare them.'
    : `Comparing ${n} run${n === 1 ? '' : 's'}. Curves update live while runs train.`);
}

function finalAcc(id) {
  const run = state.runs.get(id);
  if (run && run.final_test_acc !== null && run.final_test_acc !== undefined) return run.final_test_acc;
  return latestAcc(id);
}

// ---------------------------------------------------------------------------
// Metrics (incremental)
// ---------------------------------------------------------------------------
function needsMetrics(id) {
  const s = getSeries(id);
  if (s.inflight) return false;
  if (!s.done) return true; // not loaded yet, or still active
  const run = state.runs.get(id);
  return !!run && ACTIVE.has(run.status);
}

async function fetchMetrics(id) {
  const s = getSeries(id);
  s.inflight = true;
  try {
    const res = await api.metrics(id, s.lastEpoch);
    await charts.enqueue(() => appendMetrics(id, res));
  } catch (err) {
    if (err.status === 404) {
      forgetRun(id);
      renderRunsTable();
    }
  } finally {
    s.inflight = false;
  }
}

/** Runs inside the chart queue: de-duplicate by epoch, store, extend traces. */
async function appendMetrics(id, res) {
  const s = state.series.get(id);
  if (!s) return; // run was forgotten meanwhile
  const rows = (res.data || []).filter((m) => m.epoch > s.lastEpoch).sort((a, b) => a.epoch - b.epoch);
  const ep = [];
  const loss = [];
  const acc = [];
  for (const m of rows) {
    s.epochs.push(m.epoch); s.loss.push(m.train_loss ?? null); s.acc.push(m.test_acc ?? null);
    s.seconds += m.seconds || 0;
    s.lastEpoch = m.epoch;
    ep.push(m.epoch); loss.push(m.train_loss ?? null); acc.push(m.test_acc ?? null);
  }
  // Done once the metrics endpoint itself reports a terminal status (then all epochs are in).
  s.done = TERMINAL.has(res.status);
  if (ep.length) await charts.extend(id, ep, loss, acc);
}

let metricsTicking = false;
let metricsPending = false;
async function tickMetrics() {
  if (metricsTicking) { metricsPending = true; return; }
  metricsTicking = true;
  try {
    const ids = selectedOrder().filter(needsMetrics);
    await Promise.all(ids.map(fetchMetrics));
    charts.refreshLabels();
    charts.refreshAxes();
    charts.refreshFinal();
    renderCompareTable();
  } finally {
    metricsTicking = false;
    if (metricsPending) { metricsPending = false; tickMetrics(); }
  }
}

// ---------------------------------------------------------------------------
// Comparison summary table
// ---------------------------------------------------------------------------
function renderCompareTable() {
  const body = $('#compare-body');
  const ids = selectedOrder();
  if (!ids.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, [el('td', { colspan: 6, text: 'No runs selected.' })]));
    return;
  }
  const labels = traceLabels(ids);
  const rows = ids.map((id, i) => {
    const run = state.runs.get(id) || {};
    const s = getSeries(id);
    const best = run.best_test_acc ?? (s.acc.filter((v) => v !== null).reduce((a, b) => Math.max(a, b), -Infinity));
    return el('tr', { dataset: { runId: String(id) } }, [
      el('td', { class: 'name', title: labels[i] }, [
        el('span', { class: 'swatch', style: `background:${PALETTE[i % PALETTE.length]}` }),
        el('span', { text: labels[i] }),
      ]),
      el('td', {}, [run.status ? statusBadge(run.status) : '—']),
      el('td', { class: 'num', text: fmtInt(run.param_count) }),
      el('td', { class: 'num', text: fmtPct(finalAcc(id), 2) }),
      el('td', { class: 'num', text: fmtPct(Number.isFinite(best) ? best : null, 2) }),
      el('td', { class: 'num', text: s.epochs.length ? fmtSeconds(s.seconds) : '—' }),
    ]);
  });
  body.replaceChildren(...rows);
}

// ---------------------------------------------------------------------------
// Studies picker
// ---------------------------------------------------------------------------
function renderStudies() {
  const sel = $('#study-select');
  const current = sel.value;
  const opts = [el('option', { value: '', text: 'Choose a study…' })];
  for (const st of state.studies) {
    const n = (st.run_ids || []).length;
    opts.push(el('option', { value: String(st.id), text: `#${st.id} ${st.name || st.preset || 'study'} (${n} run${n === 1 ? '' : 's'})` }));
  }
  sel.replaceChildren(...opts);
  if ([...sel.options].some((o) => o.value === current)) sel.value = current;
}

async function refreshStudies() {
  try {
    const res = await api.listStudies();
    const data = (res && res.data) || [];
    const sig = JSON.stringify(data.map((s) => [s.id, s.name, (s.run_ids || []).length]));
    if (sig !== refreshStudies.sig) {
      refreshStudies.sig = sig;
      state.studies = data;
      renderStudies();
    }
  } catch { /* non-critical */ }
}

function onStudyPicked() {
  const id = Number($('#study-select').value);
  const st = state.studies.find((s) => s.id === id);
  if (st) setSelection(st.run_ids || []);
}

// ---------------------------------------------------------------------------
// Runs polling
// ---------------------------------------------------------------------------
let runsTicking = false;
let runsPending = false;

async function tickRuns() {
  if (runsTicking) { runsPending = true; return; }
  runsTicking = true;
  try {
    const res = await api.listRuns({ limit: RUNS_LIMIT, offset: 0 });
    const data = (res && res.data) || [];
    const listed = new Set();
    for (const r of data) { state.runs.set(r.id, r); listed.add(r.id); }
    // drop runs that disappeared (deleted elsewhere) unless selected (they may be beyond the page)
    for (const id of state.listedIds) if (!listed.has(id) && !state.selected.has(id)) state.runs.delete(id);
    state.listedIds = data.map((r) => r.id);
    state.runsLoaded = true;
    showRunsError(null);
    await ensureSelectedKnown(listed);
    renderRunsTable();
    renderRunsSummary(res && typeof res.count === 'number' ? res.count : data.length);
    await tickMetrics();
  } catch (err) {
    showRunsError(`Could not load runs: ${err.message}`);
  } finally {
    runsTicking = false;
    if (runsPending) { runsPending = false; tickRuns(); }
  }
}

/** Selected runs that are not on the first page: fetch them individually (or drop them if gone). */
async function ensureSelectedKnown(listed) {
  const missing = [...state.selected].filter((id) => !listed.has(id));
  if (!missing.length) return;
  let changed = false;
  await Promise.all(missing.map(async (id) => {
    const known = state.runs.get(id);
    if (known && TERMINAL.has(known.status) && getSeries(id).done) return;
    try {
      state.runs.set(id, await api.getRun(id));
    } catch (err) {
      if (err.status === 404) {
        state.selected.delete(id);
        state.series.delete(id);
        state.runs.delete(id);
        changed = true;
      }
    }
  }));
  if (changed) onSelectionChanged();
}

function loop(fn, ms) {
  const run = async () => {
    try { await fn(); } finally { setTimeout(run, ms); }
  };
  run();
}

// ---------------------------------------------------------------------------
// Boot
// ---------------------------------------------------------------------------
async function loadStatic() {
  const [presets, datasets] = await Promise.allSettled([api.presets(), api.datasets()]);
  if (presets.status === 'fulfilled') {
    state.presets = (presets.value && presets.value.data) || [];
    renderPresets();
  } else {
    $('#presets').replaceChildren(el('p', { class: 'error-text', text: `Could not load presets: ${presets.reason.message}` }));
  }
  if (datasets.status === 'fulfilled') {
    state.datasets = (datasets.value && datasets.value.data) || [];
    if (state.datasets.length) renderDatasets();
  }
}

function bindEvents() {
  $('#launch-form').addEventListener('submit', onLaunchSubmit);
  $('#launch-form').addEventListener('input', (ev) => {
    if (ev.target.classList.contains('invalid')) {
      ev.target.classList.remove('invalid');
      ev.target.removeAttribute('aria-invalid');
    }
  });
  $('#f-optimizer').addEventListener('change', syncMomentumField);
  $('#clear-selection').addEventListener('click', () => { $('#study-select').value = ''; setSelection([]); });
  $('#study-select').addEventListener('change', onStudyPicked);
  $('#preset-epochs').addEventListener('input', () => showMessage($('#preset-message'), ''));
}

async function boot() {
  loadSelection();
  bindEvents();
  syncMomentumField();
  charts.init();
  renderCompareTable();
  $('#clear-selection').disabled = state.selected.size === 0;
  loop(pollHealth, HEALTH_POLL_MS);
  loadStatic();
  loop(refreshStudies, STUDIES_POLL_MS);
  // wait a moment for the very first runs response before scheduling the steady loop
  loop(tickRuns, RUNS_POLL_MS);
}

// Expose a tiny debug handle for tests and the later run-detail pass.
window.trainboard = { state, charts, api, tickRuns, setSelection };

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
