// The operations dashboard: every CP with its state colour, live supplies,
// the message feed, weather per city, and the operator's commands.
import {
  api, login, logout, currentUser, watch, NetworkModel, KeyedList, StableOrder, matchesSearch, normalizeQuery, h,
  STATE_NAMES, END_REASONS, stateClass, euros, kwh, kw, pricePerKwh, elapsed, when, parseIdTags, idTagsText,
  idTagsChanged,
} from '/shared/api.js';

const $ = (id) => document.getElementById(id);
let network = null;

const HOLDS = { HOLD_REASON_OPERATOR: 'operator stop', HOLD_REASON_WEATHER: 'weather alert' };

$('login-form').onsubmit = async (e) => {
  e.preventDefault();
  const { username, password } = Object.fromEntries(new FormData(e.target).entries());
  try {
    const who = await login(username, password);
    if (who.role !== 'operator') {
      await logout();
      $('auth-error').textContent = `${who.username} is a ${who.role}; the dashboard needs an operator account`;
      return;
    }
    start(who);
  } catch (err) {
    $('auth-error').textContent = err.message;
  }
};

$('logout').onclick = async () => {
  await logout();
  location.reload();
};

async function act(what, path) {
  $('action-error').textContent = '';
  try {
    const res = await api('POST', path, {});
    const ids = res.affectedCpIds || [];
    const list = ids.length > 10 ? `${ids.length} CPs (${ids.slice(0, 10).join(', ')}, …)` : ids.join(', ');
    note('SEVERITY_INFO', `${what}: ${list || 'nothing to change'}`);
  } catch (err) {
    $('action-error').textContent = `${what}: ${err.message}`;
  }
}

$('stop-all').onclick = () => act('stop all', '/v1/charging-points:stopAll');
$('resume-all').onclick = () => act('resume all', '/v1/charging-points:resumeAll');

async function remove(cpId) {
  if (!confirm(`Remove ${cpId} from the network? Its credentials and keys are revoked.`)) return;
  try {
    await api('DELETE', `/v1/registry/charging-points/${encodeURIComponent(cpId)}`);
    note('SEVERITY_WARNING', `removed ${cpId}`);
  } catch (err) {
    $('action-error').textContent = `remove ${cpId}: ${err.message}`;
  }
}

// A form's latitude and longitude as the API's GeoPoint: null when both are
// empty; an Error when only one is given (the registry checks the ranges and
// names the field).
function coordinatesOf(f) {
  const lat = (f.latitude || '').trim();
  const lon = (f.longitude || '').trim();
  if (!lat && !lon) return null;
  if (!lat || !lon) throw new Error('give both latitude and longitude, or neither');
  return { latitude: Number(lat), longitude: Number(lon) };
}
const coordinatesText = (c) => (c ? `${Number(c.latitude || 0).toFixed(5)}, ${Number(c.longitude || 0).toFixed(5)}` : 'none');

$('add-form').onsubmit = async (e) => {
  e.preventDefault();
  const f = Object.fromEntries(new FormData(e.target).entries());
  try {
    const location = { address: f.address, city: f.city, country: f.country.toUpperCase() };
    const coordinates = coordinatesOf(f);
    if (coordinates) location.coordinates = coordinates;
    const res = await api('POST', '/v1/registry/charging-points', {
      cpId: f.cpId,
      location,
      priceMillieurosPerKwh: String(Math.round(Number(f.price) * 1000)),
      maxPowerW: String(Math.round(Number(f.power) * 1000)),
    });
    $('add-status').textContent = `${f.cpId} registered; it shows as disconnected until its monitor connects.`;
    $('cred-cp').textContent = f.cpId;
    $('cred-secret').textContent = res.credentials.secret;
    $('credentials').showModal();
    e.target.reset();
  } catch (err) {
    $('add-status').textContent = err.message;
  }
};

// ---- editing a charging point (the registry's UpdateChargingPoint) ----
// The form starts from what the registry holds and sends only the fields the
// operator changed, named in the update mask. Central, weather and both apps
// follow the change through the registry's events.

