// The driver web app: account, the network's charging points, a charge
// followed live, its ticket and the history of past charges.
import {
  api, login, logout, currentUser, watch, NetworkModel, KeyedList, StableOrder, matchesSearch, normalizeQuery, h,
  STATE_NAMES, END_REASONS, stateClass, euros, kwh, kw, pricePerKwh, when, elapsed, parseIdTags, idTagsText,
  idTagsChanged,
} from '/shared/api.js';
import { initQueue, prefillQueue, queueEnded } from './queue.js';

const $ = (id) => document.getElementById(id);
const LAST_SUPPLY_KEY = 'evc.lastSupply';
let me = null;
let network = null;
let supplyStream = null;
let current = null;  // the supply being followed
let profile = null;  // the account as last loaded or saved

// ---- account ----

function showTab(which) {
  $('tab-login').setAttribute('aria-selected', which === 'login');
  $('tab-signup').setAttribute('aria-selected', which === 'signup');
  $('login-form').classList.toggle('hidden', which !== 'login');
  $('signup-form').classList.toggle('hidden', which !== 'signup');
  $('auth-error').textContent = '';
}

const formData = (form) => Object.fromEntries(new FormData(form).entries());

$('tab-login').onclick = () => showTab('login');
$('tab-signup').onclick = () => showTab('signup');

$('login-form').onsubmit = async (e) => {
  e.preventDefault();
  const { username, password } = formData(e.target);
  try {
    me = await login(username, password);
    start();
  } catch (err) {
    $('auth-error').textContent = err.message;
  }
};

$('signup-form').onsubmit = async (e) => {
  e.preventDefault();
  const data = formData(e.target);
  try {
    await api('POST', '/v1/accounts', data);
    me = await login(data.username, data.password);
    start();
  } catch (err) {
    $('auth-error').textContent = err.message;
  }
};

$('logout').onclick = async () => {
  await logout();
  location.reload();
};

// The update mask's path for each form field sent.
const MASK_PATHS = { name: 'name', email: 'email', newPassword: 'password', idTags: 'idTags' };

$('profile-form').onsubmit = async (e) => {
  e.preventDefault();
  // Only what changed: an unchanged email sent again would ask for the current password.
  const { idTags, ...fields } = formData(e.target);
  const data = Object.fromEntries(Object.entries(fields)
    .filter(([k, v]) => v !== '' && !(profile && (k === 'name' || k === 'email') && profile[k] === v)));
  const tags = parseIdTags(idTags);
  if (idTagsChanged(tags, profile)) {
    data.idTags = tags;
    // Named in the mask, so that removing the last card is a change too.
    data.updateMask = Object.keys(data).filter((k) => MASK_PATHS[k]).map((k) => MASK_PATHS[k]).join(',');
  }
  try {
    const account = await api('PATCH', `/v1/accounts/${encodeURIComponent(me.username)}`, data);
    profile = account;
    e.target.elements.idTags.value = idTagsText(account.idTags);
    const cards = account.idTags?.length ? `; RFID cards ${idTagsText(account.idTags)}` : '';
    $('profile-status').textContent = `Saved (${account.name}, ${account.email}${cards}).`;
    for (const f of ['newPassword', 'newPasswordConfirmation', 'currentPassword']) e.target.elements[f].value = '';
  } catch (err) {
    $('profile-status').textContent = err.message;
  }
};

// ---- the network ----
// At 5,000 CPs the list is searched (city, address or id), can be cut to the
// CPs free now, and is shown a page at a time ("Show more"). Order: free CPs
// first, then by city, address and id; or, when the driver asks for it and the
// browser tells where they are, nearest first (CPs without coordinates after
// those with them, in the usual order), each with its distance.

const PAGE = 20;
let shown = PAGE;
let query = '';
let freeOnly = false;
const FREE = 'CP_STATE_ACTIVE';
// Free first, then charging, out of service, faulted, disconnected; within
// each, by city, address and id (a fixed order, so a frame only partitions it).
const RANK = { CP_STATE_ACTIVE: 0, CP_STATE_SUPPLYING: 1, CP_STATE_OUT_OF_SERVICE: 2, CP_STATE_FAULTED: 3 };
const order = new StableOrder((cp) => {
  const loc = cp.chargingPoint.location || {};
  return `${(loc.city || '').toLowerCase()}\u0000${(loc.address || '').toLowerCase()}\u0000${cp.chargingPoint.cpId}`;
});

