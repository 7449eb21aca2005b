// Browser tests of the operator console: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core against the real bluelink-gateway binary, with a Fire and a Police operator in
// two browser contexts (tests/browser/harness.mjs). Run by ctest ("browser"), or by hand:
//   BLUELINK_GATEWAY=build/dev/gateway/bluelink-gateway BLUELINK_CLI=build/dev/tools/cli/bluelink \
//     node --test tests/browser/console.test.mjs
// Writes docs/screenshots/{inbox,compose,detail,reports}.png at 1280x800.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  useRig, PASSWORD, SHOTS, base, proxyBase, proxy, tiles, browser, fire, police, failpoints,
  signIn, sendRequests, tabTo, rowTop, nav, field, composeAndSend, act, addUser,
} from './harness.mjs';

useRig();

let rtc; // the Fire -> Police request of the first tests

test('fire sends a request from a template and police sees it arrive live, announced', { timeout: 30_000 }, async () => {
  const p = fire.page;
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  // The gateway may report only the first problem, so the required fields are filled first.
  await field(p, '/body/summary').fill('RTC A12 London-bound J19-J18, request road closure');
  await field(p, '/body/sender_incident/number').fill('F-2611-004512');
  await field(p, '/body/methane/exact_location/address').fill('A12 London-bound, Chelmsford');
  await field(p, '/body/methane/type_of_incident/text').fill('Two-car collision');
  // A bad value is reported beside its own field when the field loses focus (dry run).
  await field(p, '/body/contact/phone').fill('call us');
  await field(p, '/body/contact/phone').blur();
  await p.waitForFunction(() => document.querySelector('[data-error-for="/body/contact/phone"]')?.textContent.length > 0);
  assert.equal(await field(p, '/body/contact/phone').getAttribute('aria-invalid'), 'true');
  await field(p, '/body/contact/phone').fill('01632 960101');
  // Lat/lon is converted to OS grid and both are shown.
  await field(p, '/body/methane/exact_location/wgs84/lat').fill('51.7356');
  await field(p, '/body/methane/exact_location/wgs84/lon').fill('0.4685');
  await field(p, '/body/methane/exact_location/wgs84/lon').press('Tab');
  await p.waitForFunction(() => /E \d+ N \d+/.test(document.getElementById('geo-out').textContent));
  assert.match(await field(p, '/body/methane/exact_location/osgr/easting').inputValue(), /^5\d{5}$/);
  // Tiles configured but unreachable (the tile server drops every connection for now): Leaflet
  // is loaded, and the map stays with its offline outline of Great Britain, saying so.
  await p.waitForSelector('#compose-map[data-tiles="failed"]', { state: 'attached', timeout: 10_000 });
  assert.equal(await p.locator('#compose-map').isVisible(), true);
  assert.ok(await p.evaluate(() => typeof globalThis.L?.map === 'function'), 'Leaflet loaded from vendor/');
  assert.match(await p.locator('#geo-out').textContent(), /WGS84 51\.73560, 0\.46850/);
  // A grid reference typed with its letters, as operators give it, fills the coordinates; a
  // five-figure easting without letters is questioned, not placed in the wrong square.
  await p.locator('#compose-where').fill('TL 740 035');
  await p.locator('#compose-where').press('Enter');
  await p.waitForFunction(() => document.querySelector('[data-pointer="/body/methane/exact_location/osgr/easting"]').value === '574000');
  assert.equal(await field(p, '/body/methane/exact_location/osgr/northing').inputValue(), '203500');
  assert.match(await p.locator('#geo-out').textContent(), /TL 74000 03500/);
  await p.locator('#compose-where').fill('74000 03500');
  await p.locator('#compose-where').press('Enter');
  await p.waitForFunction(() => /Cannot read/.test(document.getElementById('geo-out').textContent));
  assert.match(await p.locator('#geo-out').textContent(), /two letters/);
  assert.equal(await p.locator('#compose-where').getAttribute('aria-invalid'), 'true');
  assert.equal(await field(p, '/body/methane/exact_location/osgr/easting').inputValue(), '574000');
  await p.locator('#compose-where').fill('51.7356, 0.4685');
  await p.locator('#compose-where').press('Enter');
  await p.waitForFunction(() => /WGS84 51\.73560, 0\.46850/.test(document.getElementById('geo-out').textContent));

  rtc = await composeAndSend(p, {
    category: 'police.traffic_management',
    summary: 'RTC A12 London-bound J19-J18, 2 vehicles, persons trapped, request road closure',
    incident: 'F-2611-004512',
    address: 'A12 London-bound between J19 (Boreham) and J18 (Sandon), Chelmsford',
    postcode: 'CM2 7PU',
    text: 'Two-car collision, one person trapped',
    shot: () => p.screenshot({ path: join(SHOTS, 'compose.png') }),
  });
  // Police has no CAD on the link, so its signed-in console is the receiving system: it
  // acknowledges the delivery and Fire's view moves from submitted to delivered by itself.
  await p.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'delivered',
    null, { timeout: 10_000 });

  const q = police.page;
  const row = q.locator(`#list-incoming a.row[data-transfer-id="${rtc}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute('data-priority'), 'emergency');
  await q.waitForSelector(`#announce[data-transfer-id="${rtc}"]`);
  assert.ok(await q.evaluate(() => document.body.dataset.lastTone), 'an alert tone was played');
  await q.screenshot({ path: join(SHOTS, 'inbox.png') });
});

