/* The digit pad: draw with mouse, pen or finger; every selected trained model answers
 * with its class probabilities, drawn as grouped bars side by side. */
import { api } from './api.js';
import { emptyLayout, enqueue, FONT, PLOT_CONFIG, plotlyReady } from './charts.js';
import { runLabel } from './labels.js';
import { PALETTE, selectedOrder, state } from './state.js';
import { $, drawPixels, el, fmtPct, setText } from './util.js';

const MAX_MODELS = 12;
const BRUSH = 20;       // in pad pixels (the pad is 280x280): about MNIST's stroke width
let ink = false;        // anything drawn since the last clear
let pending = null;     // throttle timer while drawing

/** The selected runs that kept weights, in selection order. */
export function padModels() {
  return selectedOrder().map((id) => state.runs.get(id)).filter((r) => r && r.has_weights);
}

function padCanvas() { return $('#pad'); }

/** The ink's bounding box on the pad, or null when it is blank. */
function inkBox(ctx, size) {
  const data = ctx.getImageData(0, 0, size, size).data;
  let x0 = size; let y0 = size; let x1 = -1; let y1 = -1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (data[(y * size + x) * 4] < 250) {
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}

/** Draw the ink's square crop into a side x side canvas at (off, off, box, box); read ink 0..1. */
function resample(src, b, side, box, off) {
  const s = Math.max(b.x1 - b.x0, b.y1 - b.y0) + 1;
  const cx = (b.x0 + b.x1) / 2; const cy = (b.y0 + b.y1) / 2;
  const c = document.createElement('canvas');
  c.width = side; c.height = side;
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, side, side);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(src, cx - s / 2, cy - s / 2, s, s, off, off, box, box);
  const d = ctx.getImageData(0, 0, side, side).data;
  return Array.from({ length: side * side }, (_, i) => (255 - d[i * 4]) / 255);
}

/** MNIST's own recipe: the digit fitted into 20x20, centred by mass in 28x28. */
function mnistPixels(src, b) {
  const g = resample(src, b, 28, 20, 4);
  let m = 0; let mx = 0; let my = 0;
  g.forEach((v, i) => { m += v; mx += v * (i % 28); my += v * Math.floor(i / 28); });
  const dx = Math.round(13.5 - mx / m); const dy = Math.round(13.5 - my / m);
  const out = new Array(784).fill(0);
  g.forEach((v, i) => {
    const x = (i % 28) + dx; const y = Math.floor(i / 28) + dy;
    if (x >= 0 && x < 28 && y >= 0 && y < 28) out[y * 28 + x] = v;
  });
  return out.map((v) => Math.min(1, Math.max(0, Number(v.toFixed(4)))));
}

/** scikit-learn digits' recipe: a 32x32 bitmap, then on-pixels counted in 4x4 blocks. */
function digitsPixels(src, b) {
  const g = resample(src, b, 32, 32, 0);
  const out = [];
  for (let by = 0; by < 8; by++) {
    for (let bx = 0; bx < 8; bx++) {
      let on = 0;
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) on += g[(by * 4 + y) * 32 + bx * 4 + x] > 0.3 ? 1 : 0;
      out.push(on / 16);
    }
  }
  return out;
}

async function ask() {
  pending = null;
  const src = padCanvas();
  const box = inkBox(src.getContext('2d'), src.width);
  const models = padModels().slice(0, MAX_MODELS);
  if (!box) { await drawAnswers([], 'Draw a digit on the pad'); return; }
  const mnist = mnistPixels(src, box);
  drawPixels($('#pad-preview'), mnist.map((v) => Math.round(v * 255)), 28);
  if (!models.length) { await drawAnswers([], 'Select completed runs to ask them'); return; }
  const byData = new Map();
  models.forEach((r) => { if (!byData.has(r.dataset)) byData.set(r.dataset, []); byData.get(r.dataset).push(r.id); });
  const msg = $('#pad-error');
  try {
    const answers = (await Promise.all([...byData.entries()].map(([ds, ids]) => (
      api.predict(ids, ds === 'digits' ? digitsPixels(src, box) : mnist))))).flatMap((r) => r.data);
    const order = new Map(models.map((r, i) => [r.id, i]));
    answers.sort((a, b) => order.get(a.run_id) - order.get(b.run_id));
    msg.hidden = true;
    await drawAnswers(answers, '');
  } catch (err) {
    msg.hidden = false;
    msg.textContent = `The models could not answer: ${err.message}`;
  }
}

