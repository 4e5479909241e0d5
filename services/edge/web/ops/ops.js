// The operations dashboard: every CP with its state colour, live supplies,
// the message feed, weather per city, and the operator's commands.
import {
  api, login, logout, currentUser, watch, NetworkModel, h, STATE_NAMES, END_REASONS, stateClass,
  euros, kwh, kw, pricePerKwh, when, elapsed,
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
    note('SEVERITY_INFO', `${what}: ${(res.affectedCpIds || []).join(', ') || 'nothing to change'}`);
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

$('add-form').onsubmit = async (e) => {
  e.preventDefault();
  const f = Object.fromEntries(new FormData(e.target).entries());
  try {
    const res = await api('POST', '/v1/registry/charging-points', {
      cpId: f.cpId,
      location: { address: f.address, city: f.city, country: f.country.toUpperCase() },
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

function note(severity, text, cpId = '') {
  const line = h('div', { class: `sev-${severity}` }, `${new Date().toLocaleTimeString()} `,
    cpId ? h('strong', {}, `${cpId} `) : '', text);
  $('feed').prepend(line);
  while ($('feed').children.length > 200) $('feed').lastChild.remove();
}

function render(model) {
  const cps = model.sorted();
  const counts = {};
  for (const cp of cps) counts[cp.state] = (counts[cp.state] || 0) + 1;
  $('counts').replaceChildren(...Object.keys(STATE_NAMES).map((s) =>
    h('span', { class: stateClass(s), 'data-testid': `count-${s}` },
      h('span', { class: 'badge' }, `${STATE_NAMES[s]}: ${counts[s] || 0}`))));

  $('cps').replaceChildren(...cps.map((cp) => {
    const id = cp.chargingPoint.cpId;
    const loc = cp.chargingPoint.location || {};
    const holds = (cp.holdDetails || []).map((d) => d.detail || HOLDS[d.reason] || d.reason);
    const s = cp.supply && cp.supply.supplyId ? cp.supply : null;
    return h('div', { class: `tile ${stateClass(cp.state)}`, 'data-testid': `cp-${id}`, 'data-state': cp.state },
      h('span', { class: 'id' }, id),
      h('span', { class: 'badge' }, STATE_NAMES[cp.state] || cp.state),
      h('span', { class: 'where' }, `${loc.city || ''} · ${pricePerKwh(cp.chargingPoint.priceMillieurosPerKwh)}`),
      holds.length ? h('span', { class: 'note', 'data-testid': `holds-${id}` },
        `${s ? 'then held' : 'held'}: ${holds.join('; ')}`) : null,
      cp.faultDetail ? h('span', { class: 'note' }, cp.faultDetail) : null,
      s ? h('span', { class: 'note' }, `${s.driverId || 'walk-in'} · ${kwh(s.energyWh)} · ${euros(s.amountMillieuros)}`) : null,
      h('div', {},
        h('button', { class: 'danger', 'data-testid': `stop-${id}`, onclick: () => act(`stop ${id}`, `/v1/charging-points/${encodeURIComponent(id)}:stop`) }, 'Stop'),
        ' ',
        h('button', { 'data-testid': `resume-${id}`, onclick: () => act(`resume ${id}`, `/v1/charging-points/${encodeURIComponent(id)}:resume`) }, 'Resume'),
        ' ',
        h('button', { class: 'secondary', 'data-testid': `remove-${id}`, onclick: () => remove(id) }, 'Remove')));
  }));

  const supplying = cps.filter((cp) => cp.supply && cp.supply.supplyId);
  $('supply-rows').replaceChildren(...supplying.map((cp) => {
    const s = cp.supply;
    return h('tr', { 'data-testid': `supply-${cp.chargingPoint.cpId}` },
      h('td', {}, cp.chargingPoint.cpId), h('td', {}, s.driverId || 'walk-in'),
      h('td', {}, (s.phase || '').replace('SUPPLY_PHASE_', '').toLowerCase()),
      h('td', {}, kwh(s.energyWh)), h('td', {}, euros(s.amountMillieuros)), h('td', {}, kw(s.powerW)),
      h('td', { 'data-testid': `limit-${cp.chargingPoint.cpId}` }, Number(s.powerLimitW) > 0 ? kw(s.powerLimitW) : 'none'),
      h('td', {}, elapsed(s.startedAt || s.authorizedAt)));
  }));
}

// The weather panel appears when the edge serves the weather API: every
// watched city with its temperature and alert, and (simulated provider) a
// form to set a city's temperature.
let weatherOverrides = false;

async function loadWeather() {
  let res;
  try {
    res = await api('GET', '/v1/weather/cities');
  } catch (err) {
    if (err.status === 404 || err.status === 503) return;  // no weather service behind this edge
    $('weather-error').textContent = `weather: ${err.message}`;
    return;
  }
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
    h('span', { class: 'where' }, (c.cpIds || []).join(', ')),
    c.lastError ? h('span', { class: 'note' }, `last read failed: ${c.lastError}`) : null,
    weatherOverrides && c.overrideC !== undefined
      ? h('button', { class: 'secondary', onclick: () => setTemperature(key, null) }, 'Back to simulated') : null);
  }));
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
  for (const id of ['overview', 'supplies', 'feed-card', 'add-card']) $(id).classList.remove('hidden');
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
  setInterval(() => network && render(network), 1000);
  loadWeather();
  setInterval(loadWeather, 5000);
}

(async () => {
  const who = await currentUser();
  if (who && who.role === 'operator') start(who);
})();