test('police acknowledges and accepts with its incident number; fire sees it, updates and closes', { timeout: 30_000 }, async () => {
  const q = police.page;
  await q.locator(`#list-incoming a.row[data-transfer-id="${rtc}"]`).focus();
  await q.keyboard.press('Enter');
  await q.waitForSelector(`#detail[data-transfer-id="${rtc}"] #actions`);
  // The receiver may not cancel (it may post an update, issue 14): the sender's Cancel is not offered.
  assert.equal(await q.locator('[data-action="cancel"]').count(), 0);
  await act(q, 'received');
  await q.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'received');
  await act(q, 'accept', () => q.fill('#a-incident', 'ESX-20261121-0457'));
  await q.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'accepted');

  const p = fire.page;
  await p.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'accepted');
  assert.match(await p.locator('.facts').textContent(), /ESX-20261121-0457/);
  assert.equal(await p.locator('[data-action="accept"]').count(), 0, 'the sender cannot accept');
  await act(p, 'update', () => p.fill('#a-text', 'Second casualty now free; road closure still needed'));
  await p.waitForSelector('#timeline li[data-kind="transfer.update"]');
  assert.match(await p.locator('#timeline').textContent(), /via console/);
  await p.screenshot({ path: join(SHOTS, 'detail.png') });
  await act(p, 'close', () => p.selectOption('#a-outcome', 'resolved'));
  await p.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'closed');
  await q.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'closed');
  assert.equal(await p.locator('#actions [data-action]').count(), 0, 'a closed transfer offers no actions');
});

test('police declines a request with a reason and fire sees why', { timeout: 30_000 }, async () => {
  const id = await composeAndSend(fire.page, {
    category: 'police.scene_security',
    summary: 'Car fire Moulsham Street, crowd gathering, request cordon',
    incident: 'F-2611-004513', address: 'Moulsham Street, Chelmsford', postcode: 'CM2 0HU',
    text: 'Car fire, crowd of about 20 gathering',
  });
  const q = police.page;
  await nav(q, `#/transfer/${id}`);
  await act(q, 'decline', async () => {
    await q.selectOption('#a-reason', 'already_attending');
    await q.fill('#a-text', 'Officers already on scene at Moulsham Street');
  });
  await q.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'declined');
  const p = fire.page;
  await p.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'declined');
  await p.waitForFunction(() => /Officers already on scene/.test(document.getElementById('timeline').textContent));
});

test('an operator logs a phone call in two clicks', { timeout: 20_000 }, async () => {
  const q = police.page;
  await nav(q, '#/calls');
  await q.waitForSelector('#calls-table');
  const before = await q.locator('#calls-body tr').count();
  await q.click('#log-call-open');
  await q.click('#call-save');
  await q.waitForFunction((n) => document.querySelectorAll('#calls-body tr').length === n + 1, before);
  assert.match(await q.locator('#calls-body').textContent(), /We called/);
});

