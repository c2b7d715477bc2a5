/* Plotly plumbing shared by the comparison and the run detail: layouts, smoothing, queue. */
import { el } from './util.js';

export const FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
export const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['lasso2d', 'select2d', 'autoScale2d'] };
const GRID = '#eef0f3';
const LOG_TICKS = [-4, -3, -2, -1, 0, 1, 2].flatMap((e) => [1, 2, 3, 5].map((m) => Number((m * 10 ** e).toPrecision(1))));

export const plotlyReady = () => typeof window.Plotly !== 'undefined';

let chain = Promise.resolve();
/** Serialise Plotly calls so a react and an extend never interleave on one chart. */
export function enqueue(fn) {
  chain = chain.then(fn).catch((err) => console.error('chart error', err));
  return chain;
}

export function missingPlotly(ids) {
  for (const id of ids) {
    document.getElementById(id).replaceChildren(el('p', { class: 'chart-missing', text: 'Plotly failed to load (/vendor/plotly.min.js).' }));
  }
}

/** Layout while there is nothing to draw: no axes, one centred hint. */
export function emptyLayout(hint) {
  return {
    font: { family: FONT, size: 13, color: '#6b7280' },
    paper_bgcolor: '#ffffff', plot_bgcolor: '#ffffff',
    margin: { l: 10, r: 10, t: 10, b: 10 },
    xaxis: { visible: false }, yaxis: { visible: false },
    annotations: [{ text: hint, showarrow: false, xref: 'paper', yref: 'paper', x: 0.5, y: 0.5 }],
  };
}

export function lineLayout({ xTitle, yTitle, pct = false, log = false, xRange = null, hover = 'x unified', legend = false, uirevision = 'x' }) {
  return {
    font: { family: FONT, size: 12, color: '#1f2937' },
    paper_bgcolor: '#ffffff', plot_bgcolor: '#ffffff',
    margin: { l: 60, r: 14, t: 10, b: legend ? 70 : 44 },
    hovermode: hover,
    showlegend: legend,
    legend: { orientation: 'h', x: 0, y: -0.25, yanchor: 'top', font: { size: 12 } },
    xaxis: { title: { text: xTitle }, gridcolor: GRID, zeroline: false,
      ...(xRange ? { range: xRange, autorange: false } : { autorange: true }) },
    // Plain 1-2-3-5 ticks per decade read better on a log axis than Plotly's small digits.
    yaxis: { title: { text: yTitle }, gridcolor: GRID, zeroline: false, type: log ? 'log' : 'linear',
      ...(log ? { tickmode: 'array', tickvals: LOG_TICKS } : {}),
      ...(pct ? { tickformat: '.0%' } : {}), autorange: true },
    uirevision,
  };
}

/** TensorBoard-style exponential moving average, debiased so early points are not pulled to 0. */
export function smooth(values, weight) {
  if (!weight) return values.slice();
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || v === undefined) return null;
    n += 1;
    last = last * weight + (1 - weight) * v;
    return last / (1 - weight ** n);
  });
}

/** '#2563eb' -> 'rgba(37,99,235,a)' for bands. */
export function fade(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}
