// The web apps' access to the edge: REST calls with the session cookie,
// one retry after refreshing an expired access token, live streams over
// WebSocket with reconnect, and the formatting shared by both apps.

const REFRESH_KEY = 'evc.refresh';
const USER_KEY = 'evc.user';

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.status;
  }
}

async function send(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

export async function api(method, path, body) {
  try {
    return await send(method, path, body);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401 || !localStorage.getItem(REFRESH_KEY)) throw e;
    if (!(await refresh())) throw e;
    return send(method, path, body);
  }
}

function remember(pair) {
  localStorage.setItem(REFRESH_KEY, pair.refreshToken);
  localStorage.setItem(USER_KEY, JSON.stringify({ username: pair.username, role: pair.role }));
  return { username: pair.username, role: pair.role };
}

export async function login(username, password) {
  return remember(await send('POST', '/v1/auth/login', { username, password }));
}

async function refresh() {
  try {
    remember(await send('POST', '/v1/auth/refresh', { refreshToken: localStorage.getItem(REFRESH_KEY) }));
    return true;
  } catch {
    forget();
    return false;
  }
}

function forget() {
  localStorage.removeItem(REFRESH_KEY);
  localStorage.removeItem(USER_KEY);
}

export async function logout() {
  try { await send('POST', '/v1/auth/logout', {}); } catch { /* the session may already be gone */ }
  forget();
}

// The remembered user, confirmed against the server (null when logged out).
export async function currentUser() {
  const saved = JSON.parse(localStorage.getItem(USER_KEY) || 'null');
  if (!saved) return null;
  try {
    await api('GET', `/v1/accounts/${encodeURIComponent(saved.username)}`);
    return JSON.parse(localStorage.getItem(USER_KEY));
  } catch {
    forget();
    return null;
  }
}