let editing = null;  // the CP as the registry last returned it
const kwOf = (w) => String(Number(w || 0) / 1000);
const priceOf = (m) => String(Number(m || 0) / 1000);

function fillEdit(cp) {
  editing = cp;
  const loc = cp.location || {};
  const f = $('edit-form').elements;
  f.address.value = loc.address || '';
  f.city.value = loc.city || '';
  f.country.value = loc.country || '';
  f.price.value = priceOf(cp.priceMillieurosPerKwh);
  f.power.value = kwOf(cp.maxPowerW);
  f.latitude.value = loc.coordinates ? String(loc.coordinates.latitude || 0) : '';
  f.longitude.value = loc.coordinates ? String(loc.coordinates.longitude || 0) : '';
  $('edit-cp-id').textContent = cp.cpId;
}

async function openEdit(cpId) {
  $('action-error').textContent = '';
  $('edit-status').textContent = '';
  $('edit-error').textContent = '';
  // Hidden until the registry answers: nothing typed can be overwritten by the answer.
  editing = null;
  $('edit-card').classList.add('hidden');
  try {
    fillEdit(await api('GET', `/v1/registry/charging-points/${encodeURIComponent(cpId)}`));
  } catch (err) {
    $('action-error').textContent = `edit ${cpId}: ${err.message}`;
    return;
  }
  $('edit-card').classList.remove('hidden');
  $('edit-card').scrollIntoView({ block: 'nearest' });
  $('edit-form').elements.price.focus();
}

$('edit-cancel').onclick = () => {
  editing = null;
  $('edit-card').classList.add('hidden');
};

$('edit-form').onsubmit = async (e) => {
  e.preventDefault();
  if (!editing) return;
  $('edit-status').textContent = '';
  $('edit-error').textContent = '';
  const f = Object.fromEntries(new FormData(e.target).entries());
  const body = {};
  const mask = [];
  const said = [];
  const was = editing.location || {};
  const loc = { address: f.address.trim(), city: f.city.trim(), country: f.country.trim().toUpperCase() };
  // Each location field on its own path, so a change of address keeps the
  // coordinates and the other way round.
  const moved = ['address', 'city', 'country'].filter((k) => loc[k] !== (was[k] || ''));
  for (const k of moved) mask.push(`location.${k}`);
  if (moved.length) said.push(`now at ${loc.address}, ${loc.city} (${loc.country})`);
  let coordinates;
  try {
    coordinates = coordinatesOf(f);
  } catch (err) {
    $('edit-error').textContent = `${editing.cpId} not saved: ${err.message}`;
    return;
  }
  if (coordinatesText(coordinates) !== coordinatesText(was.coordinates)) {
    if (coordinates) loc.coordinates = coordinates;
    mask.push('location.coordinates');
    said.push(`coordinates ${coordinatesText(coordinates)}`);
  }
  if (mask.length) body.location = loc;
  const price = Math.round(Number(f.price) * 1000);
  if (price !== Number(editing.priceMillieurosPerKwh)) {
    body.priceMillieurosPerKwh = String(price);
    mask.push('priceMillieurosPerKwh');
    said.push(`${pricePerKwh(price)} for supplies started from now on`);
  }
  const power = Math.round(Number(f.power) * 1000);
  if (power !== Number(editing.maxPowerW)) {
    body.maxPowerW = String(power);
    mask.push('maxPowerW');
    said.push(`max power ${kw(power)}`);
  }
  const id = editing.cpId;
  if (!mask.length) {
    $('edit-status').textContent = `Nothing changed for ${id}.`;
    return;
  }
  try {
    const cp = await api('PATCH',
      `/v1/registry/charging-points/${encodeURIComponent(id)}?update_mask=${mask.join(',')}`, body);
    fillEdit(cp);
    $('edit-status').textContent = `Saved ${id}: ${said.join('; ')}.`;
    note('SEVERITY_INFO', `edited: ${said.join('; ')}`, id);
  } catch (err) {
    $('edit-error').textContent = `${id} not saved: ${err.message}`;
  }
};

