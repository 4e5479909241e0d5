// A charger nobody in this project wrote: npm's ocpp-rpc client, in strict mode
// (every CALL, CALLRESULT and CALLERROR it sends or receives is validated against
// the OCPP 1.6J schemas), driven through one scenario against evc-ocpp.
// Driven by tests/integration/ocpp_test.cc, which checks central's side.
//
//   node charger.mjs URL ID PASSWORD SCENARIO
//   URL: ws://127.0.0.1:PORT/ocpp (or wss://localhost:PORT/ocpp, trusting the CA
//   certificate in $OCPP_CA_FILE: security profile 2)   SCENARIO: charge | fault | rfid | holds | survive | bad | refused
//
// Prints one JSON line per step; exits 0 when the scenario went as the spec
// says, 1 (with the reason on stderr) otherwise.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { RPCClient } = require('ocpp-rpc');
const WebSocket = require('ws');

const [url, id, password, scenario] = process.argv.slice(2);
const METER_START = 10000;
const now = () => new Date().toISOString();
const log = (step, data = {}) => console.log(JSON.stringify({ step, ...data }));
const fail = (why) => {
  console.error(`FAIL: ${why}`);
  process.exit(1);
};
setTimeout(() => fail(`scenario ${scenario} did not finish within 90 s`), 90_000).unref();

function client(overrides = {}) {
  return new RPCClient({
    endpoint: url,
    identity: id,
    password,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 15_000,
    wsOpts: process.env.OCPP_CA_FILE ? { ca: readFileSync(process.env.OCPP_CA_FILE) } : {},
    ...overrides,
  });
}

// Central's availability (operator stop/resume, weather holds): accepted, logged.
const availability = [];
function handleAvailability(cli) {
  cli.handle('ChangeAvailability', ({ params }) => {
    availability.push(params.type);
    log('availability', params);
    return { status: 'Accepted' };
  });
}

async function boot(cli) {
  handleAvailability(cli);
  await cli.connect();
  log('connected', { protocol: cli.protocol });
  if (cli.protocol !== 'ocpp1.6') fail(`negotiated ${cli.protocol}`);
  const b = await cli.call('BootNotification', { chargePointVendor: 'EVC', chargePointModel: 'ocpp-rpc' });
  if (b.status !== 'Accepted' || !(b.interval > 0)) fail(`BootNotification answered ${JSON.stringify(b)}`);
  log('booted', b);
  await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: now() });
  const h = await cli.call('Heartbeat', {});
  log('heartbeat', h);
}

async function charge(faultAfterMeter) {
  const cli = client();
  let tx = null;
  cli.handle('RemoteStartTransaction', ({ params }) => {
    log('remote-start', params);
    setImmediate(async () => {
      try {
        await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing', timestamp: now() });
        const st = await cli.call('StartTransaction', {
          connectorId: 1, idTag: params.idTag, meterStart: METER_START, timestamp: now(),
        });
        if (st.idTagInfo.status !== 'Accepted') fail(`StartTransaction answered ${JSON.stringify(st)}`);
        tx = st.transactionId;
        log('started', st);
        await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: now() });
        await cli.call('MeterValues', {
          connectorId: 1,
          transactionId: tx,
          meterValue: [{
            timestamp: now(),
            sampledValue: [
              { value: String(METER_START + 1500), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
              { value: '11', measurand: 'Power.Active.Import', unit: 'kW' },
            ],
          }],
        });
        log('metered', { wh: 1500 });
        if (faultAfterMeter) {
          await cli.call('StatusNotification', { connectorId: 1, errorCode: 'GroundFailure', status: 'Faulted', timestamp: now() });
          log('faulted');
        }
      } catch (e) {
        fail(`charge: ${e.message}`);
      }
    });
    return { status: 'Accepted' };
  });
  cli.handle('RemoteStopTransaction', ({ params }) => {
    log('remote-stop', params);
    if (params.transactionId !== tx) fail(`RemoteStopTransaction for ${params.transactionId}, running ${tx}`);
    setImmediate(async () => {
      try {
        await cli.call('StopTransaction', {
          transactionId: tx, meterStop: METER_START + 3000, timestamp: now(), reason: faultAfterMeter ? 'Other' : 'Remote',
        });
        log('stopped', { wh: 3000 });
        await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: now() });
        await cli.close();
        process.exit(0);
      } catch (e) {
        fail(`stop: ${e.message}`);
      }
    });
    return { status: 'Accepted' };
  });
  cli.handle(({ method }) => {
    log('unexpected', { method });
    return {};
  });
  cli.on('close', ({ code, reason }) => log('closed', { code, reason: String(reason) }));
  await boot(cli);
  log('ready');
}