test('a dropped connection shows reconnecting and catches up on what was missed', { timeout: 40_000 }, async () => {
  const q = police.page;
  await nav(q, '#/inbox');
  await q.waitForSelector('#list-incoming');
  proxy.cut();
  await q.waitForSelector('#conn[data-state="reconnecting"]', { state: 'visible' });
  const id = await composeAndSend(fire.page, {
    category: 'police.violence_threat',
    summary: 'Crew threatened at 4 Rainsford Road, request urgent police attendance',
    incident: 'F-2611-004514', address: '4 Rainsford Road, Chelmsford', postcode: 'CM1 2QL',
    text: 'Male with a bottle threatening crew',
  });
  assert.equal(await q.locator(`a.row[data-transfer-id="${id}"]`).count(), 0, 'nothing arrives while cut off');
  proxy.restore();
  await q.locator(`#list-incoming a.row[data-transfer-id="${id}"]`).waitFor({ timeout: 25_000 });
  await q.waitForSelector('#conn', { state: 'hidden' });
});

test('when the gateway cannot read its store, both consoles say live updates are paused, then catch up with nothing missed', { timeout: 40_000 }, async () => {
  const p = police.page;
  const f = fire.page;
  await nav(p, '#/inbox');
  await nav(f, '#/inbox');
  await p.waitForSelector('#list-incoming');
  await f.waitForSelector('#list-outgoing');
  writeFileSync(failpoints, 'console_hub.store_error\n');
  for (const page of [p, f]) {
    await page.waitForSelector('#conn[data-reason="store-error"]', { state: 'visible' });
    assert.match(await page.textContent('#conn'), /cannot read its store: live updates paused/);
  }
  const [id] = await sendRequests(f, 1, { from: 'essex-fire', to: 'essex-police', label: 'Sent while the store could not be read' });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await p.locator(`a.row[data-transfer-id="${id}"]`).count(), 0, 'nothing arrives while paused');
  writeFileSync(failpoints, '');
  // Both reconnect by themselves and are caught up: the request is in Police's inbox.
  await p.locator(`#list-incoming a.row[data-transfer-id="${id}"]`).waitFor({ timeout: 25_000 });
  await f.locator(`#list-outgoing a.row[data-transfer-id="${id}"]`).waitFor({ timeout: 25_000 });
  await p.waitForSelector('#conn', { state: 'hidden' });
  await f.waitForSelector('#conn', { state: 'hidden' });
});

test('police cannot see or open a fire to ambulance transfer', { timeout: 30_000 }, async () => {
  const id = await composeAndSend(fire.page, {
    category: 'ambulance.casualty_care', to: 'eeast-ambulance',
    summary: 'House fire Harlow, one occupant unconscious', incident: 'F-2611-004515',
    address: '17 Tilegate Road, Harlow', postcode: 'CM18 6LW', text: 'Smoke inhalation',
  });
  const q = police.page;
  await nav(q, '#/inbox');
  await q.waitForSelector('#list-incoming');
  assert.equal(await q.locator(`a.row[data-transfer-id="${id}"]`).count(), 0);
  await nav(q, `#/transfer/${id}`);
  await q.waitForSelector('#not-available');
  assert.match(await q.locator('#not-available').textContent(), /not available/);
  assert.equal(await q.locator('#actions').count(), 0);
});

test('a stalled request prompts fire to phone the ambulance service, and the call is logged in one click', { timeout: 30_000 }, async () => {
  const p = fire.page;
  const id = await composeAndSend(p, {
    category: 'info.address_risk', to: 'eeast-ambulance',
    summary: 'Risk information for 12 Baddow Road before crews enter', incident: 'F-2611-004516',
    address: '12 Baddow Road, Chelmsford', postcode: 'CM2 0DG', text: 'Any known violence or weapons at the address?',
  });
  // The ambulance service has neither a CAD link nor a console signed in, so nobody receives the
  // request and the 2 s delivery limit runs out.
  const prompt = p.locator(`.prompt[data-transfer-id="${id}"]`);
  await prompt.waitFor({ timeout: 15_000 });
  assert.match(await prompt.textContent(), /Phone East of England Ambulance Service on 01632 960300/);
  await prompt.getByRole('button', { name: 'Log this call' }).click();
  await p.locator(`.prompt.done[data-transfer-id="${id}"]`).waitFor();
  await nav(p, '#/calls');
  await p.locator(`#calls-body a[href="#/transfer/${id}"]`).waitFor();
  const dismiss = p.locator('.prompt button', { hasText: 'Dismiss' }); // prompts now also offer a claim
  while (await dismiss.count()) await dismiss.first().click();
});

