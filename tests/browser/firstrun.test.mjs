// Browser tests of a new user's first run (issue 14, "what must exist" 4 and 5): a request on a
// signed-in console of the receiving agency counts as delivered even when that agency also has a
// CAD registered (as the demo does for every agency); the map works without a tile server and
// says so when it cannot work at all; a location far from both agencies' areas is questioned
// before sending.
// Run by ctest ("browser"), or by hand:
//   BLUELINK_GATEWAY=build/dev/gateway/bluelink-gateway BLUELINK_CLI=build/dev/tools/cli/bluelink \
//     node --test tests/browser/firstrun.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { useRig, CLI, SCHEMAS, base, fire, police, nav, field, sendRequests, signIn } from './harness.mjs';

const freePort = () => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
});

// As the demo: Police has a CAD registered on the CAD link, which is not connected, and Fire and
// Police serve Essex (Chelmsford, 50 km). The rig's tile server is down throughout.
useRig({
  async configure(cfg, dir) {
    for (const a of cfg.agencies)
      if (a.id !== 'eeast-ambulance') a.area = { centre: { lat: 51.7356, lon: 0.4685 }, radius_km: 50 };
    const key = (name) => {
      const r = spawnSync(CLI, ['keys', 'generate', '--out', join(dir, name)],
        { env: { ...process.env, BLUELINK_SCHEMAS: SCHEMAS }, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `bluelink keys generate failed: ${r.stderr}${r.stdout}`);
      return r.stdout.trim().split(/\s+/).pop();
    };
    key('gateway.key');
    cfg.cad_link = {
      listen: `tcp://127.0.0.1:${await freePort()}`,
      server_key_file: join(dir, 'gateway.key'),
      clients: [{ agency: 'essex-police', public_key: key('police-cad.key'), label: 'Police CAD (not connected)' }],
    };
  },
});

test('a request on the signed-in console of an agency with a CAD counts as delivered: no phone prompt', { timeout: 40_000 }, async () => {
  const p = fire.page;
  // Police's console is its second receiving system here, not its only one.
  const me = await police.page.evaluate(async () => (await import('/js/api.js')).get('/api/v1/session'));
  assert.equal(me.acknowledges_deliveries, false);
  // Routine requests have a 2 s delivery limit in the rig: one to Police (console signed in, CAD
  // not connected) and one to the ambulance service (nobody signed in, no CAD), which must stall.
  const [toPolice] = await sendRequests(p, 1, { from: 'essex-fire', to: 'essex-police', priority: 'routine', label: 'Cordon at the fire ground' });
  const [toAmbulance] = await sendRequests(p, 1, { from: 'essex-fire', to: 'eeast-ambulance', priority: 'routine', label: 'Casualty care at the fire ground' });
  await police.page.locator(`#list-incoming a.row[data-transfer-id="${toPolice}"]`).waitFor();
  await nav(p, `#/transfer/${toPolice}`);
  await p.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'delivered', null, { timeout: 10_000 });
  // The ambulance request's prompt shows the delivery limit has passed for both.
  await p.locator(`.prompt[data-transfer-id="${toAmbulance}"]`).waitFor({ timeout: 15_000 });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await p.locator(`.prompt[data-transfer-id="${toPolice}"]`).count(), 0, 'no "phone Essex Police" prompt');
  assert.equal(await p.locator('#detail-state').getAttribute('data-state'), 'delivered');
  for (const b of await p.locator('.prompt button', { hasText: 'Dismiss' }).all()) await b.click();
});

async function typeLocation(p, text) {
  await p.locator('#compose-where').fill(text);
  await p.locator('#compose-where').press('Enter');
}

