/* The JSON API, with readable errors and an optional bearer token.
 *
 * When the server answers 401 (a token is configured for changes), the page asks for the
 * token once, keeps it in sessionStorage for this tab, and repeats the request with it. */

const TOKEN_KEY = 'trainboard.token';

export class ApiError extends Error {
  constructor(status, detail, fallback) {
    super(ApiError.describe(detail) || fallback || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }

  /** FastAPI's detail (string | [{loc,msg}] | object) as [{field, loc, message}]. */
  static items(detail) {
    if (detail === null || detail === undefined) return [];
    if (typeof detail === 'string') return [{ field: null, loc: [], message: detail }];
    if (Array.isArray(detail)) {
      return detail.map((d) => {
        if (typeof d === 'string') return { field: null, loc: [], message: d };
        const loc = Array.isArray(d.loc) ? d.loc.filter((p) => p !== 'body' && p !== 'query') : [];
        return { field: loc.length ? loc.join('.') : null, loc, message: d.msg || JSON.stringify(d) };
      });
    }
    if (typeof detail === 'object' && detail.message) return [{ field: null, loc: [], message: detail.message }];
    return [{ field: null, loc: [], message: JSON.stringify(detail) }];
  }

  static describe(detail) {
    return ApiError.items(detail).map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ');
  }
}

function token() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

let asking = null;
/** Ask for the token once even when several requests are refused at the same moment. */
function askToken() {
  if (!asking) {
    asking = Promise.resolve().then(() => {
      const t = window.prompt('This Trainboard needs an access token for that. Token:');
      if (t) { try { sessionStorage.setItem(TOKEN_KEY, t.trim()); } catch { /* private mode */ } }
      return !!t;
    }).finally(() => { setTimeout(() => { asking = null; }, 0); });
  }
  return asking;
}

async function send(method, path, body, asBlob, retried = false) {
  const headers = { Accept: asBlob ? '*/*' : 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const opts = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (err) {
    throw new ApiError(0, null, `Network error: ${err.message}`);
  }
  if (res.status === 401 && !retried) {
    if (t) { try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ } }
    if (await askToken()) return send(method, path, body, asBlob, true);
  }
  if (res.ok && asBlob) return res.blob();
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  if (!res.ok) {
    const detail = data && typeof data === 'object' && 'detail' in data ? data.detail : (text || null);
    throw new ApiError(res.status, detail, `${res.status} ${res.statusText}`);
  }
  return data;
}

const qs = (params) => new URLSearchParams(
  Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ''),
).toString();

export const api = {
  health: () => send('GET', '/api/health'),
  presets: () => send('GET', '/api/presets'),
  datasets: () => send('GET', '/api/datasets'),
  listRuns: (params = {}) => send('GET', `/api/runs?${qs(params)}`),
  getRun: (id) => send('GET', `/api/runs/${id}`),
  createRun: (body) => send('POST', '/api/runs', body),
  updateRun: (id, body) => send('PATCH', `/api/runs/${id}`, body),
  metrics: (id, after) => send('GET', `/api/runs/${id}/metrics?after=${after}`),
  evaluation: (id) => send('GET', `/api/runs/${id}/evaluation`),
  weights: (id) => send('GET', `/api/runs/${id}/weights`, undefined, true),
  cancelRun: (id) => send('POST', `/api/runs/${id}/cancel`),
  deleteRun: (id) => send('DELETE', `/api/runs/${id}`),
  createStudy: (body) => send('POST', '/api/studies', body),
  listStudies: () => send('GET', '/api/studies?limit=200'),
  updateStudy: (id, body) => send('PATCH', `/api/studies/${id}`, body),
  predict: (runIds, pixels) => send('POST', '/api/predict', { run_ids: runIds, pixels }),
  exportMetrics: (ids, format) => send('GET', `/api/export/metrics?${qs({ run_ids: ids.join(','), format })}`, undefined, true),
};