test('inbox rows the operator is on do not move when new requests arrive', { timeout: 40_000 }, async () => {
  // A long list: the focused row stays put and the list scrolls by what arrived above it.
  const q = police.page;
  const cordon = await sendRequests(fire.page, 12, { from: 'essex-fire', to: 'essex-police', label: 'Cordon request' });
  await nav(q, '#/inbox');
  // Every one of the twelve is in the list (rows from earlier tests are there too, so a count
  // of 12 could be reached before the last of them arrives and is then counted "new above").
  await q.waitForFunction((ids) => ids.every((id) => document.querySelector(`#list-incoming a.row[data-transfer-id="${id}"]`)), cordon);
  await q.keyboard.press('Home');
  for (let i = 0; i < 4; i++) await q.keyboard.press('j');
  const onRow = await q.evaluate(() => document.activeElement.dataset.transferId);
  assert.ok(onRow, 'a row has the keyboard focus');
  const top = await rowTop(q, onRow);
  const outgoingTop = await q.evaluate(() => document.getElementById('list-outgoing').getBoundingClientRect().top);
  const before = await q.locator('#list-incoming a.row').count();
  const fresh = await sendRequests(fire.page, 3, { from: 'essex-fire', to: 'essex-police', label: 'Late request' });
  await q.waitForFunction((n) => document.querySelectorAll('#list-incoming a.row').length === n + 3, before);
  assert.equal(await q.evaluate(() => document.activeElement.dataset.transferId), onRow, 'focus stays on the same row');
  assert.equal(await rowTop(q, onRow), top, 'the focused row has not moved');
  assert.equal(await q.evaluate(() => document.getElementById('list-outgoing').getBoundingClientRect().top), outgoingTop);
  assert.match(await q.locator('[data-direction="incoming"] .count').textContent(), /3 new above/);
  // Home goes to the newest, which is one of the three; the "new above" count clears.
  await q.keyboard.press('Home');
  assert.ok(fresh.includes(await q.evaluate(() => document.activeElement.dataset.transferId)));
  await q.waitForFunction(() => !/new above/.test(document.querySelector('[data-direction="incoming"] .count').textContent));

  // A short list cannot scroll: the row under the pointer still stays put (the list grows a
  // margin to scroll into).
  const p = fire.page;
  await nav(p, '#/inbox');
  const [first, second] = await sendRequests(q, 2, { from: 'essex-police', to: 'essex-fire', label: 'Hydrant check' });
  await p.locator(`a.row[data-transfer-id="${second}"]`).waitFor();
  await p.locator(`a.row[data-transfer-id="${first}"]`).hover();
  const pointerTop = await rowTop(p, first);
  const [third] = await sendRequests(q, 1, { from: 'essex-police', to: 'essex-fire', label: 'Hydrant check' });
  await p.locator(`a.row[data-transfer-id="${third}"]`).waitFor({ state: 'attached' });
  assert.equal(await rowTop(p, first), pointerTop, 'the row under the pointer has not moved');
  await p.mouse.move(5, 5);
});

