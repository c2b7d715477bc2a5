/* The page's one mutable store: known runs, the selection, and each run's metric rows. */

const STORAGE_KEY = 'trainboard.selected';
export const ACTIVE = new Set(['queued', 'running']);
export const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'diverged']);
export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2',
  '#db2777', '#4b5563', '#65a30d', '#ea580c', '#0f766e', '#9333ea'];

export const state = {
  runs: new Map(),          // id -> RunPublic (latest known)
  listedIds: [],            // ids on the current page of the runs table (newest first)
  listCount: 0,             // how many runs match the filters in total
  selected: new Set(),      // ids chosen for comparison and the digit pad
  series: new Map(),        // id -> {lastEpoch, rows, done, inflight}
  presets: [],
  datasets: [],
  studies: [],
  runsLoaded: false,
  filters: { status: '', study_id: '', dataset: '', tag: '', q: '' },
  page: 0,
  pageSize: 25,
};

const listeners = new Set();
/** Views subscribe to selection changes; the selection itself lives here. */
export function onSelection(fn) { listeners.add(fn); }

function selectionChanged() {
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify([...state.selected])); } catch { /* ignore */ }
  listeners.forEach((fn) => fn());
}

export function loadSelection() {
  try {
    const ids = JSON.parse(localStorage.getItem(STORAGE_KEY) || '[]');
    if (Array.isArray(ids)) ids.filter(Number.isInteger).forEach((id) => state.selected.add(id));
  } catch { /* ignore */ }
}

export function toggleSelected(id, on) {
  if (on) state.selected.add(id); else state.selected.delete(id);
  selectionChanged();
}

export function setSelection(ids) {
  state.selected = new Set(ids);
  selectionChanged();
}

export function addToSelection(ids) {
  ids.forEach((id) => state.selected.add(id));
  selectionChanged();
}

/** Selected ids in a stable order (oldest first): trace order and colours follow it. */
export function selectedOrder() {
  return [...state.selected].sort((a, b) => a - b);
}

export function getSeries(id) {
  let s = state.series.get(id);
  if (!s) {
    s = { lastEpoch: 0, rows: [], done: false, inflight: false };
    state.series.set(id, s);
  }
  return s;
}

export function forgetRun(id) {
  state.runs.delete(id);
  state.series.delete(id);
  state.listedIds = state.listedIds.filter((x) => x !== id);
  if (state.selected.delete(id)) selectionChanged();
}

export function latestAcc(id) {
  const s = state.series.get(id);
  if (!s) return null;
  for (let i = s.rows.length - 1; i >= 0; i--) if (s.rows[i].test_acc !== null) return s.rows[i].test_acc;
  return null;
}

export function finalAcc(id) {
  const run = state.runs.get(id);
  if (run && run.final_test_acc !== null && run.final_test_acc !== undefined) return run.final_test_acc;
  return latestAcc(id);
}

export function bestAcc(id) {
  const run = state.runs.get(id);
  if (run && run.best_test_acc !== null && run.best_test_acc !== undefined) return run.best_test_acc;
  const accs = (state.series.get(id)?.rows || []).map((r) => r.test_acc).filter((v) => v !== null);
  return accs.length ? Math.max(...accs) : null;
}

export function totalSeconds(id) {
  const rows = state.series.get(id)?.rows || [];
  return rows.length ? rows.reduce((a, r) => a + (r.seconds || 0), 0) : null;
}

/** Refresh functions set by main.js, so views can ask for fresh data without importing it. */
export const hooks = { refreshRuns: () => {}, refreshStudies: () => {}, refreshHealth: () => {} };