// ---- a driver's account (the registry's UpdateProfile; operators may edit anyone's) ----

let account = null;  // as last loaded or saved

function fillAccount(a) {
  account = a;
  const f = $('account-form').elements;
  f.name.value = a.name || '';
  f.email.value = a.email || '';
  f.idTags.value = idTagsText(a.idTags);
  $('account-form').classList.remove('hidden');
}

$('account-find').onsubmit = async (e) => {
  e.preventDefault();
  $('account-status').textContent = '';
  $('account-error').textContent = '';
  const username = e.target.elements.username.value.trim();
  try {
    const a = await api('GET', `/v1/accounts/${encodeURIComponent(username)}`);
    fillAccount(a);
    $('account-status').textContent = `${a.username}: ${a.role}, since ${when(a.createdAt)}.`;
  } catch (err) {
    account = null;
    $('account-form').classList.add('hidden');
    $('account-error').textContent = `${username}: ${err.message}`;
  }
};

$('account-form').onsubmit = async (e) => {
  e.preventDefault();
  if (!account) return;
  $('account-status').textContent = '';
  $('account-error').textContent = '';
  const f = Object.fromEntries(new FormData(e.target).entries());
  // Only what changed (an operator needs no password for either).
  const body = {};
  if (f.name.trim() !== account.name) body.name = f.name.trim();
  if (f.email.trim() !== account.email) body.email = f.email.trim();
  const tags = parseIdTags(f.idTags);
  if (idTagsChanged(tags, account)) {
    body.idTags = tags;
    // Named, so that taking a driver's last card away is a change too.
    body.updateMask = Object.keys(body).join(',');
  }
  if (!Object.keys(body).length) {
    $('account-status').textContent = `Nothing changed for ${account.username}.`;
    return;
  }
  try {
    const a = await api('PATCH', `/v1/accounts/${encodeURIComponent(account.username)}`, body);
    fillAccount(a);
    const cards = a.idTags?.length ? `; RFID cards ${idTagsText(a.idTags)}` : '';
    $('account-status').textContent = `Saved ${a.username}: ${a.name}, ${a.email}${cards}.`;
    note('SEVERITY_INFO', `account ${a.username} edited (${Object.keys(body).filter((k) => k !== 'updateMask').join(', ')})`);
  } catch (err) {
    $('account-error').textContent = `${account.username} not saved: ${err.message}`;
  }
};

// ---- central's live settings (GET / PATCH /v1/config) ----

// Each setting as the REST API names it, and what it means to an operator.
const CONFIG_FIELDS = [
  ['linkTimeout', 'Link timeout: a CP without a health report this long is DISCONNECTED (at least 3 health intervals)'],
  ['healthInterval', 'Health interval: how often monitors report'],
  ['restartGrace', 'Restart grace: after a restart, how long monitors have to reconnect'],
  ['plugTimeout', 'Plug timeout: an authorised charge never plugged in is cancelled'],
  ['stopTimeout', 'Stop timeout: a stop the CP never confirms is closed'],
  ['reconcileGrace', 'Reconcile grace: how long a CP may disagree about its supply'],
  ['telemetryTimeout', 'Telemetry timeout: a silent supply is asked, then closed at twice this'],
  ['commandResendInterval', 'Command resend interval'],
  ['queueOfferTimeout', 'Queue offer: how long a freed CP is held for the head of its queue'],
  ['queueTypicalSessionWh', 'Typical session, Wh (queue estimates)'],
];
let liveConfig = null;  // as last loaded or saved

// "3m", "1.5s", "500ms", "2h" or plain seconds as protobuf's JSON Duration
// ("180s"); anything else goes as typed, and the API's error names it.
function durationJson(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return text.trim();
  const seconds = Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] || 's'];
  return `${Number(seconds.toFixed(3))}s`;
}

function fillConfig(c) {
  liveConfig = c;
  const f = $('config-form').elements;
  for (const [key] of CONFIG_FIELDS) f[key].value = c[key] ?? '';
  $('config-status').textContent = c.updatedBy
    ? `Last changed by ${c.updatedBy}, ${when(c.updatedAt)}.`
    : 'The settings central started with are in force.';
}

