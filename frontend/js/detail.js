/* One run in full (route #/runs/<id>): config, device, timings, status history, error,
 * curves, the test-split confusion matrix and a gallery of its surest mistakes. */
import { api } from './api.js';
import { emptyLayout, enqueue, FONT, lineLayout, PLOT_CONFIG, plotlyReady } from './charts.js';
import { runLabel } from './labels.js';
import { runBadge, statusBadge, tagChips } from './runs.js';
import { ACTIVE, addToSelection, getSeries, state, TERMINAL } from './state.js';
import { $, drawPixels, el, fmtInt, fmtPct, fmtSeconds, fmtTime, parseTime, saveBlob, setText, showMessage } from './util.js';

const CURVES = [
  { id: 'chart-d-loss', title: 'loss', lines: [['train_loss', 'training', '#2563eb'], ['test_loss', 'test', '#dc2626']] },
  { id: 'chart-d-acc', title: 'accuracy', pct: true, lines: [['train_acc', 'training', '#2563eb'], ['test_acc', 'test', '#dc2626']] },
];

let current = null;     // the run id on screen
let drawnRows = 0;      // epochs already in the curves
let missing = false;    // the run on screen answered 404 (its page is cleared already)
const evaluations = new Map(); // run id -> evaluation (it never changes once stored)
const RUN_BUTTONS = ['#d-clone', '#d-config', '#d-csv', '#d-weights', '#d-save'];

export function currentDetail() { return current; }

export async function openDetail(id) {
  current = id;
  missing = false;
  $('#d-title').textContent = `Run #${id}`;
  $('#d-sub').textContent = 'Loading…';
  showMessage($('#d-message'), '');
  await clearRun('Loading…');
  await refreshDetail(true);
}

/** No run on screen (loading, or it does not exist): nothing from the last one, no actions. */
async function clearRun(hint) {
  drawnRows = -1;
  for (const sel of RUN_BUTTONS) $(sel).disabled = true;
  $('#d-cancel').hidden = true;
  $('#d-error').hidden = true;
  $('#d-error').replaceChildren();
  for (const sel of ['#d-facts', '#d-history', '#d-gallery']) $(sel).replaceChildren();
  delete $('#d-gallery').dataset.run;
  setText($('#d-config-json'), '');
  setText($('#d-eval-note'), '');
  for (const sel of ['#d-name', '#d-tags', '#d-notes']) $(sel).value = '';
  if (plotlyReady()) {
    await enqueue(async () => {
      for (const c of CURVES) await Plotly.react(c.id, [], emptyLayout(hint), PLOT_CONFIG);
      await Plotly.react('chart-d-confusion', [], emptyLayout(hint), PLOT_CONFIG);
    });
  }
}

export function closeDetail() { current = null; }

/** Poll step while the detail is open: the run, its new epochs, and its evaluation once done. */
export async function refreshDetail(first = false) {
  const id = current;
  if (id === null) return;
  let run;
  try {
    run = await api.getRun(id);
  } catch (err) {
    if (id !== current) return;
    setText($('#d-title'), `Run #${id}`);
    setText($('#d-sub'), '');
    showMessage($('#d-message'), err.status === 404 ? `Run #${id} does not exist (deleted?).` : `Could not load run #${id}: ${err.message}`, 'error');
    if (err.status === 404 && !missing) { missing = true; await clearRun('No such run'); }
    return;
  }
  if (id !== current) return;
  state.runs.set(id, run);
  const s = getSeries(id);
  if (!s.done || ACTIVE.has(run.status)) {
    const res = await api.metrics(id, s.lastEpoch);
    for (const m of res.data.filter((r) => r.epoch > s.lastEpoch)) s.rows.push(m);
    if (s.rows.length) s.lastEpoch = s.rows[s.rows.length - 1].epoch;
    s.done = TERMINAL.has(res.status);
  }
  if (id !== current) return;
  renderHeader(run, first);
  await drawCurves(run);
  if (run.has_weights && !evaluations.has(id)) {
    try { evaluations.set(id, await api.evaluation(id)); } catch { /* older run: none stored */ }
  }
  if (id !== current) return;
  await drawEvaluation(run, evaluations.get(id));
}

