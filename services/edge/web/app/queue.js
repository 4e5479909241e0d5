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

function waitText(s) {
  if (s.estimatedWaitSeconds === undefined) return `no estimate (${s.estimateDetail || 'unknown'})`;
  const secs = Number(s.estimatedWaitSeconds);
  const text = secs < 120 ? `${secs} s` : `${Math.round(secs / 60)} min`;
  return `about ${text}${s.estimateDetail ? ` — ${s.estimateDetail}` : ''}`;
}

function show(status, charge) {
  const queued = !!status && status.position > 0;
  if (queued) localStorage.setItem(QUEUED_KEY, '1');
  else localStorage.removeItem(QUEUED_KEY);
  $('queue-form').classList.toggle('hidden', queued);
  $('queue-status').classList.toggle('hidden', !queued);
  if (!queued) {
    if (timer) clearInterval(timer);
    timer = null;
    return;
  }
  const where = status.address ? `${status.address}, ${status.city}` : status.city;
  $('queue-position').textContent = `Position ${status.position} of ${status.queueLength} at ${where}`;
  $('queue-estimate').textContent = status.offeredCpId ? '' : waitText(status);
  const offer = $('queue-offer');
  if (status.offeredCpId) {
    const until = status.offerExpiresAt ? new Date(status.offerExpiresAt).toLocaleTimeString() : '';
    offer.replaceChildren(
      h('span', {}, `${status.offeredCpId} is held for you until ${until}. `),
      h('button', { 'data-testid': 'queue-charge', onclick: () => charge(status.offeredCpId) },
        `Charge at ${status.offeredCpId}`));
  } else {
    offer.replaceChildren();
  }
  if (!timer) timer = setInterval(() => refresh(charge), REFRESH_MS);
}

async function refresh(charge) {
  try {
    show(await api('GET', '/v1/queues:mine'), charge);
  } catch (err) {
    // 404: not (or no longer) queued — served, left or the offer expired.
    if (err.status !== 404) $('queue-error').textContent = err.message;
    show(null, charge);
  }
}

// `charge(cpId)`: the app's own charge request, used for the CP offered.
export function initQueue(charge) {
  $('queue').classList.remove('hidden');
  $('queue-form').onsubmit = async (e) => {
    e.preventDefault();
    $('queue-error').textContent = '';
    const f = e.target.elements;
    try {
      const status = await api('POST', '/v1/queues:join', {
        city: f.city.value.trim(),
        address: f.address.value.trim(),
        requestedEnergyWh: Math.round(Number(f.energyKwh.value || 0) * 1000),
      });
      show(status, charge);
    } catch (err) {
      $('queue-error').textContent = err.message;
    }
  };
  $('queue-leave').onclick = async () => {
    $('queue-error').textContent = '';
    try {
      show(await api('POST', '/v1/queues:leave', {}), charge);
    } catch (err) {
      $('queue-error').textContent = err.message;
      refresh(charge);
    }
  };
  if (localStorage.getItem(QUEUED_KEY)) refresh(charge);
}

// A busy tile's location, put in the form (the driver then joins).
export function prefillQueue(location) {
  const f = $('queue-form').elements;
  f.city.value = location.city || '';
  f.address.value = location.address || '';
}
