/* The runs table: server-side filters and pages, selection, cancel/delete, and the
 * chosen study's tags and notes. */
import { api } from './api.js';
import { describeConfig, runLabel } from './labels.js';
import {
  ACTIVE, addToSelection, finalAcc, forgetRun, hooks, setSelection, state, toggleSelected,
} from './state.js';
import { $, el, fmtInt, fmtPct, setText } from './util.js';

const COLS = 8;

export function statusBadge(status) {
  return el('span', { class: `badge badge-${status}`, text: status });
}

/** A run's badge: a running run whose cancel was asked for (optional API field) reads "cancelling…". */
export function runBadge(run) {
  const badge = statusBadge(run.status);
  if (run.status === 'running' && run.cancel_requested) badge.textContent = 'cancelling…';
  return badge;
}

export function tagChips(tags) {
  return (tags || []).map((t) => el('span', { class: 'tag', text: t }));
}

/** The list request for the current filters and page. */
export function listParams() {
  const f = state.filters;
  return {
    status: f.status, study_id: f.study_id, dataset: f.dataset, tag: f.tag.trim(), q: f.q.trim(),
    limit: state.pageSize, offset: state.page * state.pageSize,
  };
}

function buildRunRow(id) {
  const tr = el('tr', { dataset: { runId: String(id) } });
  const cb = el('input', { type: 'checkbox', class: 'select-run', 'aria-label': `Compare run ${id}` });
  cb.addEventListener('change', () => toggleSelected(id, cb.checked));
  tr.append(
    el('td', { class: 'col-select' }, [cb]),
    el('td', { class: 'name' }, [
      el('a', { class: 'run-name', href: `#/runs/${id}`, title: 'Open run detail' }),
      el('div', { class: 'run-sub muted' }),
      el('div', { class: 'run-tags' }),
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
  const sub = [`#${id}`];
  if (run.study_id !== null && run.study_id !== undefined) sub.push(`study ${run.study_id}`);
  if (run.name && run.config && describeConfig(run.config) !== run.name) sub.push(describeConfig(run.config));
  if (run.dataset) sub.push(run.dataset);
  if (run.config && run.config.seed !== undefined) sub.push(`seed ${run.config.seed}`);
  setText($('.run-sub', tr), sub.join(' · '));
  const tagsBox = $('.run-tags', tr);
  const tagSig = (run.tags || []).join('\u0000');
  if (tagsBox.dataset.sig !== tagSig) {
    tagsBox.dataset.sig = tagSig;
    tagsBox.replaceChildren(...tagChips(run.tags));
  }

  const stTd = $('td.status', tr);
  const statusSig = `${run.status}${run.cancel_requested ? ' cancelling' : ''}`;
  if (stTd.dataset.status !== statusSig || stTd.dataset.error !== (run.error || '')) {
    stTd.dataset.status = statusSig;
    stTd.dataset.error = run.error || '';
    stTd.replaceChildren(runBadge(run));
    if (run.error) stTd.append(el('div', { class: 'run-error', title: run.error, text: run.error }));
  }

  const total = run.epochs || 0;
  const done = run.epochs_done || 0;
  const bar = $('.bar', tr);
  bar.setAttribute('aria-valuemax', String(total));
  bar.setAttribute('aria-valuenow', String(done));
  bar.className = `bar bar-${run.status}`;
  $('.bar-fill', tr).style.width = `${total ? ((100 * Math.min(1, done / total)).toFixed(1)) : 0}%`;
  setText($('.bar-text', tr), `${done}/${total || '?'}`);

  setText($('td.params', tr), fmtInt(run.param_count));
  setText($('td.acc', tr), fmtPct(finalAcc(id)));
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

function filtersActive() {
  return Object.values(state.filters).some((v) => String(v).trim() !== '');
}

export function renderRunsTable() {
  const body = $('#runs-body');
  if (!state.listedIds.length) {
    let text = 'Loading runs…';
    if (state.runsLoaded) {
      text = filtersActive() ? 'No runs match these filters.' : 'No runs yet — launch a notebook comparison or a run of your own.';
    }
    body.replaceChildren(el('tr', { class: 'empty-row' }, [el('td', { colspan: COLS, text })]));
    renderPager();
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
    const expectedNext = prev ? prev.nextSibling : body.firstChild;
    if (expectedNext !== tr) body.insertBefore(tr, expectedNext);
    prev = tr;
  }
  existing.forEach((tr) => tr.remove());
  const all = $('#select-page');
  const onPage = state.listedIds.filter((id) => state.selected.has(id)).length;
  all.checked = onPage > 0 && onPage === state.listedIds.length;
  all.indeterminate = onPage > 0 && onPage < state.listedIds.length;
  renderPager();
}

function renderPager() {
  const n = state.listCount;
  const from = n ? state.page * state.pageSize + 1 : 0;
  const to = Math.min(n, (state.page + 1) * state.pageSize);
  setText($('#runs-summary'), n ? `${from}–${to} of ${fmtInt(n)} run${n === 1 ? '' : 's'}${filtersActive() ? ' matching' : ''} · ${state.selected.size} selected`
    : `${state.selected.size} selected`);
  $('#page-prev').disabled = state.page === 0;
  $('#page-next').disabled = to >= n;
  $('#select-matching').disabled = n === 0;
}

async function cancelRun(id, btn) {
  btn.disabled = true;
  try {
    const run = await api.cancelRun(id);
    if (run && run.id) state.runs.set(run.id, run);
    showRunsError(null);
    hooks.refreshRuns();
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
    hooks.refreshRuns();
  } catch (err) {
    showRunsError(`Could not delete run #${id}: ${err.message}`);
    btn.disabled = false;
  }
}

export function showRunsError(text) {
  const box = $('#runs-error');
  box.hidden = !text;
  box.textContent = text || '';
}

// --- studies: the filter, and the chosen study's tags and notes ---------------------

export function renderStudies() {
  for (const sel of [$('#filter-study'), $('#study-select')]) {
    const current = sel.value;
    const first = sel.id === 'filter-study' ? 'Any study' : 'Choose a study…';
    sel.replaceChildren(el('option', { value: '', text: first }), ...state.studies.map((st) => {
      const n = (st.run_ids || []).length;
      return el('option', { value: String(st.id), text: `#${st.id} ${st.name || st.preset || 'study'} (${n} run${n === 1 ? '' : 's'})` });
    }));
    if ([...sel.options].some((o) => o.value === current)) sel.value = current;
  }
  renderStudyPanel();
}

function renderStudyPanel() {
  const panel = $('#study-panel');
  const st = state.studies.find((s) => String(s.id) === state.filters.study_id);
  panel.hidden = !st;
  if (!st || panel.contains(document.activeElement)) return;
  setText($('#study-panel-title'), `Study #${st.id}: ${st.name}`);
  $('#study-tags').value = (st.tags || []).join(', ');
  $('#study-notes').value = st.notes || '';
}

async function saveStudy() {
  const id = Number(state.filters.study_id);
  const msg = $('#study-message');
  try {
    const st = await api.updateStudy(id, {
      tags: $('#study-tags').value.split(',').map((t) => t.trim()).filter(Boolean),
      notes: $('#study-notes').value,
    });
    state.studies = state.studies.map((s) => (s.id === id ? st : s));
    msg.className = 'inline-msg ok';
    setText(msg, 'Saved.');
  } catch (err) {
    msg.className = 'inline-msg error';
    setText(msg, err.message);
  }
}

export function bindRuns() {
  let timer = null;
  const refilter = () => { state.page = 0; hooks.refreshRuns(); };
  for (const [id, key] of [['filter-status', 'status'], ['filter-study', 'study_id'], ['filter-dataset', 'dataset']]) {
    $(`#${id}`).addEventListener('change', (ev) => { state.filters[key] = ev.target.value; renderStudyPanel(); refilter(); });
  }
  for (const [id, key] of [['filter-tag', 'tag'], ['filter-q', 'q']]) {
    $(`#${id}`).addEventListener('input', (ev) => {
      state.filters[key] = ev.target.value;
      clearTimeout(timer);
      timer = setTimeout(refilter, 250); // one request per pause in typing
    });
  }
  $('#page-prev').addEventListener('click', () => { state.page = Math.max(0, state.page - 1); hooks.refreshRuns(); });
  $('#page-next').addEventListener('click', () => { state.page += 1; hooks.refreshRuns(); });
  $('#select-page').addEventListener('change', (ev) => {
    const ids = state.listedIds;
    if (ev.target.checked) addToSelection(ids);
    else setSelection([...state.selected].filter((id) => !ids.includes(id)));
  });
  $('#select-matching').addEventListener('click', async () => {
    // Everything the filters match (first 200), not only this page.
    try {
      const res = await api.listRuns({ ...listParams(), limit: 200, offset: 0 });
      res.data.forEach((r) => state.runs.set(r.id, r));
      addToSelection(res.data.map((r) => r.id));
    } catch (err) { showRunsError(`Could not select: ${err.message}`); }
  });
  $('#clear-selection').addEventListener('click', () => { $('#study-select').value = ''; setSelection([]); });
  $('#study-save').addEventListener('click', saveStudy);
}