test('a location typed in each form operators use lands on the same point', { timeout: 40_000 }, async () => {
  const p = fire.page;
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  const E = '[data-pointer="/body/methane/exact_location/osgr/easting"]';
  const N = '[data-pointer="/body/methane/exact_location/osgr/northing"]';
  // TL 74000 03500 (Chelmsford) written every way: grid references give its corner exactly;
  // WGS84 forms land within a few metres of it.
  const forms = [
    ['TL 740 035', 0], ['TL740035', 0], ['TL 7400 0350', 0], ['TL 74000 03500', 0], ['TL7400003500', 0],
    // TL 74000 03500 is 51.703263 N, 0.516675 E (PROJ, EPSG:27700 to EPSG:4326).
    ['tl 740 035', 0], ['51.703263, 0.516675', 2], ['51.703263N 0.516675E', 2],
    ['51 42.1958N 0 31.0005E', 3], ['51°42\'11.75"N 0°31\'00.03"E', 3],
  ];
  for (const [text, tolerance] of forms) {
    // A different point first, so that each form is seen to move the fields.
    await typeLocation(p, 'TQ 000 000');
    await p.waitForFunction((sel) => document.querySelector(sel).value === '500000', E);
    await typeLocation(p, text);
    await p.waitForFunction((sel) => document.querySelector(sel).value !== '500000', E, { timeout: 5_000 })
      .catch(async () => assert.fail(`"${text}" did not move the point: ${await p.locator('#geo-out').textContent()}`));
    const e = Number(await p.locator(E).inputValue());
    const n = Number(await p.locator(N).inputValue());
    assert.ok(Math.abs(e - 574000) <= tolerance && Math.abs(n - 203500) <= tolerance,
      `"${text}" landed at E ${e} N ${n}, not TL 74000 03500`);
    assert.equal(await p.locator('#compose-where').getAttribute('aria-invalid'), null, `"${text}" was refused`);
  }
});

test('with the tile server down, the map shows the point on an outline of Great Britain', { timeout: 30_000 }, async () => {
  const p = fire.page;
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  await typeLocation(p, 'TL 740 035');
  const map = p.locator('#compose-map');
  await p.waitForSelector('#compose-map[data-map="outline"]', { timeout: 10_000 });
  await p.waitForSelector('#compose-map[data-tiles="failed"]', { timeout: 10_000 });
  assert.equal(await map.isVisible(), true);
  // The outline is drawn (under where tiles would be) and the operator is told tiles are missing.
  assert.ok(await p.locator('#compose-map .leaflet-outline-pane path').count() >= 1, 'the outline is drawn');
  assert.match(await p.locator('#compose-map .map-note').textContent(), /outline of Great Britain only/);
  assert.equal(await p.locator('#compose-map .leaflet-interactive').count(), 1, 'one marker at the point');
  assert.match(await p.locator('#compose-map .leaflet-control-attribution').textContent(), /Natural Earth/);
  await nav(p, '#/inbox');
});