// A driver presents an RFID tag at the charger: Authorize (answered once central
// has opened a charge for the tag's driver), then the charger starts, meters
// 2,000 Wh and stops locally. A tag nobody registered is then refused.
const TAG = '04e1c2d3';
async function rfid() {
  const cli = client();
  cli.handle(({ method }) => {
    log('unexpected', { method });
    return {};
  });
  await boot(cli);
  // Until the gateway has linked this charger to central, tags are refused:
  // the driver presents the card again, as at a real charger.
  let auth;
  for (let attempt = 0; attempt < 30; attempt++) {
    auth = await cli.call('Authorize', { idTag: TAG });
    log('authorize', { idTag: TAG, ...auth });
    if (auth.idTagInfo.status === 'Accepted') break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (auth.idTagInfo.status !== 'Accepted') fail(`Authorize of a registered tag answered ${JSON.stringify(auth)}`);
  const st = await cli.call('StartTransaction', { connectorId: 1, idTag: TAG, meterStart: METER_START, timestamp: now() });
  if (st.idTagInfo.status !== 'Accepted' || !(st.transactionId > 0)) fail(`StartTransaction answered ${JSON.stringify(st)}`);
  log('started', st);
  await cli.call('MeterValues', {
    connectorId: 1,
    transactionId: st.transactionId,
    meterValue: [{ timestamp: now(), sampledValue: [{ value: String(METER_START + 1000), unit: 'Wh' }] }],
  });
  await cli.call('StopTransaction', {
    transactionId: st.transactionId, idTag: TAG, meterStop: METER_START + 2000, timestamp: now(), reason: 'Local',
  });
  log('stopped', { wh: 2000 });
  await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: now() });
  // Another card a moment later: central looks tags up at most once a second
  // per CP (a charger presenting tags in a loop is refused without a lookup).
  await new Promise((r) => setTimeout(r, 1100));
  const unknown = await cli.call('Authorize', { idTag: 'NOBODY-1' });
  log('authorize', { idTag: 'NOBODY-1', ...unknown });
  if (unknown.idTagInfo.status !== 'Invalid') fail(`Authorize of an unknown tag answered ${JSON.stringify(unknown)}`);
  await cli.close();
  process.exit(0);
}

// The gateway restarts during a charge (the test kills it and starts another on
// the same port): the charger reconnects by itself, without booting again, keeps
// metering its transaction and ends it locally. Its ticket must hold every Wh.
async function survive() {
  const cli = client({ reconnect: true, backoff: { initialDelay: 200, maxDelay: 1000, factor: 1.5, randomisationFactor: 0 } });
  let tx = null;
  let registerWh = METER_START;
  const meter = (wh) => {
    registerWh = wh;
    return cli.call('MeterValues', {
      connectorId: 1,
      transactionId: tx,
      meterValue: [{ timestamp: now(), sampledValue: [{ value: String(wh), unit: 'Wh' }] }],
    });
  };
  cli.handle('RemoteStartTransaction', ({ params }) => {
    log('remote-start', params);
    setImmediate(async () => {
      try {
        const st = await cli.call('StartTransaction', { connectorId: 1, idTag: params.idTag, meterStart: METER_START, timestamp: now() });
        if (st.idTagInfo.status !== 'Accepted') fail(`StartTransaction answered ${JSON.stringify(st)}`);
        tx = st.transactionId;
        log('started', st);
        await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: now() });
        await meter(METER_START + 1000);
        log('metered', { wh: 1000 });
      } catch (e) {
        fail(`charge: ${e.message}`);
      }
    });
    return { status: 'Accepted' };
  });
  // A gateway that took the transaction up again asks for a fresh reading.
  cli.handle('TriggerMessage', ({ params }) => {
    log('trigger', params);
    if (tx !== null) setImmediate(() => meter(registerWh).catch(() => {}));
    return { status: 'Accepted' };
  });
  cli.handle(({ method }) => {
    log('unexpected', { method });
    return {};
  });
  let opens = 0;
  cli.on('open', () => {
    if (++opens < 2) return;
    log('reconnected', { tx });
    if (tx === null) fail('reconnected before the transaction started');
    setImmediate(async () => {
      try {
        await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: now() });
        await meter(METER_START + 2500);
        log('metered', { wh: 2500 });
        await new Promise((r) => setTimeout(r, 2000));
        await cli.call('StopTransaction', {
          transactionId: tx, meterStop: METER_START + 4000, timestamp: now(), reason: 'EVDisconnected',
        });
        log('stopped', { wh: 4000 });
        await cli.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: now() });
        await cli.close();
        process.exit(0);
      } catch (e) {
        fail(`after the reconnect: ${e.message}`);
      }
    });
  });
  cli.on('close', ({ code, reason }) => log('closed', { code, reason: String(reason) }));
  await boot(cli);
  log('ready');
}

