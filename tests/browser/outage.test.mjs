// Browser tests of an agency's own outage (issue 16): the ambulance service's room has no CAD and
// no console signed in (nobody from it signs in here), so after its outage_after_s (10 s) the
// Fire operator sees it out at once: on compose when choosing it, with its number and a
// one-click send to its fallback room; and on a pending transfer to it, with a one-action
// redirect that the detail shows linked both ways. Uses the shared rig (tests/browser/harness.mjs).
// Writes docs/screenshots/compose-outage.png at 1280x800.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useRig, SHOTS, fire, nav, field, sendRequests } from './harness.mjs';

const BUDDY = 'secamb-ambulance';
const BUDDY_NAME = 'South East Coast Ambulance Service';

useRig({
  configure(cfg) {
    const amb = cfg.agencies.find((a) => a.id === 'eeast-ambulance');
    amb.outage_after_s = 10;
    amb.fallback = { agency: BUDDY, note: 'SECAmb takes EEAST calls while EEAST control is evacuated' };
    cfg.agencies.push({ id: BUDDY, name: BUDDY_NAME, kind: 'ambulance', phone: '01632 960500' });
  },
});

test('choosing a room that is out on compose says so at once, and one click sends to its fallback instead', { timeout: 60_000 }, async () => {
  const { page } = fire;
  await nav(page, '#/compose');
  await page.waitForSelector('#compose-form');
  await field(page, '/body/category').selectOption('ambulance.casualty_care');
  await field(page, '/to').selectOption('eeast-ambulance');
  // The room has been silent since the gateway started: out within its 10 s (and a second's look).
  const banner = page.locator('#compose-outage');
  await banner.waitFor({ timeout: 30_000 });
  const said = await banner.locator('.outage-text').textContent();
  assert.match(said, /^East of England Ambulance Service has had no CAD or console connected for (under a minute|\d+ min) — phone 01632 960300 or send to South East Coast Ambulance Service$/);
  assert.match(await banner.textContent(), /SECAmb takes EEAST calls/);
  // Another room that is not out: no banner.
  await field(page, '/to').selectOption('essex-police');
  await page.locator('#compose-outage').waitFor({ state: 'detached' });
  await field(page, '/to').selectOption('eeast-ambulance');
  await banner.waitFor();

  await field(page, '/body/summary').fill('House fire Harlow, two casualties with burns');
  await field(page, '/body/sender_incident/number').fill('EF-20261206-0101');
  await field(page, '/body/methane/exact_location/address').fill('14 Fenner Brockway Walk, Harlow');
  await field(page, '/body/methane/exact_location/postcode').fill('CM19 4JZ');
  await field(page, '/body/methane/type_of_incident/text').fill('House fire, two casualties with burns');
  await page.evaluate(() => document.getElementById('compose-outage').scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: join(SHOTS, 'compose-outage.png') });
  await page.click('#compose-send-buddy');
  await page.waitForURL(/#\/transfer\/T-\d{8}-\d{6}$/);
  await page.waitForSelector('#detail .who-other');
  assert.match(await page.locator('#detail .who-other').textContent(), /South East Coast Ambulance Service/);
});

test('a pending transfer to a room that is out is redirected to its fallback in one action, linked both ways', { timeout: 60_000 }, async () => {
  const { page } = fire;
  const [tid] = await sendRequests(page, 1, { from: 'essex-fire', to: 'eeast-ambulance', label: 'Casualties at RTC' });
  // The inbox says which of our pending transfers wait on a room that is out.
  await nav(page, '#/inbox');
  const listed = page.locator(`#outage-eeast-ambulance [data-redirect="${tid}"]`);
  await listed.waitFor({ timeout: 30_000 });
  assert.equal(await listed.textContent(), `Redirect to ${BUDDY_NAME}`);

  await nav(page, `#/transfer/${tid}`);
  await page.waitForSelector(`#detail[data-transfer-id="${tid}"] #detail-outage`);
  assert.match(await page.locator('#detail-outage .outage-text').textContent(),
    /^East of England Ambulance Service has had no CAD or console connected/);
  await page.click('#detail-redirect');
  await page.waitForFunction(() => document.getElementById('detail-state')?.dataset.state === 'redirected');
  // Gone once it is redirected: nothing left to redirect.
  await page.locator('#detail-outage').waitFor({ state: 'detached' });
  const entry = page.locator('#timeline li[data-kind="transfer.cancel"]');
  assert.match(await entry.textContent(), /Redirected by Essex County Fire and Rescue Service to South East Coast Ambulance Service/);
  const newId = await entry.locator('a.redirect-link').textContent();
  assert.match(newId, /^T-\d{8}-\d{6}$/);
  assert.notEqual(newId, tid);

  await entry.locator('a.redirect-link').click();
  await page.waitForSelector(`#detail[data-transfer-id="${newId}"] #timeline`);
  const back = page.locator('#timeline li[data-kind="transfer.request"]');
  await back.waitFor();
  assert.match(await back.textContent(), /redirected here .* from East of England Ambulance Service/);
  assert.equal(await back.locator('a.redirect-link').textContent(), tid);
  assert.equal(await page.locator('#detail-state').getAttribute('data-state'), 'submitted');
});
