/* Trainboard's page: boot, the hash routes (#/ and #/runs/<id>) and the poll loops.
 *
 * Modules: api (requests, token), state (runs, selection, metric rows), labels, launch
 * (presets and the form), runs (table, filters, pages), compare (charts and table),
 * detail (one run), pad (the digit pad), charts and util (shared helpers). */
import { api } from './api.js';
import { initCompare, loadMetrics, refresh as refreshCompare } from './compare.js';
import { bindDetail, closeDetail, currentDetail, openDetail, refreshDetail } from './detail.js';
import { bindLaunch, renderDatasets, renderPresets } from './launch.js';
import { initPad, padModels, refreshPad } from './pad.js';
import { bindRuns, listParams, renderRunsTable, renderStudies, showRunsError } from './runs.js';
import { hooks, loadSelection, onSelection, selectedOrder, setSelection, state, TERMINAL, getSeries } from './state.js';
import { $, el, setText } from './util.js';

const RUNS_POLL_MS = 1500;
const HEALTH_POLL_MS = 3000;
const STUDIES_POLL_MS = 10000;

// --- health pill ---------------------------------------------------------------------

async function pollHealth() {
  const pill = $('#health');
  const text = $('.pill-text', pill);
  const seq = (pollHealth.seq = (pollHealth.seq || 0) + 1); // a launch asks too: the latest ask wins
  try {
    const h = await api.health();
    if (seq !== pollHealth.seq) return;
    pill.className = `pill ${h.status === 'ok' ? 'pill-ok' : 'pill-warn'}`;
    const running = h.running !== null && h.running !== undefined ? `running #${typeof h.running === 'object' ? h.running.id : h.running}` : 'idle';
    setText(text, [h.device || 'device ?', `queue ${h.queued ?? 0}`, running].join(' · '));
    pill.title = `status: ${h.status}`;
  } catch (err) {
    if (seq !== pollHealth.seq) return;
    pill.className = 'pill pill-bad';
    setText(text, 'API offline');
    pill.title = err.message;
  }
}

// --- runs: the table's page, plus selected runs that are not on it --------------------

let runsTicking = false;
let runsPending = false;

async function tickRuns() {
  if (runsTicking) { runsPending = true; return; }
  runsTicking = true;
  try {
    const res = await api.listRuns(listParams());
    for (const r of res.data) state.runs.set(r.id, r);
    state.listedIds = res.data.map((r) => r.id);
    state.listCount = res.count;
    if (state.page > 0 && !res.data.length && res.count) { state.page = 0; runsPending = true; }
    state.runsLoaded = true;
    showRunsError(null);
    await refreshOffPage(new Set(state.listedIds));
    renderRunsTable();
    await loadMetrics();
    // A run that just completed (weights stored) joins the digit pad's answers.
    const padSig = padModels().map((r) => r.id).join(',');
    if (padSig !== tickRuns.padSig) { tickRuns.padSig = padSig; refreshPad(); }
  } catch (err) {
    showRunsError(`Could not load runs: ${err.message}`);
  } finally {
    runsTicking = false;
    if (runsPending) { runsPending = false; tickRuns(); }
  }
}

/** Selected runs off this page that may still change: one request for all of them. */
async function refreshOffPage(listed) {
  const ids = selectedOrder().filter((id) => !listed.has(id)
    && !(TERMINAL.has(state.runs.get(id)?.status) && getSeries(id).done));
  if (!ids.length) return;
  const res = await api.listRuns({ ids: ids.join(','), limit: 1000 });
  res.data.forEach((r) => state.runs.set(r.id, r));
  const found = new Set(res.data.map((r) => r.id));
  const gone = ids.filter((id) => !found.has(id));
  if (gone.length) setSelection(selectedOrder().filter((id) => !gone.includes(id)));
}

async function refreshStudies() {
  try {
    const res = await api.listStudies();
    const sig = JSON.stringify(res.data);
    if (sig !== refreshStudies.sig) {
      refreshStudies.sig = sig;
      state.studies = res.data;
      renderStudies();
    }
  } catch { /* not critical: the filter keeps its old list */ }
}

// --- routes ----------------------------------------------------------------------------

function route() {
  const m = location.hash.match(/^#\/runs\/(\d+)/);
  const detail = !!m;
  $('#view-dashboard').hidden = detail;
  $('#view-detail').hidden = !detail;
  if (detail) {
    window.scrollTo(0, 0);
    openDetail(Number(m[1]));
  } else {
    closeDetail();
    // Plotly sizes hidden charts at zero width; resize once they are visible again.
    document.querySelectorAll('#view-dashboard .js-plotly-plot').forEach((g) => Plotly.Plots.resize(g));
  }
}

function loop(fn, ms) {
  const run = async () => {
    try { await fn(); } finally { setTimeout(run, ms); }
  };
  run();
}

async function loadStatic() {
  const [presets, datasets] = await Promise.allSettled([api.presets(), api.datasets()]);
  if (presets.status === 'fulfilled') {
    state.presets = presets.value.data || [];
    renderPresets();
  } else {
    $('#presets').replaceChildren(el('p', { class: 'error-text', text: `Could not load presets: ${presets.reason.message}` }));
  }
  if (datasets.status === 'fulfilled') {
    state.datasets = datasets.value.data || [];
    if (state.datasets.length) renderDatasets();
  }
}

function boot() {
  loadSelection();
  hooks.refreshRuns = tickRuns;
  hooks.refreshStudies = refreshStudies;
  hooks.refreshHealth = pollHealth;
  bindLaunch();
  bindRuns();
  bindDetail();
  initCompare();
  initPad();
  onSelection(() => {
    $('#clear-selection').disabled = state.selected.size === 0;
    renderRunsTable();
    refreshCompare();
    refreshPad();
    tickRuns();
  });
  $('#clear-selection').disabled = state.selected.size === 0;
  window.addEventListener('hashchange', route);
  route();
  loop(pollHealth, HEALTH_POLL_MS);
  loadStatic();
  loop(refreshStudies, STUDIES_POLL_MS);
  loop(async () => {
    if (currentDetail() !== null) await refreshDetail();
    else await tickRuns();
  }, RUNS_POLL_MS);
}

// A small handle for the browser tests and for poking around in the console.
window.trainboard = { state, api, tickRuns, setSelection };

boot();
