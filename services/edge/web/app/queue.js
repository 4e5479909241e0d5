// The driver's place in a queue (issue 20): join the queue of a busy city or
// site, see the position and estimated wait (asked again every few seconds),
// take the charging point offered, or leave. Central decides everything; this
// only shows what GET /v1/queues:mine says.
import { api, h } from '/shared/api.js';

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000;
// Set while this browser's driver is queued: only then is the place asked for
// on load (for a driver who never queued the answer is a 404).
const QUEUED_KEY = 'evc.queued';
let timer = null;
let inflight = null;  // the refresh under way, if any
// Bumped whenever the place is known to be gone: an answer to a refresh sent
// before then is stale and not shown.
let epoch = 0;
let chargeAt = () => Promise.resolve(false);

function waitText(s) {
  if (s.estimatedWaitSeconds === undefined) return `no estimate (${s.estimateDetail || 'unknown'})`;
  const secs = Number(s.estimatedWaitSeconds);
  const text = secs < 120 ? `${secs} s` : `${Math.round(secs / 60)} min`;
  return `about ${text}${s.estimateDetail ? ` — ${s.estimateDetail}` : ''}`;
}

function stopRefreshing() {
  if (timer) clearInterval(timer);
  timer = null;
}

// No refresh running or due (one under way may have started the timer again).
async function quiet() {
  stopRefreshing();
  if (inflight) await inflight;
  stopRefreshing();
}

function show(status) {
  const queued = !!status && status.position > 0;
  if (queued) localStorage.setItem(QUEUED_KEY, '1');
  else localStorage.removeItem(QUEUED_KEY);
  $('queue-form').classList.toggle('hidden', queued);
  $('queue-status').classList.toggle('hidden', !queued);
  if (!queued) {
    stopRefreshing();
    return;
  }
  $('queue-note').textContent = '';
  const where = status.address ? `${status.address}, ${status.city}` : status.city;
  $('queue-position').textContent = `Position ${status.position} of ${status.queueLength} at ${where}`;
  $('queue-wait').classList.toggle('hidden', !!status.offeredCpId);
  $('queue-estimate').textContent = status.offeredCpId ? '' : waitText(status);
  const offer = $('queue-offer');
  if (status.offeredCpId) {
    const until = status.offerExpiresAt ? new Date(status.offerExpiresAt).toLocaleTimeString() : '';
    offer.replaceChildren(
      h('span', {}, `${status.offeredCpId} is free and held for you until ${until}. `),
      h('button', { 'data-testid': 'queue-charge', onclick: () => takeOffer(status.offeredCpId) },
        `Charge at ${status.offeredCpId}`));
  } else {
    offer.replaceChildren();
  }
  if (!timer) timer = setInterval(refresh, REFRESH_MS);
}

function refresh() {
  if (inflight) return inflight;
  const asked = epoch;
  inflight = (async () => {
    try {
      const status = await api('GET', '/v1/queues:mine');
      if (asked === epoch) show(status);
    } catch (err) {
      if (asked !== epoch) return;
      if (err.status === 404) {
        // Not (or no longer) queued: the offer expired, or an operator removed the place.
        show(null);
        $('queue-note').textContent = 'You are no longer in a queue.';
      } else {
        $('queue-error').textContent = err.message;
      }
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

// The CP offered: no refresh may cross the charge request (it would be
// answered 404 once the driver is served), so refreshing stops first.
async function takeOffer(cpId) {
  $('queue-error').textContent = '';
  await quiet();
  if (!(await chargeAt(cpId))) refresh();
}

// `charge(cpId)`: the app's own charge request (true when accepted), used
// for the CP offered.
export function initQueue(charge) {
  chargeAt = charge;
  $('queue').classList.remove('hidden');
  $('queue-form').onsubmit = async (e) => {
    e.preventDefault();
    $('queue-error').textContent = '';
    $('queue-note').textContent = '';
    const f = e.target.elements;
    try {
      const status = await api('POST', '/v1/queues:join', {
        city: f.city.value.trim(),
        address: f.address.value.trim(),
        requestedEnergyWh: Math.round(Number(f.energyKwh.value || 0) * 1000),
      });
      show(status);
    } catch (err) {
      $('queue-error').textContent = err.message;
    }
  };
  $('queue-leave').onclick = async () => {
    $('queue-error').textContent = '';
    await quiet();
    try {
      show(await api('POST', '/v1/queues:leave', {}));
      $('queue-note').textContent = 'You left the queue.';
    } catch (err) {
      $('queue-error').textContent = err.message;
      refresh();
    }
  };
  if (localStorage.getItem(QUEUED_KEY)) refresh();
}

// The driver's charge was accepted: whatever queue they were in, they have
// left it (central serves them or counts them as charging elsewhere).
export function queueEnded() {
  epoch++;
  if ($('queue-status').classList.contains('hidden')) return;
  show(null);
  $('queue-note').textContent = '';
}

// A busy tile's location, put in the form (the driver then joins).
export function prefillQueue(location) {
  const f = $('queue-form').elements;
  f.city.value = location.city || '';
  f.address.value = location.address || '';
  $('queue').scrollIntoView({ block: 'nearest' });
}