function buildConfigForm() {
  const form = $('config-form');
  form.replaceChildren(
    ...CONFIG_FIELDS.map(([key, label]) =>
      h('label', {}, label, ' ', h('input', { name: key, autocomplete: 'off', 'data-testid': `config-${key}` }))),
    h('button', { type: 'submit', 'data-testid': 'config-save' }, 'Save'));
  form.onsubmit = async (e) => {
    e.preventDefault();
    if (!liveConfig) return;
    $('config-error').textContent = '';
    const f = Object.fromEntries(new FormData(form).entries());
    // Only what changed: the rest is not checked again.
    const changed = CONFIG_FIELDS.map(([key]) => key).filter((key) => f[key].trim() !== String(liveConfig[key] ?? ''));
    if (!changed.length) {
      $('config-status').textContent = 'Nothing changed.';
      return;
    }
    const body = Object.fromEntries(changed.map((key) =>
      [key, key === 'queueTypicalSessionWh' ? Number(f[key]) : durationJson(f[key])]));
    try {
      const c = await api('PATCH', `/v1/config?updateMask=${changed.join(',')}`, body);
      fillConfig(c);
      const what = changed.map((key) => `${key} ${c[key]}`).join(', ');
      $('config-status').textContent = `Saved: ${what}; in force from central's next tick.`;
      note('SEVERITY_INFO', `live settings changed (${what})`);
    } catch (err) {
      $('config-error').textContent = `Not saved: ${err.message}`;
    }
  };
}

async function loadConfig() {
  buildConfigForm();
  try {
    fillConfig(await api('GET', '/v1/config'));
  } catch (err) {
    $('config-error').textContent = `Live settings unavailable: ${err.message}`;
  }
}

// Feed lines are added once per animation frame (a stop-all brings thousands
// of messages at once); the feed keeps the newest 200.
const FEED_LINES = 200;
let pendingNotes = [];

function note(severity, text, cpId = '') {
  pendingNotes.push(h('div', { class: `sev-${severity}` }, `${new Date().toLocaleTimeString()} `,
    cpId ? h('strong', {}, `${cpId} `) : '', text));
  if (pendingNotes.length === 1) requestAnimationFrame(flushNotes);
  if (pendingNotes.length > FEED_LINES) pendingNotes = pendingNotes.slice(-FEED_LINES);
}

function flushNotes() {
  const lines = pendingNotes.reverse();
  pendingNotes = [];
  if (!lines.length) return;
  $('feed').prepend(...lines);
  while ($('feed').children.length > FEED_LINES) $('feed').lastChild.remove();
}

// ---- the network, at 5,000 CPs ----
// Counts by state stay on screen (sticky bar); the CPs are searched, filtered
// by state and shown a page at a time, as tiles or as a compact table. Each
// animation frame redraws only the rows whose CP changed (KeyedList).

const PAGE_SIZE = { tiles: 60, table: 200 };
const view = { query: '', state: '', mode: 'tiles', page: 0 };
let filtered = { key: '', cps: [] };
let tileList = null;
let rowList = null;

const holdsOf = (cp) => (cp.holdDetails || []).map((d) => d.detail || HOLDS[d.reason] || d.reason);
const supplyOf = (cp) => (cp.supply && cp.supply.supplyId ? cp.supply : null);

function cpButtons(id) {
  return [
    h('button', { class: 'danger', 'data-testid': `stop-${id}`, onclick: () => act(`stop ${id}`, `/v1/charging-points/${encodeURIComponent(id)}:stop`) }, 'Stop'),
    ' ',
    h('button', { 'data-testid': `resume-${id}`, onclick: () => act(`resume ${id}`, `/v1/charging-points/${encodeURIComponent(id)}:resume`) }, 'Resume'),
    ' ',
    h('button', { class: 'secondary', 'data-testid': `edit-${id}`, onclick: () => openEdit(id) }, 'Edit'),
    ' ',
    h('button', { class: 'secondary', 'data-testid': `remove-${id}`, onclick: () => remove(id) }, 'Remove')];
}