function dl(pairs) {
  return el('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, [v])]));
}

function renderHeader(run, first) {
  setText($('#d-title'), runLabel(run));
  const sub = $('#d-sub');
  sub.replaceChildren(runBadge(run), ` #${run.id} · ${run.dataset} · ${fmtInt(run.param_count)} parameters`,
    run.study_id ? ` · study ${run.study_id}` : '', ' ', ...tagChips(run.tags));
  const err = $('#d-error');
  err.hidden = !run.error;
  if (run.error) err.replaceChildren(el('strong', { text: `This run ${run.status}: ` }), el('code', { class: 'error-pre', text: run.error }));
  $('#d-cancel').hidden = !ACTIVE.has(run.status);
  for (const sel of ['#d-clone', '#d-config', '#d-csv', '#d-save']) $(sel).disabled = false;
  $('#d-weights').disabled = !run.has_weights;
  $('#d-weights').title = run.has_weights ? 'The final state_dict (torch.load(f, weights_only=True))' : 'Only completed runs keep their weights';

  const created = parseTime(run.created_at); const started = parseTime(run.started_at); const finished = parseTime(run.finished_at);
  const trainSecs = getSeries(run.id).rows.reduce((a, r) => a + (r.seconds || 0), 0);
  $('#d-facts').replaceChildren(dl([
    ['Device', run.device || '—'],
    ['Dataset', `${run.dataset}${run.train_size ? ` (${fmtInt(run.train_size)} train / ${fmtInt(run.test_size)} test)` : ''}`],
    ['Epochs', `${run.epochs_done} of ${run.epochs}`],
    ['Final test acc', fmtPct(run.final_test_acc, 2)],
    ['Best test acc', fmtPct(run.best_test_acc, 2)],
    ['Waited in queue', started ? fmtSeconds((started - created) / 1000) : '—'],
    ['Wall-clock', started ? fmtSeconds(((finished || new Date()) - started) / 1000) + (finished ? '' : ' so far') : '—'],
    ['Training time', trainSecs ? `${fmtSeconds(trainSecs)} (sum of epochs)` : '—'],
  ]));
  const history = [['queued', run.created_at, '']];
  if (run.started_at) history.push(['running', run.started_at, run.device ? `on ${run.device}` : '']);
  if (run.finished_at) history.push([run.status, run.finished_at, run.error ? run.error.split('\n')[0] : '']);
  $('#d-history').replaceChildren(...history.map(([st, at, note]) => el('li', {}, [
    statusBadge(st), el('time', { text: fmtTime(at) }), note ? el('span', { class: 'muted history-note', text: note }) : null,
  ])));
  setText($('#d-config-json'), JSON.stringify(run.config, null, 2));
  const editing = $('#d-annotate').contains(document.activeElement);
  if (first || !editing) {
    $('#d-name').value = run.name;
    $('#d-tags').value = (run.tags || []).join(', ');
    $('#d-notes').value = run.notes || '';
  }
}

async function drawCurves(run) {
  if (!plotlyReady()) return;
  const rows = getSeries(run.id).rows;
  await enqueue(async () => {
    if (drawnRows >= 0 && rows.length === drawnRows) return;
    if (drawnRows > 0) {
      const fresh = rows.slice(drawnRows);
      for (const c of CURVES) {
        await Plotly.extendTraces(c.id, { x: c.lines.map(() => fresh.map((r) => r.epoch)), y: c.lines.map(([k]) => fresh.map((r) => r[k])) }, c.lines.map((_, i) => i));
      }
    } else {
      for (const c of CURVES) {
        const traces = c.lines.map(([k, name, color]) => ({
          type: 'scatter', mode: 'lines+markers', name, x: rows.map((r) => r.epoch), y: rows.map((r) => r[k]),
          line: { color, width: 2 }, marker: { size: 5 }, hovertemplate: c.pct ? '%{y:.2%}' : '%{y:.4f}',
        }));
        const layout = rows.length || ACTIVE.has(run.status)
          ? lineLayout({ xTitle: 'epoch', yTitle: c.title, pct: c.pct, xRange: [0.5, run.epochs + 0.5], legend: true, uirevision: run.id })
          : emptyLayout('No epochs were recorded');
        await Plotly.react(c.id, traces, layout, PLOT_CONFIG);
      }
    }
    drawnRows = rows.length;
  });
}

async function drawEvaluation(run, ev) {
  const gallery = $('#d-gallery');
  const note = $('#d-eval-note');
  if (!ev) {
    setText(note, run.status === 'completed' ? 'This run finished before evaluations were stored.' : 'Computed once when the run completes.');
    if (plotlyReady()) await enqueue(() => Plotly.react('chart-d-confusion', [], emptyLayout(ACTIVE.has(run.status) ? 'Available when the run completes' : 'No evaluation stored'), PLOT_CONFIG));
    gallery.replaceChildren(el('p', { class: 'muted', text: 'No misclassified digits to show.' }));
    return;
  }
  if (gallery.dataset.run === String(run.id)) return; // drawn already; it never changes
  gallery.dataset.run = String(run.id);
  const wrong = ev.test_size - ev.confusion.reduce((a, row, i) => a + row[i], 0);
  setText(note, `${fmtInt(ev.test_size)} test digits, ${fmtInt(wrong)} wrong (accuracy ${fmtPct(ev.accuracy, 2)}). Showing the ${ev.misclassified.length} mistakes the model was surest about.`);
  const labels = ev.confusion.map((_, i) => String(i));
  if (plotlyReady()) {
    await enqueue(() => Plotly.react('chart-d-confusion', [{
      type: 'heatmap', z: ev.confusion, x: labels, y: labels, showscale: false,
      colorscale: [[0, '#f8fafc'], [0.15, '#dbeafe'], [1, '#1d4ed8']],
      texttemplate: '%{z}', textfont: { size: 11 }, xgap: 1, ygap: 1,
      hovertemplate: 'true %{y}, predicted %{x}: %{z}<extra></extra>',
    }], {
      font: { family: FONT, size: 12, color: '#1f2937' }, paper_bgcolor: '#fff', plot_bgcolor: '#fff',
      margin: { l: 56, r: 10, t: 10, b: 48 },
      xaxis: { title: { text: 'predicted' }, type: 'category', side: 'bottom' },
      yaxis: { title: { text: 'true' }, type: 'category', autorange: 'reversed' },
    }, PLOT_CONFIG));
  }
  const [side] = ev.image_shape;
  gallery.replaceChildren(...ev.misclassified.map((m) => {
    const c = el('canvas', { class: 'digit', 'aria-label': `test digit ${m.index}: true ${m.true}, predicted ${m.predicted}` });
    drawPixels(c, m.pixels, side);
    return el('figure', { class: 'mistake', title: `test index ${m.index}` }, [
      c, el('figcaption', {}, [el('span', { class: 'true', text: `${m.true}` }), ' → ', el('span', { class: 'pred', text: `${m.predicted}` }), el('span', { class: 'prob muted', text: ` ${fmtPct(m.probability, 0)}` })]),
    ]);
  }));
  if (!ev.misclassified.length) gallery.replaceChildren(el('p', { class: 'muted', text: 'No test digit was misclassified.' }));
}

async function action(fn) {
  const msg = $('#d-message');
  try { await fn(); } catch (err) { showMessage(msg, err.message, 'error'); }
}

export function bindDetail() {
  $('#d-clone').addEventListener('click', () => action(async () => {
    const run = state.runs.get(current);
    const clone = await api.createRun(run.config);
    addToSelection([clone.id]);
    location.hash = `#/runs/${clone.id}`;
    setTimeout(() => showMessage($('#d-message'), `Cloned from run #${run.id} and queued.`, 'ok'), 0);
  }));
  $('#d-config').addEventListener('click', () => {
    const run = state.runs.get(current);
    saveBlob(new Blob([JSON.stringify(run.config, null, 2)], { type: 'application/json' }), `trainboard-run-${run.id}-config.json`);
  });
  $('#d-csv').addEventListener('click', () => action(async () => saveBlob(await api.exportMetrics([current], 'csv'), `trainboard-run-${current}-metrics.csv`)));
  $('#d-weights').addEventListener('click', () => action(async () => saveBlob(await api.weights(current), `trainboard-run-${current}.pt`)));
  $('#d-cancel').addEventListener('click', () => action(async () => { await api.cancelRun(current); await refreshDetail(); }));
  $('#d-annotate').addEventListener('submit', (ev) => {
    ev.preventDefault();
    action(async () => {
      const run = await api.updateRun(current, {
        name: $('#d-name').value.trim() || undefined,
        tags: $('#d-tags').value.split(',').map((t) => t.trim()).filter(Boolean),
        notes: $('#d-notes').value,
      });
      state.runs.set(run.id, run);
      renderHeader(run, true);
      showMessage($('#d-message'), 'Saved name, tags and notes.', 'ok');
    });
  });
}
