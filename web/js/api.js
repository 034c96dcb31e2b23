// The API client. The session (access and refresh tokens) lives only in
// this module's memory: never in localStorage, sessionStorage or a cookie,
// so a script injected elsewhere cannot read a stored token and no request
// is ever sent with ambient credentials (no CSRF). A reload or a new tab
// starts signed out; the sign-in page then returns to the page that was
// open (its address is in the fragment). A ballot being filled in is lost on
// reload on purpose: it is never written anywhere in the browser.

const BASE = '/api/v1';
const DEVICE = 'ballotbox.device';

let session = null; // {access, refresh, user}
let refreshing = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.type = this.problem.type || '';
    this.errors = this.problem.errors || [];
  }
}

export function onSessionChange(fn) { listeners.add(fn); }
function changed() { for (const fn of listeners) fn(session); }

export function currentUser() { return session?.user || null; }
export function hasRole(role) { return !!session?.user?.roles?.includes(role); }
export function signedIn() { return !!session; }

function start(tokens) {
  session = { access: tokens.access_token, refresh: tokens.refresh_token, user: tokens.user };
  // The device token only exempts this browser from another person's
  // failed guesses (API v2); it signs no one in by itself.
  if (tokens.device_token) {
    try { localStorage.setItem(DEVICE, tokens.device_token); } catch { /* private mode */ }
  }
  changed();
  return session.user;
}

async function parse(res) {
  const ct = res.headers.get('content-type') || '';
  if (res.status === 204) return null;
  if (ct.includes('json')) return res.json();
  return res.text();
}

async function raw(method, path, body, { token, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (token) h.Authorization = `Bearer ${token}`;
  return fetch(BASE + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
}

async function refresh() {
  if (!session) return false;
  if (!refreshing) {
    const spent = session.refresh;
    refreshing = (async () => {
      const res = await raw('POST', '/auth/refresh', { refresh_token: spent });
      if (!res.ok) return false;
      const tokens = await res.json();
      start(tokens);
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Calls the API; returns the parsed body or throws ApiError. */
export async function api(method, path, body, opts = {}) {
  let res = await raw(method, path, body, { ...opts, token: session?.access });
  if (res.status === 401 && session && !opts.noRefresh) {
    if (await refresh()) res = await raw(method, path, body, { ...opts, token: session.access });
    else { session = null; changed(); }
  }
  if (opts.response) {
    if (!res.ok) throw new ApiError(res.status, await parse(res).catch(() => null));
    return res;
  }
  const data = await parse(res).catch(() => null);
  if (!res.ok) throw new ApiError(res.status, typeof data === 'object' ? data : null);
  return data;
}

export const get = (p, o) => api('GET', p, undefined, o);
export const post = (p, b, o) => api('POST', p, b ?? {}, o);
export const patch = (p, b) => api('PATCH', p, b);
export const put = (p, b) => api('PUT', p, b);
export const del = (p, b) => api('DELETE', p, b);

/** Signs in; returns {user} or {mfa_token} when a second factor is needed. */
export async function login(email, password) {
  const body = { email, password };
  let device = null;
  try { device = localStorage.getItem(DEVICE); } catch { /* private mode */ }
  if (device) body.device_token = device;
  let res = await raw('POST', '/auth/login', body);
  if (res.status === 400 && device) {
    // A server without device tokens refuses the unknown field.
    delete body.device_token;
    res = await raw('POST', '/auth/login', body);
  }
  const data = await parse(res).catch(() => null);
  if (res.ok) return { user: start(data) };
  if (res.status === 401 && data?.type === 'urn:ballotbox:problem:mfa-required' && data.mfa_token) {
    return { mfa_token: data.mfa_token };
  }
  throw new ApiError(res.status, data);
}

export async function loginMfa(mfaToken, code) {
  const res = await raw('POST', '/auth/mfa', { mfa_token: mfaToken, code });
  const data = await parse(res).catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return start(data);
}

export async function activate(token, password) {
  const res = await raw('POST', '/auth/activate', { invitation_token: token, password });
  const data = await parse(res).catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return start(data);
}

export async function logout() {
  if (session) {
    try { await api('POST', '/auth/logout', { refresh_token: session.refresh }, { noRefresh: true }); } catch { /* signed out anyway */ }
  }
  session = null;
  changed();
}

/** Every item of a paged list (follows next_cursor, at most `max` items). */
export async function all(path, max = 5000) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}