test('keyboard only: sign in, open the newest request, accept it, log a call, compose and send', { timeout: 40_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const k = await context.newPage();
  k.on('pageerror', (e) => console.error(`[keyboard] page error: ${e.message}`));
  await k.goto(`${base}/`);
  await k.waitForSelector('#login-form');
  await tabTo(k, '#login-username');
  await k.keyboard.type('police.op');
  await k.keyboard.press('Tab');
  await k.keyboard.type(PASSWORD);
  await k.keyboard.press('Enter');
  await k.waitForSelector('body[data-live="yes"]');

  const [id] = await sendRequests(fire.page, 1, { from: 'essex-fire', to: 'essex-police', priority: 'emergency', label: 'Keyboard test' });
  await k.locator(`#list-incoming a.row[data-transfer-id="${id}"]`).waitFor();
  await k.keyboard.press('i');
  await k.keyboard.press('Home');
  assert.equal(await k.evaluate(() => document.activeElement.dataset.transferId), id);
  await k.keyboard.press('Enter');
  await k.waitForSelector(`#detail[data-transfer-id="${id}"] #actions`);
  await k.keyboard.press('y'); // accept
  await k.waitForSelector('#form-accept');
  await k.keyboard.type('ESX-KBD-0001');
  await k.keyboard.press('Enter');
  await k.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'accepted');

  // Log a call: p opens the panel with Save focused; Enter saves.
  await k.keyboard.press('p');
  await k.waitForSelector('#call-panel[open]');
  await k.keyboard.press('Enter');
  await k.waitForSelector('#call-panel:not([open])', { state: 'attached' });

  // Compose: n, then Tab through the fields.
  await k.keyboard.press('n');
  await k.waitForSelector('#compose-form');
  const fill = async (pointer, text) => {
    await tabTo(k, `[data-pointer="${pointer}"]`);
    await k.keyboard.type(text);
  };
  await fill('/body/summary', 'Keyboard-only request: cordon at Moulsham Street');
  await fill('/body/sender_incident/number', 'P-KBD-0002');
  await fill('/body/methane/exact_location/address', 'Moulsham Street, Chelmsford');
  await fill('/body/methane/type_of_incident/text', 'Crowd control');
  // Ctrl+Enter sends from the field the operator is in: no Tabbing through the rest of the form.
  await k.keyboard.press('Control+Enter');
  await k.waitForURL(/#\/transfer\/T-\d{8}-\d{6}$/);
  // Focus is not lost after sending: it is on the new transfer's first action.
  await k.waitForFunction(() => document.activeElement?.closest?.('#actions') != null);
  await context.close();
});

test('the links screen shows who is online for each control room', { timeout: 20_000 }, async () => {
  const p = fire.page;
  await p.keyboard.press('l');
  await p.waitForSelector('#links-table');
  // Police has a console signed in; the ambulance service has none; nobody has a CAD here.
  await p.waitForFunction(() => Number(document.querySelector('tr[data-agency="essex-police"] .consoles')?.textContent) >= 1);
  assert.equal(await p.locator('tr[data-agency="eeast-ambulance"] .consoles').textContent(), '0');
  assert.match(await p.locator('tr[data-agency="essex-fire"]').textContent(), /\(us\)/);
  assert.match(await p.locator('tr[data-agency="essex-police"]').textContent(), /no CAD link/);
});

test('a supervisor adds an operator, who signs in with the shown password, then disables them', { timeout: 30_000 }, async () => {
  const sup = await signIn(base, 'fire.sup');
  const s = sup.page;
  assert.equal(await s.locator('[data-nav="team"]').isVisible(), true);
  await s.keyboard.press('t');
  await s.waitForSelector('#team-table');
  assert.match(await s.locator('h1').textContent(), /Essex County Fire and Rescue Service/);
  // Only Fire's accounts are listed; Police's operator is not.
  await s.locator('tr[data-username="fire.op"]').waitFor();
  assert.equal(await s.locator('tr[data-username="police.op"]').count(), 0);
  await s.fill('#u-username', 'fire.op3');
  await s.fill('#u-name', 'Robin Fire');
  await s.click('#u-add');
  const secret = s.locator('tr[data-username="fire.op3"] .new-password');
  await secret.waitFor();
  const password = await secret.textContent();
  assert.equal(password.length, 20);

  const op = await signIn(base, 'fire.op3', password);
  assert.equal(await op.page.locator('[data-nav="team"]').isVisible(), false, 'operators have no team screen');
  await s.click('tr[data-username="fire.op3"] [data-user-action="disable"]');
  await s.click('tr[data-username="fire.op3"] [data-user-action="confirm"]');
  await s.locator('tr[data-username="fire.op3"][data-disabled="yes"]').waitFor();
  // The operator's session has ended: the next page load goes to the sign-in screen.
  await op.page.reload();
  await op.page.waitForSelector('#login-form');
  await op.context.close();
  await sup.context.close();
});

