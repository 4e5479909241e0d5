// Browser end to end: the driver app and the operations dashboard in Debian's
// headless Chromium, against a running edge. Run by the edge integration test
// (which starts a private network), or by hand:
//   BASE_URL=http://127.0.0.1:8080 ADMIN_PASSWORD_FILE=.evc/accounts/admin.password \
//   CHARGE_CP=BCN-001 STOP_CP=BCN-001 WEATHER_CITY=Barcelona node tests/browser/e2e.mjs
// (BCN-001: the one demo CP that the demo driver does not charge at.)
// Screenshots go to OUT_DIR (default ./screenshots).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`set ${name}`);
  return v;
};
const BASE = env('BASE_URL');
const ADMIN = env('ADMIN_USER', 'admin');
const ADMIN_PASSWORD = readFileSync(env('ADMIN_PASSWORD_FILE'), 'utf8').trim();
const CHARGE_CP = env('CHARGE_CP');
const STOP_CP = env('STOP_CP');
const OUT = env('OUT_DIR', 'screenshots');
// The city of STOP_CP: when set, the operator also raises a heat wave there
// from the weather panel (needs an edge with --weather).
const WEATHER_CITY = env('WEATHER_CITY', '');
const DRIVER = `eva-${Date.now().toString(36)}`;
const PASSWORD = 'volt-Age-2026';
const ORANGE = 'rgb(232, 134, 12)';