function cpTile(cp) {
  const id = cp.chargingPoint.cpId;
  const loc = cp.chargingPoint.location || {};
  const holds = holdsOf(cp);
  const s = supplyOf(cp);
  return h('div', { class: `tile ${stateClass(cp.state)}`, 'data-testid': `cp-${id}`, 'data-state': cp.state },
    h('span', { class: 'id' }, id),
    h('span', { class: 'badge' }, STATE_NAMES[cp.state] || cp.state),
    h('span', { class: 'where' }, `${loc.city || ''} · ${pricePerKwh(cp.chargingPoint.priceMillieurosPerKwh)}`),
    holds.length ? h('span', { class: 'note', 'data-testid': `holds-${id}` },
      `${s ? 'then held' : 'held'}: ${holds.join('; ')}`) : null,
    cp.faultDetail ? h('span', { class: 'note' }, cp.faultDetail) : null,
    s ? h('span', { class: 'note' }, `${s.driverId || 'walk-in'} · ${kwh(s.energyWh)} · ${euros(s.amountMillieuros)}`) : null,
    h('div', {}, ...cpButtons(id)));
}

function cpRow(cp) {
  const id = cp.chargingPoint.cpId;
  const loc = cp.chargingPoint.location || {};
  const holds = holdsOf(cp);
  const s = supplyOf(cp);
  return h('tr', { class: stateClass(cp.state), 'data-testid': `cp-${id}`, 'data-state': cp.state },
    h('td', { class: 'id' }, id),
    h('td', {}, h('span', { class: 'badge' }, STATE_NAMES[cp.state] || cp.state)),
    h('td', {}, loc.city || ''), h('td', {}, loc.address || ''),
    h('td', {}, pricePerKwh(cp.chargingPoint.priceMillieurosPerKwh)),
    h('td', {}, s ? `${s.driverId || 'walk-in'} · ${kwh(s.energyWh)} · ${kw(s.powerW)}` : ''),
    h('td', holds.length ? { 'data-testid': `holds-${id}` } : {}, [...holds, cp.faultDetail].filter(Boolean).join('; ')),
    h('td', { class: 'buttons' }, ...cpButtons(id)));
}

function renderCounts(model) {
  const counts = {};
  for (const cp of model.cps.values()) counts[cp.state] = (counts[cp.state] || 0) + 1;
  if (!$('counts').firstChild) {
    $('counts').replaceChildren(...Object.keys(STATE_NAMES).map((s) =>
      h('button', { type: 'button', class: `count ${stateClass(s)}`, 'data-testid': `count-${s}`, 'data-state': s,
        title: `show only ${STATE_NAMES[s].toLowerCase()}`, onclick: () => setFilter({ state: view.state === s ? '' : s }) },
      h('span', { class: 'badge' }, ''))));
    $('counts').append(h('span', { class: 'note', 'data-testid': 'count-total' }, ''));
  }
  for (const el of $('counts').querySelectorAll('button.count')) {
    const s = el.dataset.state;
    const text = `${STATE_NAMES[s]}: ${counts[s] || 0}`;
    if (el.firstChild.textContent !== text) el.firstChild.textContent = text;
    el.setAttribute('aria-pressed', view.state === s);
  }
  $('counts').lastChild.textContent = `${model.cps.size} charging points`;
}

// The CPs that pass the search and the state filter, by id; recomputed only
// when the network or the filter changed.
const byId = new StableOrder((cp) => cp.chargingPoint.cpId);

function filteredCps(model, changed) {
  const ids = byId.update(model, changed);
  const key = `${model.version}|${view.query}|${view.state}`;
  if (filtered.key === key) return filtered.cps;
  const cps = [];
  for (const id of ids) {
    const cp = model.cps.get(id);
    if (view.state && cp.state !== view.state) continue;
    if (matchesSearch(cp, view.query)) cps.push(cp);
  }
  filtered = { key, cps };
  return cps;
}