async function drawAnswers(answers, hint) {
  const list = $('#pad-answers');
  list.replaceChildren(...answers.map((a, i) => el('li', { 'data-run-id': a.run_id }, [
    el('span', { class: 'swatch', style: `background:${PALETTE[i % PALETTE.length]}` }),
    el('span', { class: 'answer-digit', text: String(a.predicted) }),
    el('span', { class: 'muted', text: ` ${fmtPct(a.probabilities[a.predicted], 0)} · #${a.run_id} ${runLabel(state.runs.get(a.run_id)) || a.name}` }),
  ])));
  if (!plotlyReady()) return;
  const digits = answers.length ? answers[0].probabilities.map((_, i) => String(i)) : [];
  await enqueue(() => Plotly.react('chart-pad', answers.map((a, i) => ({
    type: 'bar', name: `#${a.run_id} ${runLabel(state.runs.get(a.run_id)) || a.name}`, x: digits, y: a.probabilities,
    marker: { color: PALETTE[i % PALETTE.length] }, hovertemplate: '%{x}: %{y:.1%}<extra>%{fullData.name}</extra>',
  })), answers.length ? {
    font: { family: FONT, size: 12, color: '#1f2937' }, paper_bgcolor: '#fff', plot_bgcolor: '#fff',
    // The legend sits above the bars (Plotly grows the top margin to fit it), clear of the x-axis title.
    margin: { l: 52, r: 10, t: 10, b: 44 }, barmode: 'group', bargap: 0.25, showlegend: answers.length > 1,
    legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom' },
    xaxis: { title: { text: 'digit' }, type: 'category' },
    yaxis: { title: { text: 'probability' }, range: [0, 1], tickformat: '.0%', gridcolor: '#eef0f3' },
  } : emptyLayout(hint), PLOT_CONFIG));
}

/** Selection changed: say who will answer, and ask them if something is drawn. */
export function refreshPad() {
  const models = padModels();
  const n = models.length;
  setText($('#pad-summary'), n === 0 ? 'Select completed runs in the table; each one answers side by side.'
    : `${Math.min(n, MAX_MODELS)} trained model${n === 1 ? '' : 's'} will answer${n > MAX_MODELS ? ` (first ${MAX_MODELS} of ${n})` : ''}.`);
  if (ink) ask(); else drawAnswers([], n ? 'Draw a digit on the pad' : 'Select completed runs to ask them');
}

function clearPad() {
  const c = padCanvas();
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, c.height);
  ink = false;
  const p = $('#pad-preview').getContext('2d');
  p.clearRect(0, 0, 28, 28);
  refreshPad();
}

export function initPad() {
  const c = padCanvas();
  const ctx = c.getContext('2d', { willReadFrequently: true });
  let last = null;
  const point = (ev) => {
    const r = c.getBoundingClientRect();
    return [(ev.clientX - r.left) * (c.width / r.width), (ev.clientY - r.top) * (c.height / r.height)];
  };
  const stroke = (from, to) => {
    ctx.strokeStyle = '#111';
    ctx.lineWidth = BRUSH;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(...from);
    ctx.lineTo(...to);
    ctx.stroke();
  };
  // Pointer events cover mouse, pen and touch alike; touch-action: none in the CSS keeps
  // the page from scrolling under a finger.
  c.addEventListener('pointerdown', (ev) => {
    ev.preventDefault();
    c.setPointerCapture(ev.pointerId);
    last = point(ev);
    stroke(last, last);
    ink = true;
  });
  c.addEventListener('pointermove', (ev) => {
    if (!last) return;
    const p = point(ev);
    stroke(last, p);
    last = p;
    if (!pending) pending = setTimeout(ask, 150); // answer while drawing, a few times a second
  });
  const end = () => {
    if (!last) return;
    last = null;
    clearTimeout(pending);
    pending = null;
    ask();
  };
  c.addEventListener('pointerup', end);
  c.addEventListener('pointercancel', end);
  $('#pad-clear').addEventListener('click', clearPad);
  clearPad();
}
