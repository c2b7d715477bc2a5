/* How runs and configs are named on the page. */

const OPT_LABEL = { sgd: 'SGD', adam: 'Adam', adamw: 'AdamW', adagrad: 'Adagrad', rmsprop: 'RMSprop' };

export function describeModel(model) {
  if (!model) return 'model';
  if (model.kind === 'mlp') {
    const hidden = model.hidden || [];
    let s = hidden.length ? `${hidden.length + 1}-layer ${model.activation || ''}`.trim() : 'linear';
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

export function describeConfig(cfg) {
  if (!cfg) return '';
  const opt = cfg.optimizer || {};
  const optName = OPT_LABEL[opt.name] || opt.name || '';
  const lr = opt.lr !== undefined && opt.lr !== null ? ` ${opt.lr}` : '';
  return `${describeModel(cfg.model)}, ${optName}${lr}`.trim();
}

export function runLabel(run) {
  if (!run) return '';
  return run.name || (run.config && describeConfig(run.config)) || `Run ${run.id}`;
}

/** A seed group's label: its first run's name without the ", seed N" the server adds. */
export function groupLabel(run) {
  const seed = run && run.config ? run.config.seed : undefined;
  const label = runLabel(run);
  return seed === undefined ? label : label.replace(new RegExp(`, seed ${seed}$`), '');
}

/** One layer as a short token, e.g. conv2d(8,k7,s2). */
function layerText(l) {
  switch (l.type) {
    case 'linear': return `linear(${l.out_features ?? 'classes'})`;
    case 'conv2d': return `conv2d(${l.out_channels},k${l.kernel_size}${l.stride > 1 ? `,s${l.stride}` : ''}${l.padding ? `,p${l.padding}` : ''})`;
    case 'maxpool2d': return `maxpool(${l.kernel_size})`;
    case 'reshape': return `reshape(${(l.shape || []).join('x')})`;
    case 'dropout': return `dropout(${l.p})`;
    default: return l.type;
  }
}

/** A config as flat "path: value" pairs, so differences between runs read as table columns. */
export function flattenConfig(cfg, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(cfg || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (key === 'name') continue;
    if (key === 'model.layers' && Array.isArray(v)) out[key] = v.map(layerText).join(' ');
    else if (Array.isArray(v)) out[key] = v.length ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : x)).join(',') : '—';
    else if (v && typeof v === 'object') flattenConfig(v, key, out);
    else out[key] = v === null ? '—' : String(v);
  }
  return out;
}

/** Keys whose values differ across the given configs (the only columns worth showing). */
export function differingKeys(configs, skip = []) {
  const flats = configs.map((c) => flattenConfig(c));
  const keys = new Set(flats.flatMap((f) => Object.keys(f)));
  return [...keys].filter((k) => !skip.includes(k) && new Set(flats.map((f) => f[k] ?? '—')).size > 1).sort();
}