// Where the driver is ({latitude, longitude}) while "nearest first" is on, else null.
let here = null;
const EARTH_RADIUS_KM = 6371.0088;
const radians = (degrees) => (Number(degrees || 0) * Math.PI) / 180;

// Great-circle distance (haversine) from the driver to the CP, in km; null
// when either position is unknown. (A zero may be left out of protobuf JSON, hence || 0.)
function distanceKm(cp) {
  const at = (cp.chargingPoint.location || {}).coordinates;
  if (!here || !at) return null;
  const dLat = radians(at.latitude) - radians(here.latitude);
  const dLon = radians(at.longitude) - radians(here.longitude);
  const a = Math.sin(dLat / 2) ** 2 +
    Math.cos(radians(here.latitude)) * Math.cos(radians(at.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}
const kmText = (km) => `${km < 10 ? km.toFixed(1) : Math.round(km)} km`;

function cpTile(cp) {
  const id = cp.chargingPoint.cpId;
  const loc = cp.chargingPoint.location || {};
  const mine = cp.supply && cp.supply.driverId === me.username;
  const canCharge = cp.state === FREE && !current;
  const km = distanceKm(cp);
  return h('div', { class: `tile ${stateClass(cp.state)}`, 'data-testid': `cp-${id}`, 'data-state': cp.state },
    h('span', { class: 'id' }, id),
    h('span', { class: 'badge' }, mine ? 'Your charge' : STATE_NAMES[cp.state] || cp.state),
    h('span', { class: 'where' }, `${loc.address || ''}, ${loc.city || ''}`),
    km === null ? null : h('span', { class: 'distance', 'data-testid': `distance-${id}` }, `${kmText(km)} away`),
    h('span', { class: 'price' }, pricePerKwh(cp.chargingPoint.priceMillieurosPerKwh)),
    h('button', { disabled: !canCharge, 'data-testid': `charge-${id}`, onclick: () => charge(id) }, 'Charge here'),
    cp.state === 'CP_STATE_SUPPLYING' && !mine
      ? h('button', { class: 'secondary', 'data-testid': `queue-at-${id}`, onclick: () => prefillQueue(loc) }, 'Queue here')
      : null);
}

let tiles = null;

function renderCps(model, changed = { all: true, ids: new Set() }) {
  if (!tiles) tiles = new KeyedList($('cps'), (cp) => cp.chargingPoint.cpId, (cp) => cp, cpTile);
  const ranked = [[], [], [], [], []];
  let free = 0;
  for (const id of order.update(model, changed)) {
    const cp = model.cps.get(id);
    if (!matchesSearch(cp, query)) continue;
    if (cp.state === FREE) free++;
    if (freeOnly && cp.state !== FREE) continue;
    ranked[RANK[cp.state] ?? 4].push(cp);
  }
  const matching = here ? nearestFirst(ranked.flat()) : ranked.flat();
  tiles.show(matching.slice(0, shown));
  $('cp-summary').textContent = `${matching.length} of ${model.cps.size} charging points${query ? ' matching' : ''}` +
    ` · ${free} free now${matching.length > shown ? ` · showing ${shown}` : ''}`;
  $('cp-more').classList.toggle('hidden', matching.length <= shown);
  // A charge of ours that runs but is not followed (page reloaded): follow it.
  if (!current) {
    for (const cp of model.cps.values()) {
      if (cp.supply && cp.supply.driverId === me.username && cp.supply.supplyId) { follow(cp.supply.supplyId); break; }
    }
  }
}

// The CPs with coordinates by distance, then the others in the order given
// (a stable sort keeps it).
function nearestFirst(cps) {
  const km = new Map(cps.map((cp) => [cp, distanceKm(cp)]));
  return cps.sort((a, b) => {
    const da = km.get(a);
    const db = km.get(b);
    if (da === null || db === null) return (da === null) - (db === null);
    return da - db;
  });
}

// Whether the driver may charge depends on `current` too: redraw every tile.
function redrawAll() {
  if (!network) return;
  if (tiles) tiles.invalidate();
  network.schedule();
}

$('cp-search').oninput = (e) => { query = normalizeQuery(e.target.value); shown = PAGE; redrawAll(); };
$('cp-free').onchange = (e) => { freeOnly = e.target.checked; shown = PAGE; redrawAll(); };
$('cp-filters').onsubmit = (e) => e.preventDefault();
$('cp-more').onclick = () => { shown += PAGE; redrawAll(); };

// The position is asked for only when the driver picks "nearest first", once
// per pick; a refusal or a failure says why and keeps the usual order.
function sortBy(choice) {
  here = null;
  shown = PAGE;
  $('cp-where').textContent = '';
  $('cp-where-error').textContent = '';
  if (choice !== 'nearest') return redrawAll();
  if (!navigator.geolocation) return cannotLocate('this browser cannot tell where you are');
  $('cp-where').textContent = 'Finding where you are…';
  // Either answer may come after the driver changed the order back: it is then ignored.
  const stillWanted = () => $('cp-sort').value === 'nearest';
  navigator.geolocation.getCurrentPosition((position) => {
    if (!stillWanted()) return;
    here = { latitude: position.coords.latitude, longitude: position.coords.longitude };
    const accuracy = Math.round(position.coords.accuracy || 0);
    $('cp-where').textContent = `Nearest first from where you are${accuracy > 0 ? ` (within ${accuracy} m)` : ''};` +
      ' charging points without coordinates come last.';
    redrawAll();
  }, (err) => stillWanted() && cannotLocate(err.code === err.PERMISSION_DENIED
    ? 'you did not allow this site to know your location (allow it in the browser\'s site settings and pick "Nearest first" again)'
    : `your location is not available (${err.message || 'no position'})`),
  { timeout: 15000, maximumAge: 60000 });
}

function cannotLocate(why) {
  $('cp-sort').value = 'free';
  $('cp-where').textContent = '';
  $('cp-where-error').textContent = `Cannot sort by distance: ${why}. Showing free charging points first.`;
  redrawAll();
}

$('cp-sort').onchange = (e) => sortBy(e.target.value);

// Whether the charge was accepted. A driver who charges is no longer queued
// anywhere (served at the CP offered, or charging elsewhere): the queue panel
// is told, rather than learning it from a 404 on its next refresh.
async function charge(cpId) {
  $('charge-error').textContent = '';
  try {
    const res = await api('POST', `/v1/charging-points/${encodeURIComponent(cpId)}:charge`,
      { requestId: crypto.randomUUID() });
    queueEnded();
    follow(res.supply.supplyId);
    return true;
  } catch (err) {
    $('charge-error').textContent = `${cpId}: ${err.message}`;
    return false;
  }
}

// ---- one supply, live ----

function follow(supplyId) {
  if (current && current.supplyId === supplyId) return;
  if (supplyStream) supplyStream.close();
  current = { supplyId };
  localStorage.setItem(LAST_SUPPLY_KEY, supplyId);
  $('supply').classList.remove('hidden');
  $('supply-error').textContent = '';
  redrawAll();
  supplyStream = watch(`/v1/supplies/${encodeURIComponent(supplyId)}:watch`, {
    onResult: (view) => showSupply(view),
    onError: (err) => { $('supply-error').textContent = err.message; },
  });
}

function showSupply(view) {
  const s = view.supply;
  current = s;
  $('supply-cp').textContent = s.cpId;
  $('supply-phase').textContent = {
    SUPPLY_PHASE_AUTHORIZED: '— plug your vehicle in',
    SUPPLY_PHASE_CHARGING: '— charging',
    SUPPLY_PHASE_STOPPING: '— stopping…',
    SUPPLY_PHASE_ENDED: '— ended',
  }[s.phase] || '';
  $('fig-energy').textContent = kwh(s.energyWh);
  $('fig-amount').textContent = euros(s.amountMillieuros);
  $('fig-power').textContent = kw(s.powerW);
  // Central's limit for this supply (the CP's maximum or its site's fair share).
  $('fig-limit').textContent = Number(s.powerLimitW) > 0 ? kw(s.powerLimitW) : 'none';
  $('fig-price').textContent = pricePerKwh(s.priceMillieurosPerKwh);
  $('stop').disabled = s.phase === 'SUPPLY_PHASE_STOPPING';
  if (view.ticket && view.ticket.supplyId) {
    newestTicket = view.ticket;
    showTicket(view.ticket);
    $('supply').classList.add('hidden');
    current = null;
    if (supplyStream) supplyStream.close();
    supplyStream = null;
    loadHistory();
    redrawAll();
  }
}

setInterval(() => {
  if (current && current.startedAt) $('fig-elapsed').textContent = elapsed(current.startedAt);
}, 1000);

$('stop').onclick = async () => {
  if (!current) return;
  $('stop').disabled = true;
  try {
    await api('POST', `/v1/supplies/${encodeURIComponent(current.supplyId)}:stop`, {});
  } catch (err) {
    $('supply-error').textContent = err.message;
    $('stop').disabled = false;
  }
};

function showTicket(t) {
  $('ticket').classList.remove('hidden');
  $('ticket-body').replaceChildren(
    h('div', { 'data-testid': 'ticket-cp' }, h('strong', {}, t.cpId), ` — supply ${t.supplyId}`),
    h('div', {}, `From ${when(t.startedAt)} to ${when(t.endedAt)} (${elapsed(t.startedAt, t.endedAt)})`),
    h('div', { 'data-testid': 'ticket-figures' }, `${kwh(t.energyWh)} at `,
      h('span', { 'data-testid': 'ticket-price' }, pricePerKwh(t.priceMillieurosPerKwh)), ' = ',
      h('strong', { 'data-testid': 'ticket-amount' }, euros(t.amountMillieuros))),
    h('div', { class: 'note', 'data-testid': 'ticket-price-note' },
      'The price is the one fixed when this charge started; a price change applies to new charges only.'),
    h('div', { 'data-testid': 'ticket-reason' }, END_REASONS[t.endReason] || t.endReason));
}

async function loadLastTicket() {
  const last = localStorage.getItem(LAST_SUPPLY_KEY);
  if (!last) return;
  try {
    const view = await api('GET', `/v1/supplies/${encodeURIComponent(last)}`);
    if (view.ticket && view.ticket.supplyId) showTicket(view.ticket);
    else follow(last);
  } catch { /* gone: nothing to show */ }
}

// The ticket just received: the list read right after it may not hold it yet
// (central writes it to the database on its own time), so it is put first.
let newestTicket = null;

async function loadHistory() {
  try {
    const res = await api('GET', '/v1/tickets?limit=20');
    const tickets = res.tickets || [];
    if (newestTicket && !tickets.some((t) => t.supplyId === newestTicket.supplyId)) tickets.unshift(newestTicket);
    $('history-rows').replaceChildren(...tickets.map((t) => h('tr', {},
      h('td', {}, t.cpId), h('td', {}, when(t.startedAt)), h('td', {}, kwh(t.energyWh)),
      h('td', {}, pricePerKwh(t.priceMillieurosPerKwh)),
      h('td', {}, euros(t.amountMillieuros)), h('td', {}, END_REASONS[t.endReason] || t.endReason))));
  } catch (err) {
    $('history-rows').replaceChildren(h('tr', {}, h('td', { colspan: 6 }, err.message)));
  }
}

async function loadProfile() {
  const account = await api('GET', `/v1/accounts/${encodeURIComponent(me.username)}`);
  profile = account;
  const f = $('profile-form').elements;
  f.name.value = account.name;
  f.email.value = account.email;
  f.idTags.value = idTagsText(account.idTags);
}

// ---- start ----

function start() {
  $('auth').classList.add('hidden');
  for (const id of ['network', 'history', 'profile']) $(id).classList.remove('hidden');
  $('who').textContent = me.username;
  $('logout').classList.remove('hidden');
  network = new NetworkModel(renderCps);
  watch('/v1/network:watch', {
    onResult: (u) => network.apply(u),
    onState: (s) => {
      $('live').textContent = s === 'live' ? 'live' : 'offline';
      $('live').classList.toggle('on', s === 'live');
    },
  });
  initQueue(charge);
  loadLastTicket();
  loadHistory();
  loadProfile().catch(() => {});
}

(async () => {
  me = await currentUser();
  if (me) start();
})();