test('without its map library the map says so instead of vanishing', { timeout: 30_000 }, async () => {
  const sup = await signIn(base, 'fire.sup');
  const p = sup.page;
  await p.route('**/vendor/leaflet/leaflet.js', (r) => r.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' }));
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  await typeLocation(p, 'TL 740 035');
  await p.waitForSelector('#compose-map[data-map="unavailable"]', { timeout: 10_000 });
  assert.equal(await p.locator('#compose-map').isVisible(), true);
  assert.match(await p.locator('#compose-map').textContent(), /No map: the map library \(Leaflet\) could not be loaded; .*npm run vendor/);
  await sup.context.close();
});

test('a location far from both agencies\' areas is questioned, and not sent unless confirmed', { timeout: 30_000 }, async () => {
  const p = fire.page;
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  await field(p, '/body/category').selectOption('police.traffic_management');
  await field(p, '/to').selectOption('essex-police');
  await field(p, '/body/summary').fill('RTC M60 J12, request traffic management');
  await field(p, '/body/sender_incident/number').fill('F-2611-009001');
  await field(p, '/body/methane/exact_location/address').fill('M60 J12, Eccles');
  await field(p, '/body/methane/type_of_incident/text').fill('Two-car collision');
  // In Essex: nothing to question.
  await typeLocation(p, '51 44.136, 0 28.11');
  await p.waitForFunction(() => /WGS84 51\.73560, 0\.46850/.test(document.getElementById('geo-out').textContent));
  assert.doesNotMatch(await p.locator('#geo-out').textContent(), /Check the location/);
  // Manchester, typed as a grid reference: 250 km from Essex.
  await typeLocation(p, 'SJ 838 980');
  await p.waitForFunction(() => /Check the location/.test(document.getElementById('geo-out').textContent));
  assert.match(await p.locator('#geo-out').textContent(), /from the centre of Essex Police's area/);
  let asked = '';
  p.once('dialog', (d) => { asked = d.message(); d.dismiss(); });
  await p.click('#compose-send');
  await p.waitForFunction(() => /Not sent: check the location/.test(document.getElementById('compose-status').textContent));
  assert.match(asked, /Send the request with this location anyway\?/);
  assert.match(p.url(), /#\/compose$/);
  // Confirmed, it goes.
  p.once('dialog', (d) => d.accept());
  await p.click('#compose-send');
  await p.waitForURL(/#\/transfer\/T-\d{8}-\d{6}$/);
  await nav(p, '#/inbox');
});

test('small points: one-line header, the icon, confirmations, open rows by default, the financial year', { timeout: 40_000 }, async () => {
  const sup = await signIn(base, 'fire.sup');
  const s = sup.page;
  // The supervisor has the most links; at 1280 px the header is still one line.
  const heights = await s.evaluate(() => [document.getElementById('top').getBoundingClientRect().height,
    ...[...document.querySelectorAll('#top .nav a:not([hidden]), #top .btn:not([hidden])')].map((e) => e.getBoundingClientRect().height)]);
  assert.ok(heights[0] <= 62, `the header is ${heights[0]} px high`);
  for (const hgt of heights.slice(1)) assert.ok(hgt < 48, `a header link is ${hgt} px high: it wrapped`);
  // Browsers ask for /favicon.ico: it is the console's icon.
  const icon = await s.evaluate(async () => { const r = await fetch('/favicon.ico'); return [r.status, r.headers.get('content-type')]; });
  assert.deepEqual(icon, [200, 'image/svg+xml']);
  // The inbox shows open transfers by default; finished ones only when asked for.
  assert.equal(await s.locator('#f-state').inputValue(), 'open');
  // Disable asks first, naming the user; Cancel changes nothing. Disable is a danger button.
  await nav(s, '#/team');
  const row = s.locator('tr[data-username="fire.op"]');
  await row.waitFor();
  assert.match(await row.locator('[data-user-action="disable"]').getAttribute('class'), /\bdanger\b/);
  await row.locator('[data-user-action="disable"]').click();
  assert.match(await row.locator('.confirm').textContent(), /Disable fire\.op .*signed out everywhere/);
  assert.equal(await s.evaluate(() => document.activeElement?.dataset.userAction), 'cancel');
  await row.locator('[data-user-action="cancel"]').click();
  assert.equal(await row.getAttribute('data-disabled'), 'no');
  await row.locator('[data-user-action="password"]').click();
  assert.match(await row.locator('.confirm').textContent(), /new password\? Their current password stops working/);
  await row.locator('[data-user-action="cancel"]').click();
  assert.equal(await row.locator('.new-password').count(), 0, 'no password was set');
  await sup.context.close();
  // The manager's report opens on the UK financial year so far.
  const manager = await signIn(base, 'manager');
  const m = manager.page;
  await m.waitForSelector('#r-from');
  const now = new Date();
  const fy = now.getMonth() >= 3 ? now.getFullYear() : now.getFullYear() - 1;
  assert.equal(await m.locator('#r-from').inputValue(), `${fy}-04`);
  await manager.context.close();
});