mkdirSync(OUT, { recursive: true });
const step = (text) => console.log(`• ${text}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const pages = [];
// Every request that failed or was answered 4xx/5xx, per page: loading either
// app must not ask for anything the edge does not have.
const failedRequests = [];
// (A request aborted by the page itself, e.g. by a reload, is not a failure.)
const recordFailures = (name, page) => {
  page.on('requestfailed', (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && failedRequests.push(`${name}: ${r.method()} ${r.url()} failed (${r.failure()?.errorText})`));
  page.on('response', (r) => { if (r.status() >= 400) failedRequests.push(`${name}: ${r.request().method()} ${r.url()} answered ${r.status()}`); });
};
const shot = async (page, name) => page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
const tileState = (page, cp) => page.getByTestId(`cp-${cp}`).getAttribute('data-state');
const waitTileState = (page, cp, state) =>
  page.waitForSelector(`[data-testid="cp-${cp}"][data-state="${state}"]`, { timeout: 20000 });

try {
  // ---- a driver on a phone-sized screen ----
  const driverContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const driver = await driverContext.newPage();
  pages.push(['driver', driver]);
  recordFailures('driver', driver);
  driver.on('pageerror', (e) => console.error(`driver page error: ${e.message}`));
  await driver.goto(`${BASE}/app/`);

  step(`driver ${DRIVER} signs up`);
  await driver.click('#tab-signup');
  await driver.getByTestId('signup-username').fill(DRIVER);
  await driver.getByTestId('signup-name').fill('Eva Test');
  await driver.getByTestId('signup-email').fill(`${DRIVER}@example.com`);
  await driver.getByTestId('signup-password').fill(PASSWORD);
  await driver.getByTestId('signup-confirm').fill(PASSWORD);
  await driver.getByTestId('signup-submit').click();
  await driver.getByTestId('who').filter({ hasText: DRIVER }).waitFor();

  step('logs out and in again');
  await driver.getByTestId('logout').click();
  await driver.getByTestId('login-username').fill(DRIVER);
  await driver.getByTestId('login-password').fill(PASSWORD);
  await driver.getByTestId('login-submit').click();
  await driver.getByTestId('who').filter({ hasText: DRIVER }).waitFor();
  await waitTileState(driver, CHARGE_CP, 'CP_STATE_ACTIVE');
  await shot(driver, '01-driver-network');

  step(`charges at ${CHARGE_CP} and sees the figures move`);
  await driver.getByTestId(`charge-${CHARGE_CP}`).click();
  await driver.getByTestId('supply').waitFor({ state: 'visible' });
  const energy = driver.getByTestId('energy');
  const readings = new Set();
  const amountShown = () => driver.getByTestId('amount').textContent();
  // Live figures: the energy moves several times and the cost leaves zero.
  for (let i = 0; i < 60 && (readings.size < 3 || (await amountShown()) === '0.00 €'); i++) {
    readings.add(await energy.textContent());
    await driver.waitForTimeout(500);
  }
  assert.ok(readings.size >= 3, `energy figure did not change: ${[...readings].join(' | ')}`);
  assert.notEqual(await amountShown(), '0.00 €');
  assert.match(await driver.getByTestId('power').textContent(), /kW$/);
  assert.notEqual(await driver.getByTestId('elapsed').textContent(), '0:00');
  await shot(driver, '02-driver-charging');

  step('stops and gets the ticket');
  await driver.getByTestId('stop').click();
  await driver.getByTestId('ticket').waitFor({ state: 'visible', timeout: 20000 });
  assert.match(await driver.getByTestId('ticket-reason').textContent(), /Stopped by the driver/);
  const amount = await driver.getByTestId('ticket-amount').textContent();
  assert.match(amount, /^\d+\.\d\d €$/);
  assert.notEqual(amount, '0.00 €');
  await shot(driver, '03-driver-ticket');

  step('reloads: the ticket and the history are still there');
  await driver.reload();
  await driver.getByTestId('ticket').waitFor({ state: 'visible' });
  assert.equal(await driver.getByTestId('ticket-amount').textContent(), amount);
  assert.match(await driver.getByTestId('ticket-cp').textContent(), new RegExp(CHARGE_CP));
  await driver.locator('[data-testid="history"] tr').first().waitFor();
  assert.equal(await driver.locator('[data-testid="history"] tr').count(), 1);
  await shot(driver, '04-driver-after-reload');

  // ---- an operator on the dashboard ----
  const opsContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const ops = await opsContext.newPage();
  pages.push(['ops', ops]);
  recordFailures('ops', ops);
  ops.on('pageerror', (e) => console.error(`ops page error: ${e.message}`));
  await ops.goto(`${BASE}/ops/`);
  step('operator logs in');
  await ops.getByTestId('login-username').fill(ADMIN);
  await ops.getByTestId('login-password').fill(ADMIN_PASSWORD);
  await ops.getByTestId('login-submit').click();
  await waitTileState(ops, STOP_CP, 'CP_STATE_ACTIVE');
  await shot(ops, '05-ops-network');
  step('loading both apps asked for nothing missing');
  assert.deepEqual(failedRequests, [], failedRequests.join('\n'));
  // Chromium asks for /favicon.ico (a 404: the edge has none) unless the page names an
  // icon; that request is the browser's own and not among the page's requests above.
  for (const [name, page] of pages) {
    const icon = await page.getAttribute('link[rel="icon"]', 'href');
    assert.ok(icon, `${name}: no icon declared`);
    assert.equal((await page.request.get(new URL(icon, BASE).href)).status(), 200, `${name}: icon ${icon}`);
  }

  step(`operator stops ${STOP_CP}: orange for both`);
  await ops.getByTestId(`stop-${STOP_CP}`).click();
  await waitTileState(ops, STOP_CP, 'CP_STATE_OUT_OF_SERVICE');
  await waitTileState(driver, STOP_CP, 'CP_STATE_OUT_OF_SERVICE');
  for (const [name, page] of pages) {
    // The tile is redrawn on every update: read it until it settles (5 s at most).
    const look = () => page.getByTestId(`cp-${STOP_CP}`)
      .evaluate((el) => ({ colour: getComputedStyle(el).borderLeftColor, state: el.dataset.state }));
    let seen = await look();
    for (let i = 0; i < 25 && seen.colour !== ORANGE; i++) {
      await page.waitForTimeout(200);
      seen = await look();
    }
    assert.equal(seen.colour, ORANGE, `${name}: ${STOP_CP} tile is ${seen.colour} in state ${seen.state}`);
  }
  assert.equal(await driver.getByTestId(`charge-${STOP_CP}`).isDisabled(), true);
  await ops.getByTestId('feed').filter({ hasText: `stop ${STOP_CP}` }).waitFor();
  await shot(ops, '06-ops-stopped');
  await shot(driver, '07-driver-sees-stopped');

  step(`operator resumes ${STOP_CP}`);
  await ops.getByTestId(`resume-${STOP_CP}`).click();
  await waitTileState(driver, STOP_CP, 'CP_STATE_ACTIVE');
  assert.equal(await tileState(ops, STOP_CP), 'CP_STATE_ACTIVE');

  // Issue 22: these buttons send {} and were answered "cp_id is required".
  step('operator stops every CP, then resumes them all, with the dashboard buttons');
  await ops.getByTestId('stop-all').click();
  await waitTileState(ops, STOP_CP, 'CP_STATE_OUT_OF_SERVICE');
  assert.equal(await ops.getByTestId('action-error').textContent(), '');
  await ops.getByTestId('resume-all').click();
  await waitTileState(ops, STOP_CP, 'CP_STATE_ACTIVE');
  await waitTileState(driver, STOP_CP, 'CP_STATE_ACTIVE');
  assert.equal(await ops.getByTestId('action-error').textContent(), '');

  if (WEATHER_CITY) {
    step(`operator raises a heat wave in ${WEATHER_CITY} from the weather panel`);
    await ops.getByTestId(`weather-${WEATHER_CITY}`).waitFor({ timeout: 20000 });
    await ops.getByTestId('weather-city').fill(WEATHER_CITY);
    await ops.getByTestId('weather-celsius').fill('45');
    await ops.getByTestId('weather-set').click();
    await waitTileState(ops, STOP_CP, 'CP_STATE_OUT_OF_SERVICE');
    await ops.waitForSelector(`[data-testid="weather-${WEATHER_CITY}"][data-alert="true"]`, { timeout: 20000 });
    const why = await ops.getByTestId(`holds-${STOP_CP}`).textContent();
    assert.match(why, /weather alert in .*45\.0 °C, above 40\.0 °C/, why);
    await waitTileState(driver, STOP_CP, 'CP_STATE_OUT_OF_SERVICE');
    await shot(ops, '08-ops-heat-wave');

    step('and back to 20 °C: ACTIVE again');
    await ops.getByTestId('weather-celsius').fill('20');
    await ops.getByTestId('weather-set').click();
    await waitTileState(ops, STOP_CP, 'CP_STATE_ACTIVE');
    await waitTileState(driver, STOP_CP, 'CP_STATE_ACTIVE');
  }
  console.log('browser end-to-end: OK');
} catch (e) {
  for (const [name, page] of pages) await shot(page, `failure-${name}`).catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
