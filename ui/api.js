// api.js - the dashboard's client of the fincloud REST API.
//
// Every request carries the operator's token, kept in sessionStorage (this
// tab's session only, never a cookie, never sent elsewhere). An answer
// that is not 2xx becomes an ApiError with the server's code and message,
// for the page to show: nothing is swallowed.

const KEY = 'fincloud.token';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}

// A query string of the params that are set ('' when none).
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

// METHOD path [body]: the parsed JSON answer (null for 204).
export async function call(method, path, body) {
  const headers = { Authorization: 'Bearer ' + (token() || '') };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', `${method} ${path}: cannot reach the controller (${e.message})`);
  }
  const text = await r.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError(r.status, 'bad_answer', `${method} ${path}: the answer is not JSON (HTTP ${r.status})`);
    }
  }
  if (!r.ok) {
    const e = (json && json.error) || {};
    throw new ApiError(r.status, e.code || 'http_' + r.status,
      `${method} ${path}: ${r.status} ${e.code || ''}: ${e.message || r.statusText}`, e.field);
  }
  return json;
}

export const get = (path) => call('GET', path);

// One page of a list: {items, next}.
export function page(path, params, after, limit) {
  return get(path + qs({ ...params, limit: limit || 100, after }));
}

// Every item of a list, page by page (1,000 a page), at most max.
export async function all(path, params, max = 100000) {
  const items = [];
  let after = null;
  do {
    const p = await page(path, params, after, 1000);
    items.push(...p.items);
    after = p.next;
  } while (after && items.length < max);
  return items;
}

// The last n items of a list in its order (the lists go oldest first).
export async function last(path, params, n) {
  let keep = [];
  let after = null;
  do {
    const p = await page(path, params, after, 1000);
    keep = keep.concat(p.items).slice(-n);
    after = p.next;
  } while (after);
  return keep;
}