test('managers and admins get their own screens and no transfer screens', { timeout: 30_000 }, async () => {
  const admin = await signIn(base, 'admin');
  const a = admin.page;
  await a.waitForSelector('#team-table');
  assert.equal(await a.locator('h1').textContent(), 'Users');
  await a.locator('tr[data-username="police.op"]').waitFor();
  assert.equal(await a.locator('[data-nav="inbox"]').isVisible(), false);
  assert.equal(await a.locator('#log-call-open').isVisible(), false);
  await nav(a, '#/inbox');
  await a.waitForFunction(() => location.hash === '#/team');
  await admin.context.close();

  const manager = await signIn(base, 'manager');
  const m = manager.page;
  assert.match(await m.locator('#who').textContent(), /Manager/);
  // A manager lands on the savings report: figures with their method text, five charts.
  await m.waitForSelector('#report[data-ready="yes"]', { timeout: 15_000 });
  assert.equal(await m.evaluate(() => location.hash), '#/reports');
  assert.match(await m.locator('#r-volume .method').textContent(), /baseline/i);
  assert.match(await m.locator('#r-substitution .method').textContent(), /transfer/i);
  assert.equal(await m.locator('#report canvas').count(), 5);
  assert.ok(await m.evaluate(() => typeof globalThis.Chart === 'function'), 'Chart.js loaded from vendor/');
  assert.ok(await m.locator('#r-months tbody tr').count() >= 1);
  await m.screenshot({ path: join(SHOTS, 'reports.png') });
  const csv = await m.evaluate(async () => {
    const r = await fetch(document.getElementById('r-csv').href);
    return { type: r.headers.get('content-type'), text: await r.text() };
  });
  assert.match(csv.type, /text\/csv/);
  assert.ok(csv.text.split('\n')[0].includes('volume_saved_gbp'), 'the CSV starts with its header row');
  // The print view hides the console around the report and makes a PDF.
  await m.emulateMedia({ media: 'print' });
  assert.equal(await m.locator('#top').isVisible(), false);
  assert.equal(await m.locator('#report-form').isVisible(), false);
  const pdf = await m.pdf({ format: 'A4' });
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  await m.emulateMedia({ media: 'screen' });
  for (const screen of ['inbox', 'compose', 'calls', 'team'])
    assert.equal(await m.locator(`[data-nav="${screen}"]`).isVisible(), false, `a manager has no ${screen} screen`);
  await nav(m, '#/compose');
  await m.waitForFunction(() => location.hash !== '#/compose');
  await manager.context.close();
});

test('with the tile server reachable, compose shows the point on a map', { timeout: 20_000 }, async () => {
  tiles.up = true;
  const p = fire.page;
  await nav(p, '#/inbox');
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  await field(p, '/body/methane/exact_location/osgr/easting').fill('570000');
  await field(p, '/body/methane/exact_location/osgr/northing').fill('207000');
  await field(p, '/body/methane/exact_location/osgr/northing').press('Tab');
  await p.waitForFunction(() => /WGS84 51\.\d+, 0\.\d+/.test(document.getElementById('geo-out').textContent));
  await p.waitForSelector('#compose-map .leaflet-tile-loaded', { timeout: 10_000 });
  assert.equal(await p.locator('#compose-map').isVisible(), true);
  assert.notEqual(await p.locator('#compose-map').getAttribute('data-tiles'), 'failed');
  assert.equal(await p.locator('#compose-map .leaflet-interactive').count(), 1, 'one marker at the point');
  assert.match(await p.locator('#compose-map .leaflet-control-attribution').textContent(), /test tiles/);
  assert.ok(tiles.served > 0, 'tiles came from the configured server');
  await nav(p, '#/inbox');
});

test('an expired session is sent to the login screen', { timeout: 20_000 }, async () => {
  const q = police.page;
  // The session cookie is gone, as after expiry: the next request is refused with 401.
  await police.context.clearCookies();
  await q.keyboard.press('l');
  await q.waitForSelector('#login-form');
  assert.match(await q.locator('#login-message').textContent(), /session/i);
  assert.equal(await q.locator('#top').isVisible(), false);
});