// Raw frames (no client library would send them), answered as OCPP-J 1.6 says.
async function bad() {
  const auth = 'Basic ' + Buffer.from(`${id}:${password}`).toString('base64');
  const ws = new WebSocket(`${url}/${encodeURIComponent(id)}`, ['ocpp1.6'], { headers: { authorization: auth } });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const cases = [
    ['not json', '-1', 'FormationViolation'],
    ['[2,"b1","BootNotification"]', 'b1', 'FormationViolation'],
    ['[2,"b2","BootNotification",{"chargePointVendor":"V"}]', 'b2', 'OccurenceConstraintViolation'],
    ['[2,"b3","BootNotification",{"chargePointVendor":12,"chargePointModel":"M"}]', 'b3', 'TypeConstraintViolation'],
    ['[2,"b4","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Sleeping"}]', 'b4', 'PropertyConstraintViolation'],
    ['[2,"b5","Heartbeat",{"surplus":true}]', 'b5', 'PropertyConstraintViolation'],
    ['[2,"b6","FlyToTheMoon",{}]', 'b6', 'NotImplemented'],
    ['[9,"b7","Heartbeat",{}]', 'b7', 'ProtocolError'],
    ['[2,"b8","Reset",{"type":"Soft"}]', 'b8', 'NotSupported'],
  ];
  for (const [frame, expectId, expectCode] of cases) {
    const answer = await new Promise((resolve) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data))));
      ws.send(frame);
    });
    log('answer', { frame, answer });
    if (answer[0] !== 4 || answer[1] !== expectId || answer[2] !== expectCode || typeof answer[4] !== 'object') {
      fail(`${frame} answered ${JSON.stringify(answer)}, expected [4,"${expectId}","${expectCode}",...]`);
    }
  }
  // The connection survived all of it.
  const ok = await new Promise((resolve) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data))));
    ws.send('[2,"h1","Heartbeat",{}]');
  });
  if (ok[0] !== 3 || ok[1] !== 'h1') fail(`Heartbeat after bad frames answered ${JSON.stringify(ok)}`);
  ws.close();
  process.exit(0);
}

// Boots and waits to be told Inoperative (an operator stops the CP), then
// Operative again (resumed).
async function holds() {
  const cli = client();
  cli.handle(({ method }) => {
    log('unexpected', { method });
    return {};
  });
  await boot(cli);
  log('ready');
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const off = availability.indexOf('Inoperative');
      if (off >= 0 && availability.indexOf('Operative', off + 1) > off) {
        clearInterval(timer);
        resolve();
      }
    }, 100);
  });
  log('held-and-released', { availability });
  await cli.close();
  process.exit(0);
}

async function refused() {
  try {
    await client().connect();
  } catch (e) {
    log('refused', { code: e.code, message: e.message });
    if (e.code !== 401) fail(`refused, but not with 401: ${e.code} ${e.message}`);
    process.exit(0);
  }
  fail('a revoked charger was let in');
}

const scenarios = { charge: () => charge(false), fault: () => charge(true), rfid, holds, survive, bad, refused };
if (!scenarios[scenario]) fail(`unknown scenario '${scenario}'`);
scenarios[scenario]().catch((e) => fail(e.stack || e.message));