function render(model, changed = { all: true, ids: new Set() }) {
  renderCounts(model);
  if (!tileList) {
    tileList = new KeyedList($('cps'), (cp) => cp.chargingPoint.cpId, (cp) => cp, cpTile);
    rowList = new KeyedList($('cp-rows'), (cp) => cp.chargingPoint.cpId, (cp) => cp, cpRow);
  }
  const cps = filteredCps(model, changed);
  const size = PAGE_SIZE[view.mode];
  const pages = Math.max(1, Math.ceil(cps.length / size));
  view.page = Math.min(view.page, pages - 1);
  const page = cps.slice(view.page * size, (view.page + 1) * size);
  const [on, off] = view.mode === 'tiles' ? [tileList, rowList] : [rowList, tileList];
  off.show([]);
  on.show(page);
  $('cps').classList.toggle('hidden', view.mode !== 'tiles');
  $('cp-table').classList.toggle('hidden', view.mode !== 'table');
  $('page-info').textContent = cps.length === 0 ? 'no charging point matches'
    : `${view.page * size + 1}–${view.page * size + page.length} of ${cps.length}` +
      `${cps.length < model.cps.size ? ` (filtered from ${model.cps.size})` : ''} · page ${view.page + 1} of ${pages}`;
  $('page-prev').disabled = view.page === 0;
  $('page-next').disabled = view.page >= pages - 1;
}

function setFilter(change) {
  Object.assign(view, change);
  if (!('page' in change)) view.page = 0;
  $('ops-state').value = view.state;
  $('view-tiles').setAttribute('aria-selected', view.mode === 'tiles');
  $('view-table').setAttribute('aria-selected', view.mode === 'table');
  if (network) network.schedule();
}

$('ops-search').oninput = (e) => setFilter({ query: normalizeQuery(e.target.value) });
$('ops-state').onchange = (e) => setFilter({ state: e.target.value });
$('ops-filters').onsubmit = (e) => e.preventDefault();
$('view-tiles').onclick = () => setFilter({ mode: 'tiles' });
$('view-table').onclick = () => setFilter({ mode: 'table' });
$('page-prev').onclick = () => setFilter({ page: view.page - 1 });
$('page-next').onclick = () => setFilter({ page: view.page + 1 });

// Live supplies: at most SUPPLY_ROWS rows, redrawn once a second (elapsed moves).
const SUPPLY_ROWS = 100;

function renderSupplies(model) {
  const supplying = [];
  for (const cp of model.cps.values()) if (supplyOf(cp)) supplying.push(cp);
  supplying.sort((a, b) => (a.chargingPoint.cpId < b.chargingPoint.cpId ? -1 : 1));
  $('supplies-note').textContent = supplying.length > SUPPLY_ROWS
    ? `${supplying.length} running, the first ${SUPPLY_ROWS} shown` : `${supplying.length} running`;
  $('supply-rows').replaceChildren(...supplying.slice(0, SUPPLY_ROWS).map((cp) => {
    const s = cp.supply;
    return h('tr', { 'data-testid': `supply-${cp.chargingPoint.cpId}` },
      h('td', {}, cp.chargingPoint.cpId), h('td', {}, s.driverId || 'walk-in'),
      h('td', {}, (s.phase || '').replace('SUPPLY_PHASE_', '').toLowerCase()),
      h('td', {}, kwh(s.energyWh)), h('td', {}, euros(s.amountMillieuros)), h('td', {}, kw(s.powerW)),
      h('td', { 'data-testid': `limit-${cp.chargingPoint.cpId}` }, Number(s.powerLimitW) > 0 ? kw(s.powerLimitW) : 'none'),
      h('td', {}, elapsed(s.startedAt || s.authorizedAt)));
  }));
}

// ---- network power and active supplies over the last hour ----
// Sampled from the live stream every 5 s in this page (no history is fetched:
// the plot starts when the dashboard opens), drawn on a canvas.
const SAMPLE_MS = 5000;
const WINDOW_MS = 60 * 60 * 1000;
const samples = [];