// Opens a live stream; onResult gets each message, onState 'live'/'down'.
// Reconnects with backoff until close() is called; an error that reconnecting
// cannot fix (4401, 4403, 4404) is passed to onError instead.
export function watch(path, { onResult, onState = () => {}, onError = () => {} }) {
  let socket = null;
  let closed = false;
  let delay = 500;
  const open = () => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}${path}`);
    socket.onopen = () => { delay = 500; onState('live'); };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.result) onResult(frame.result);
      else if (frame.error) onError(frame.error);
    };
    socket.onclose = (event) => {
      onState('down');
      if (closed || event.code === 1000) return;
      if (event.code >= 4400 && event.code < 4500) {
        onError({ message: event.reason || `stream refused (${event.code})` });
        if (event.code !== 4401) return;
      }
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
  return { close() { closed = true; if (socket) socket.close(); } };
}

export const STATE_NAMES = {
  CP_STATE_DISCONNECTED: 'Disconnected',
  CP_STATE_ACTIVE: 'Available',
  CP_STATE_SUPPLYING: 'Charging',
  CP_STATE_OUT_OF_SERVICE: 'Out of service',
  CP_STATE_FAULTED: 'Faulted',
};

export const END_REASONS = {
  END_REASON_UNPLUGGED: 'Unplugged at the charging point',
  END_REASON_DRIVER_STOP: 'Stopped by the driver',
  END_REASON_OPERATOR_STOP: 'Stopped by an operator',
  END_REASON_ENGINE_FAULT: 'The charging point failed',
  END_REASON_MONITOR_LOST: 'The charging point lost its connection',
  END_REASON_CP_REMOVED: 'The charging point was removed',
  END_REASON_PLUG_TIMEOUT: 'The vehicle was never plugged in',
  END_REASON_ENGINE_SILENT: 'The charging point stopped answering',
  END_REASON_CP_LOST_SUPPLY: 'The charging point restarted; billed for the energy measured',
  END_REASON_UNKNOWN_SUPPLY: 'Stopped: not a charge the network authorised',
};

export const stateClass = (state) => `state-${(state || 'CP_STATE_DISCONNECTED').replace('CP_STATE_', '')}`;
export const euros = (millieuros) => `${(Number(millieuros || 0) / 1000).toFixed(2)} €`;
export const kwh = (wh) => `${(Number(wh || 0) / 1000).toFixed(3)} kWh`;
export const kw = (w) => `${(Number(w || 0) / 1000).toFixed(1)} kW`;
export const pricePerKwh = (m) => `${(Number(m || 0) / 1000).toFixed(3)} €/kWh`;
export const when = (ts) => (ts ? new Date(ts).toLocaleString() : '—');

export function elapsed(fromTs, toTs) {
  if (!fromTs) return '0:00';
  const seconds = Math.max(0, Math.round(((toTs ? new Date(toTs) : new Date()) - new Date(fromTs)) / 1000));
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

// RFID tags as typed ("04a1, fob-7") and as shown; the registry keeps them
// in upper case.
export const parseIdTags = (text) => text.split(/[\s,;]+/).filter(Boolean);
export const idTagsText = (tags) => (tags || []).join(', ');
// Whether typed tags differ from an account's.
export const idTagsChanged = (tags, account) =>
  tags.map((t) => t.toUpperCase()).join() !== (account?.idTags || []).join();

// A tiny element builder: h('div', {class: 'x'}, 'text', child...).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
}

// Keeps the network's CPs from the WatchNetwork stream. Updates are batched:
// whatever arrives between two animation frames is drawn once, and the
// renderer is told which CPs changed (`all` after a snapshot). The time each
// render takes is recorded with the performance API: a measure named
// 'evc-render' per frame, and a mark 'evc-first-render' after the first one
// that drew CPs (the browser test reads both).
export class NetworkModel {
  constructor(onChange) {
    this.cps = new Map();
    this.onChange = onChange;
    this.dirty = new Set();
    this.all = false;
    this.scheduled = false;
    this.version = 0;  // bumped on every change: renderers cache on it
    this.firstRendered = false;
  }
  apply(update, onMessage = () => {}, onTicket = () => {}) {
    if (update.snapshot) {
      // A large network's snapshot comes in parts: only the first replaces.
      if (!update.snapshot.continued) this.cps.clear();
      for (const cp of update.snapshot.chargingPoints || []) this.cps.set(cp.chargingPoint.cpId, cp);
      this.all = true;
    } else if (update.chargingPoint) {
      const id = update.chargingPoint.chargingPoint.cpId;
      this.cps.set(id, update.chargingPoint);
      this.dirty.add(id);
    } else if (update.removedCpId) {
      this.cps.delete(update.removedCpId);
      this.dirty.add(update.removedCpId);
    } else if (update.message) {
      onMessage(update.message);
      return;
    } else if (update.ticket) {
      onTicket(update.ticket);
      return;
    }
    this.version++;
    this.schedule();
  }
  // Draws on the next animation frame (once, however many updates came).
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.flush());
  }
  flush() {
    this.scheduled = false;
    const changed = { all: this.all, ids: this.dirty };
    this.all = false;
    this.dirty = new Set();
    const start = performance.now();
    this.onChange(this, changed);
    performance.measure('evc-render', { start, end: performance.now() });
    if (!this.firstRendered && this.cps.size > 0) {
      this.firstRendered = true;
      performance.mark('evc-first-render');
    }
  }
  sorted() {
    return [...this.cps.values()].sort((a, b) => a.chargingPoint.cpId.localeCompare(b.chargingPoint.cpId));
  }
}

// Lower-case text a search box is matched against: id, address, city, country.
const searchText = new WeakMap();
export function matchesSearch(cp, query) {
  if (!query) return true;
  let text = searchText.get(cp);
  if (text === undefined) {
    const c = cp.chargingPoint;
    const loc = c.location || {};
    text = `${c.cpId} ${loc.address || ''} ${loc.city || ''} ${loc.country || ''}`.toLowerCase();
    searchText.set(cp, text);
  }
  return query.split(/\s+/).every((word) => text.includes(word));
}

export const normalizeQuery = (q) => q.trim().toLowerCase().replace(/,/g, ' ').replace(/\s+/g, ' ');

// The ids of a model's CPs ordered by `keyOf(cp)` (a string), re-sorted only
// when a CP was added or removed or its key changed: a frame of updates then
// costs one pass over the order, not a sort of 5,000 CPs.
export class StableOrder {
  constructor(keyOf) {
    this.keyOf = keyOf;
    this.ids = [];
    this.keys = new Map();  // id -> key
  }
  update(model, changed) {
    let stale = changed.all || this.ids.length !== model.cps.size;
    for (const id of changed.ids) {
      if (stale) break;
      const cp = model.cps.get(id);
      stale = cp ? this.keyOf(cp) !== this.keys.get(id) : this.keys.has(id);
    }
    if (stale) {
      this.keys = new Map();
      for (const [id, cp] of model.cps) this.keys.set(id, this.keyOf(cp));
      this.ids = [...this.keys.keys()].sort((a, b) => {
        const ka = this.keys.get(a);
        const kb = this.keys.get(b);
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      });
    }
    return this.ids;
  }
}

// Keeps one element per key and rebuilds it only when its inputs changed:
// `build(item)` makes the element, `stamp(item)` is what it depends on
// (compared with ===). `show(items)` puts the elements of `items`, in order,
// into `container`, touching the DOM only where something differs.
export class KeyedList {
  constructor(container, key, stamp, build) {
    Object.assign(this, { container, key, stamp, build });
    this.rows = new Map();  // key -> { el, stamp }
  }
  show(items) {
    const keep = new Set();
    const els = items.map((item) => {
      const k = this.key(item);
      keep.add(k);
      const st = this.stamp(item);
      let row = this.rows.get(k);
      if (!row || row.stamp !== st) {
        const el = this.build(item);
        if (row) row.el.replaceWith(el);
        row = { el, stamp: st };
        this.rows.set(k, row);
      }
      return row.el;
    });
    for (const k of [...this.rows.keys()]) if (!keep.has(k)) { this.rows.get(k).el.remove(); this.rows.delete(k); }
    const kids = this.container.children;
    let same = kids.length === els.length;
    for (let i = 0; same && i < els.length; i++) same = kids[i] === els[i];
    if (!same) this.container.replaceChildren(...els);
  }
  // Every element is rebuilt at the next show() (something they all depend on changed).
  invalidate() { for (const row of this.rows.values()) row.stamp = undefined; }
}
