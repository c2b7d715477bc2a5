/* Launching: one button per notebook comparison, and the single-run form. */
import { api, ApiError } from './api.js';
import { runLabel } from './labels.js';
import { addToSelection, hooks, setSelection, state } from './state.js';
import { $, el, plural, showMessage } from './util.js';

const MOMENTUM_OPTIMIZERS = new Set(['sgd', 'rmsprop']);
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
  repeats: 'f-repeats',
};

export function renderPresets() {
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
        el('span', { class: 'chip', text: plural(n, 'run') }),
        el('span', { class: 'chip preset-epochs', 'data-epochs': p.epochs || '' }),
      ]),
    ]);
    btn.addEventListener('click', () => launchPreset(p.key, btn));
    box.append(btn);
  }
  syncPresetEpochs();
}

/** The cards' epochs chip: the override box's value when it holds a valid one, else each preset's own. */
function syncPresetEpochs() {
  const epochs = readPresetEpochs();
  for (const chip of document.querySelectorAll('#presets .preset-epochs')) {
    const own = Number(chip.dataset.epochs) || null;
    const text = epochs.ok && epochs.value !== null ? `${plural(epochs.value, 'epoch')} (override)` : own ? plural(own, 'epoch') : '';
    chip.textContent = text;
    chip.hidden = !text;
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
  const seeds = Number($('#preset-seeds').value || 1);
  btn.disabled = true;
  btn.classList.add('busy');
  showMessage(msg, `Launching “${key}”…`, 'info');
  try {
    // Several seeds: every run of the preset repeated with seeds 0..n-1 (trained together
    // in one batched pass); runs that differ only by seed draw as one mean ± std band.
    const study = await api.createStudy(seeds > 1 ? { ...body, repeats: seeds, seed: 0 } : body);
    const ids = (study.runs || []).map((r) => { state.runs.set(r.id, r); return r.id; });
    const first = study;
    setSelection(ids);
    showMessage(msg, `Launched study #${first.id} “${first.name || key}” with ${plural(ids.length, 'run')}` +
      `${seeds > 1 ? ` over ${plural(seeds, 'seed')}` : ''}${epochs.value ? ` (${plural(epochs.value, 'epoch')} each)` : ''} — selected for comparison.`, 'ok');
    hooks.refreshHealth();
    hooks.refreshStudies();
    hooks.refreshRuns();
  } catch (err) {
    showMessage(msg, `Could not launch “${key}”: ${err.message}`, 'error');
  } finally {
    btn.disabled = false;
    btn.classList.remove('busy');
  }
}

function inputForLoc(loc) {
  // The longest matching prefix of the path, e.g. model.hidden.0 -> model.hidden
  for (let n = loc.length; n > 0; n--) {
    const key = loc.slice(0, n).join('.');
    if (FIELD_INPUTS[key]) return document.getElementById(FIELD_INPUTS[key]);
  }
  return null;
}

export function renderDatasets() {
  for (const sel of [$('#f-dataset'), $('#filter-dataset')]) {
    const current = sel.value;
    const keepFirst = sel.id === 'filter-dataset' ? [el('option', { value: '', text: 'Any dataset' })] : [];
    sel.replaceChildren(...keepFirst, ...state.datasets.map((d) => el('option', {
      value: d.name, text: sel.id === 'filter-dataset' ? d.name : `${d.title || d.name}`,
    })));
    if ([...sel.options].some((o) => o.value === current)) sel.value = current;
  }
}

function parseHidden(raw) {
  const s = raw.trim();
  if (!s) return { ok: true, value: [] };
  const vals = s.split(/[\s,;x]+/).filter(Boolean).map(Number);
  if (vals.some((v) => !Number.isInteger(v) || v < 1)) {
    return { ok: false, error: `“${raw}” is not a list of positive whole numbers (e.g. 64,32).` };
  }
  return { ok: true, value: vals };
}

/** '' -> undefined (server default); a non-number is sent as typed so the server names it. */
function numField(id) {
  const raw = document.getElementById(id).value.trim();
  if (raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : raw;
}

function readLaunchForm() {
  const hidden = parseHidden($('#f-hidden').value);
  if (!hidden.ok) return { ok: false, errors: [{ field: 'model.hidden', loc: ['model', 'hidden'], message: hidden.error }] };
  const optName = $('#f-optimizer').value;
  const optimizer = { name: optName, lr: numField('f-lr') };
  optimizer.momentum = MOMENTUM_OPTIMIZERS.has(optName) ? numField('f-momentum') : 0;
  const body = {
    dataset: $('#f-dataset').value,
    model: { kind: 'mlp', hidden: hidden.value, activation: $('#f-activation').value,
      batchnorm: $('#f-batchnorm').checked, dropout: 0 },
    optimizer,
    epochs: numField('f-epochs'),
    batch_size: numField('f-batch-size'),
    seed: numField('f-seed'),
    repeats: numField('f-repeats'),
  };
  const name = $('#f-name').value.trim();
  if (name) body.name = name;
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
    const ids = run.repeat_ids && run.repeat_ids.length ? run.repeat_ids : [run.id];
    addToSelection(ids);
    showMessage($('#launch-ok'), ids.length > 1
      ? `Launched runs #${ids[0]}–#${ids[ids.length - 1]} “${runLabel(run)}” (${plural(ids.length, 'seed')}) — added to the comparison.`
      : `Launched run #${run.id} “${runLabel(run)}” — added to the comparison.`, 'ok');
    hooks.refreshHealth();
    hooks.refreshRuns();
  } catch (err) {
    const items = err instanceof ApiError ? ApiError.items(err.detail) : [];
    showFormErrors(items.length ? items : [{ field: null, loc: [], message: err.message }],
      `The server refused the run${err.status ? ` (HTTP ${err.status})` : ''}:`);
  } finally {
    btn.disabled = false;
  }
}

export function bindLaunch() {
  $('#launch-form').addEventListener('submit', onLaunchSubmit);
  $('#launch-form').addEventListener('input', (ev) => {
    if (ev.target.classList.contains('invalid')) {
      ev.target.classList.remove('invalid');
      ev.target.removeAttribute('aria-invalid');
    }
  });
  $('#f-optimizer').addEventListener('change', syncMomentumField);
  $('#preset-epochs').addEventListener('input', () => { showMessage($('#preset-message'), ''); syncPresetEpochs(); });
  syncMomentumField();
}