function sample(model) {
  let powerW = 0;
  let supplies = 0;
  for (const cp of model.cps.values()) {
    const s = supplyOf(cp);
    if (!s) continue;
    supplies++;
    powerW += Number(s.powerW || 0);
  }
  const now = Date.now();
  samples.push({ t: now, powerW, supplies });
  while (samples.length && samples[0].t < now - WINDOW_MS) samples.shift();
  drawPlot();
}

function drawPlot() {
  const canvas = $('plot');
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 220;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const pad = { l: 56, r: 48, t: 10, b: 22 };
  const w = width - pad.l - pad.r;
  const hgt = height - pad.t - pad.b;
  const now = Date.now();
  const maxKw = Math.max(1, ...samples.map((p) => p.powerW / 1000)) * 1.1;
  const maxN = Math.max(1, ...samples.map((p) => p.supplies)) * 1.1;
  const x = (t) => pad.l + w * (1 - (now - t) / WINDOW_MS);
  g.font = '11px system-ui, sans-serif';
  g.strokeStyle = '#e1e5ec';
  g.fillStyle = '#5d6675';
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + hgt * (i / 4);
    g.beginPath(); g.moveTo(pad.l, y); g.lineTo(pad.l + w, y); g.stroke();
    const v = maxKw * (1 - i / 4);
    g.textAlign = 'right'; g.fillText(maxKw >= 1000 ? `${(v / 1000).toFixed(1)} MW` : `${v.toFixed(0)} kW`, pad.l - 6, y + 4);
    g.textAlign = 'left'; g.fillText(`${Math.round(maxN * (1 - i / 4))}`, pad.l + w + 6, y + 4);
  }
  g.textAlign = 'center';
  for (const m of [60, 45, 30, 15, 0]) g.fillText(m ? `-${m} min` : 'now', pad.l + w * (1 - m / 60), height - 6);
  const line = (colour, value, max, dash) => {
    g.strokeStyle = colour; g.lineWidth = 2; g.setLineDash(dash); g.beginPath();
    samples.forEach((p, i) => {
      const px = x(p.t);
      const py = pad.t + hgt * (1 - value(p) / max);
      if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
    });
    g.stroke();
    g.fillStyle = colour;
    if (samples.length < 30) {
      for (const p of samples) {
        g.beginPath(); g.arc(x(p.t), pad.t + hgt * (1 - value(p) / max), 3, 0, 2 * Math.PI); g.fill();
      }
    }
  };
  // Dashed green over solid blue: both stay visible when they coincide.
  line('#2463eb', (p) => p.powerW / 1000, maxKw, []);
  line('#1e9e52', (p) => p.supplies, maxN, [6, 4]);
  g.setLineDash([]);
  const last = samples[samples.length - 1];
  $('plot-legend').textContent = last
    ? `blue: network power (left axis), now ${kw(last.powerW)} · dashed green: active supplies (right axis), now ${last.supplies}`
    : '';
}

// The weather panel appears when the edge serves the weather API: every
// watched city with its temperature and alert, and (simulated provider) a
// form to set a city's temperature.
let weatherOverrides = false;
let weatherRetry = 5000;  // ms between reads of the weather panel

async function loadWeather() {
  let res;
  try {
    res = await api('GET', '/v1/weather/cities');
  } catch (err) {
    // No weather service behind this edge: ask again later, less and less often
    // (it used to be every 5 s, each an error in the console).
    if (err.status === 404 || err.status === 503) {
      weatherRetry = Math.min(weatherRetry * 2, 300000);
      return;
    }
    $('weather-error').textContent = `weather: ${err.message}`;
    return;
  }
  weatherRetry = 5000;
  $('weather-error').textContent = '';
  $('weather-card').classList.remove('hidden');
  weatherOverrides = !!res.overridesSupported;
  $('weather-form').classList.toggle('hidden', !weatherOverrides);
  $('weather-provider').textContent = `provider: ${res.provider}`;
  const cities = res.cities || [];
  $('weather').replaceChildren(...cities.map((c) => {
    const t = c.latest ? `${Number(c.latest.temperatureC).toFixed(1)} °C` : '… °C';
    const key = `${c.city},${c.country}`;
    return h('div', { class: `tile ${c.inAlert ? 'state-OUT_OF_SERVICE' : 'state-ACTIVE'}`, 'data-testid': `weather-${c.city}`,
      'data-alert': c.inAlert ? 'true' : 'false' },
    h('span', { class: 'id' }, `${c.city} (${c.country})`),
    h('span', { class: 'badge' }, c.inAlert ? 'ALERT' : 'ok'),
    h('span', {}, t, c.overrideC !== undefined ? ' (set by operator)' : ''),
    c.latest && c.latest.conditions ? h('span', { class: 'where' }, c.latest.conditions) : null,
    h('span', { class: 'where' }, cpList(c.cpIds || [])),
    c.lastError ? h('span', { class: 'note' }, `last read failed: ${c.lastError}`) : null,
    weatherOverrides && c.overrideC !== undefined
      ? h('button', { class: 'secondary', onclick: () => setTemperature(key, null) }, 'Back to simulated') : null);
  }));
}

// A city's CPs, cut short at scale: "3 CPs: A, B, C" or "1000 CPs: A, B, C, D, E, …".
function cpList(ids) {
  const shown = ids.slice(0, 5).join(', ');
  return `${ids.length} CP${ids.length === 1 ? '' : 's'}${ids.length ? ': ' : ''}${shown}${ids.length > 5 ? ', …' : ''}`;
}

// `celsius` null: remove the override.
async function setTemperature(cityAndCountry, celsius) {
  const [city, country] = cityAndCountry.split(',').map((x) => x.trim());
  const verb = celsius === null ? 'clearTemperature' : 'setTemperature';
  const body = celsius === null ? { country: country || '' } : { country: country || '', temperatureC: celsius };
  try {
    const res = await api('POST', `/v1/weather/cities/${encodeURIComponent(city)}:${verb}`, body);
    note(res.inAlert ? 'SEVERITY_WARNING' : 'SEVERITY_INFO',
      `weather ${res.city}: ${celsius === null ? 'back to simulated' : `set to ${celsius} °C`}${res.inAlert ? ' — ALERT' : ''}`);
    $('weather-error').textContent = '';
  } catch (err) {
    $('weather-error').textContent = `weather ${city}: ${err.message}`;
  }
  loadWeather();
}

$('weather-form').onsubmit = (e) => {
  e.preventDefault();
  const f = Object.fromEntries(new FormData(e.target).entries());
  setTemperature(f.city, Number(f.celsius));
};

function start(who) {
  $('auth').classList.add('hidden');
  for (const id of ['overview', 'plot-card', 'supplies', 'feed-card', 'add-card', 'account-card', 'config-card']) {
    $(id).classList.remove('hidden');
  }
  loadConfig();
  $('who').textContent = `${who.username} (operator)`;
  $('logout').classList.remove('hidden');
  network = new NetworkModel(render);
  watch('/v1/network:watch', {
    onResult: (u) => network.apply(u,
      (m) => note(m.severity, m.text, m.cpId),
      (t) => note('SEVERITY_INFO', `ticket ${t.supplyId}: ${kwh(t.energyWh)}, ${euros(t.amountMillieuros)} — ${END_REASONS[t.endReason] || t.endReason}`, t.cpId)),
    onState: (s) => {
      $('live').textContent = s === 'live' ? 'live' : 'offline';
      $('live').classList.toggle('on', s === 'live');
      if (s === 'down') note('SEVERITY_WARNING', 'lost the live stream; reconnecting');
    },
  });
  setInterval(() => renderSupplies(network), 1000);
  setInterval(() => sample(network), SAMPLE_MS);
  setTimeout(() => sample(network), 1000);
  const weatherLoop = async () => {
    await loadWeather();
    setTimeout(weatherLoop, weatherRetry);
  };
  weatherLoop();
}

(async () => {
  const who = await currentUser();
  if (who && who.role === 'operator') start(who);
})();
