// Browser tests of failures as an operator meets them (issue 14, points 2 and 3): a send that
// cannot reach the gateway or that the store refuses says why in words, offers "Phone <room> on
// <number>" with one-click call logging, and keeps what was typed; a session that ends
// mid-compose keeps the draft across signing in again; phone prompts are listed (not over the
// lists), sound once, and a claim ("I'm calling them") on one console shows on the others.
//   BLUELINK_GATEWAY=build/dev/gateway/bluelink-gateway BLUELINK_CLI=build/dev/tools/cli/bluelink \
//     node --test tests/browser/failures.test.mjs
// Writes docs/screenshots/failure-phone-prompt.png at 1280x800.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  useRig, SHOTS, dir, base, proxy, fire, police, failpoints, signIn, nav, field, composeAndSend, act,
} from './harness.mjs';

useRig();

// Fills the compose screen (without sending) with a request worth keeping.
async function fillRequest(p, { to, summary, incident }) {
  await nav(p, '#/inbox');
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  // An unsent draft from earlier is back on screen: this is a new request.
  if (await p.locator('#compose-draft').isVisible()) await p.click('#compose-discard');
  await field(p, '/body/category').selectOption('police.traffic_management');
  if (to) await field(p, '/to').selectOption(to);
  await field(p, '/body/priority').selectOption('emergency');
  await field(p, '/body/summary').fill(summary);
  await field(p, '/body/sender_incident/number').fill(incident);
  await field(p, '/body/methane/exact_location/address').fill('A12 London-bound between J19 and J18, Chelmsford');
  await field(p, '/body/methane/type_of_incident/text').fill('Two vehicles, one person trapped');
  await field(p, '/body/notes').fill('Crew on scene asking for a rolling road block');
}

const value = (p, pointer) => field(p, pointer).inputValue();

test('the compose form shows which fields are required and their limits', { timeout: 20_000 }, async () => {
  const p = fire.page;
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  const label = (pointer) => p.locator(`label[for="${'f' + pointer.replace(/[^a-z0-9]+/gi, '-')}"]`).textContent();
  assert.match(await label('/body/summary'), /· required · max 200 characters/);
  assert.match(await label('/body/sender_incident/number'), /· required/);
  assert.equal(await field(p, '/body/sender_incident/number').getAttribute('maxlength'), '40');
  assert.match(await label('/body/methane/type_of_incident/text'), /· required · max 500 characters/);
  assert.doesNotMatch(await label('/body/contact/name'), /required/);
  assert.match(await p.locator('#location-need').textContent(), /at least one of address, postcode/);
  // A bad value is named in words, never in the validator's own text.
  await field(p, '/body/contact/phone').fill('call us');
  await field(p, '/body/contact/phone').blur();
  const err = p.locator('[data-error-for="/body/contact/phone"]');
  await p.waitForFunction(() => document.querySelector('[data-error-for="/body/contact/phone"]')?.textContent.length > 0);
  assert.match(await err.textContent(), /^Phone: digits and spaces as dialled/);
  assert.doesNotMatch(await err.textContent(), /constraint|regex|schema/i);
});

test('sending while the gateway cannot be reached says so, offers the phone and keeps the text', { timeout: 40_000 }, async () => {
  const q = police.page; // Police reaches the gateway through the proxy the test cuts
  await fillRequest(q, { to: 'essex-fire', summary: 'SEND WHILE DOWN: fuel spill on the A12', incident: 'EP-DOWN-1' });
  proxy.cut();
  try {
    await q.click('#compose-send');
    const box = q.locator('#compose-failure');
    await box.waitFor();
    const text = await box.textContent();
    assert.match(text, /Not sent to Essex County Fire and Rescue Service: The gateway cannot be reached/);
    assert.match(text, /phone them now/);
    assert.match(text, /Phone Essex County Fire and Rescue Service on 01632 960100/);
    assert.equal(await box.getAttribute('role'), 'alert');
    await q.screenshot({ path: join(dir, 'send-while-down.png') });
    assert.doesNotMatch(await q.locator('#compose-status').textContent(), /correct the marked fields/);
    // Nothing is marked wrong: the fields were not the problem.
    assert.equal(await q.locator('#compose-form [aria-invalid="true"]').count(), 0);
    // Leaving a field (which checks it with the gateway) does not wipe the reason.
    await field(q, '/body/summary').focus();
    await field(q, '/body/contact/name').focus();
    await q.waitForTimeout(600);
    assert.equal(await box.isVisible(), true);
    assert.match(await box.textContent(), /cannot be reached/);
    assert.equal(await value(q, '/body/summary'), 'SEND WHILE DOWN: fuel spill on the A12');
    assert.equal(await value(q, '/body/notes'), 'Crew on scene asking for a rolling road block');
  } finally {
    proxy.restore();
  }
  // The operator phoned; logging the call is one click once the gateway answers again.
  await q.locator('#compose-failure').getByRole('button', { name: 'Log this call' }).click();
  await q.locator('#compose-failure .logged').filter({ hasText: /Call to Essex County Fire and Rescue Service logged/ }).waitFor({ timeout: 15_000 });
  // And the same text can simply be sent again.
  await q.click('#compose-send');
  await q.waitForURL(/#\/transfer\/T-\d{8}-\d{6}$/, { timeout: 15_000 });
});

test('sending while the store refuses every write says so in words with the phone prompt', { timeout: 40_000 }, async () => {
  const p = fire.page;
  await fillRequest(p, { to: 'essex-police', summary: 'STORE WEDGED: RTC A12 J19, person trapped', incident: 'F-2612-000059' });
  writeFileSync(failpoints, 'engine.commit_busy\n');
  try {
    await p.click('#compose-send');
    const box = p.locator('#compose-failure');
    await box.waitFor({ timeout: 15_000 });
    const text = await box.textContent();
    assert.match(text, /Not sent to Essex Police: The gateway could not store it/);
    assert.match(text, /Nothing was sent/);
    assert.match(text, /Phone Essex Police on 01632 960200/);
    assert.doesNotMatch(text, /bl\.store|SQLITE|injected/);
    assert.equal(await value(p, '/body/summary'), 'STORE WEDGED: RTC A12 J19, person trapped');
    assert.equal(await value(p, '/body/sender_incident/number'), 'F-2612-000059');
  } finally {
    writeFileSync(failpoints, '');
  }
  // The screenshot: what was being sent (top of the form) with why it was not, beside Send. The
  // arrival banner of the previous test's request is not part of this story.
  await p.evaluate(() => {
    document.getElementById('announce').hidden = true;
    document.getElementById('main').scrollTo(0, 0);
  });
  await p.screenshot({ path: join(SHOTS, 'failure-phone-prompt.png') });
  await p.locator('#compose-failure').getByRole('button', { name: 'Log this call' }).click();
  await p.locator('#compose-failure .logged').waitFor({ timeout: 15_000 });
  // The store takes writes again: the kept text is sent as it is, and the draft is gone.
  await p.click('#compose-send');
  await p.waitForURL(/#\/transfer\/T-\d{8}-\d{6}$/, { timeout: 15_000 });
  await nav(p, '#/calls');
  await p.locator('#calls-body tr', { hasText: 'Essex Police' }).first().waitFor();
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  assert.equal(await p.locator('#compose-draft').isVisible(), false);
  assert.equal(await value(p, '/body/summary'), '');
});

test('a session that ends mid-compose keeps the draft across signing in again', { timeout: 40_000 }, async () => {
  const s = await signIn(base, 'fire.sup');
  try {
    const p = s.page;
    await fillRequest(p, { to: 'essex-police', summary: 'HALF TYPED: cordon needed at Baddow Road', incident: 'F-2612-000077' });
    await field(p, '/body/contact/name').fill('FCO Kim');
    // The session ends (expired, or ended elsewhere) while the operator is typing.
    await field(p, '/body/contact/role').fill('Fire Control');
    await s.context.clearCookies();
    // The next thing the console asks the gateway (here the check of the field just left) finds out.
    await p.evaluate(() => document.activeElement?.blur());
    await p.waitForSelector('#login-form');
    const said = await p.locator('#login-message').textContent();
    assert.match(said, /Your session ended; sign in again/);
    assert.match(said, /unsent request is kept/);
    assert.doesNotMatch(said, /Authorization|Bearer|token/i);
    await p.fill('#login-username', 'fire.sup');
    await p.fill('#login-password', 'correct horse battery staple');
    await p.click('#login-form button[type=submit]');
    await p.waitForSelector('#compose-form');
    await p.locator('#compose-draft').waitFor();
    assert.equal(await value(p, '/body/summary'), 'HALF TYPED: cordon needed at Baddow Road');
    assert.equal(await value(p, '/body/sender_incident/number'), 'F-2612-000077');
    assert.equal(await value(p, '/body/contact/name'), 'FCO Kim');
    assert.equal(await value(p, '/body/contact/role'), 'Fire Control');
    assert.equal(await value(p, '/body/priority'), 'emergency');
    // A deliberate sign-out on a shared PC forgets the draft: the next person never sees it.
    await p.click('#logout');
    await p.waitForSelector('#login-form');
    await p.fill('#login-username', 'fire.sup');
    await p.fill('#login-password', 'correct horse battery staple');
    await p.click('#login-form button[type=submit]');
    await p.waitForSelector('body[data-live="yes"]');
    await nav(p, '#/compose');
    await p.waitForSelector('#compose-form');
    assert.equal(await value(p, '/body/summary'), '');
    assert.equal(await p.locator('#compose-draft').isVisible(), false);
  } finally {
    await s.context.close();
  }
});

test('a phone prompt is listed, sounds once, and a claim on one console shows on another', { timeout: 60_000 }, async () => {
  const kim = await signIn(base, 'fire.sup');
  try {
    const p = fire.page;
    const k = kim.page;
    const tonesBefore = Number(await k.evaluate(() => document.body.dataset.tones || 0));
    // The ambulance service has neither a CAD nor a console, so a routine request stalls in 2 s.
    const id = await composeAndSend(p, {
      category: 'info.address_risk', to: 'eeast-ambulance',
      summary: 'Risk information for 40 Moulsham Street before crews enter', incident: 'F-2612-000101',
      address: '40 Moulsham Street, Chelmsford', postcode: 'CM2 0HY', text: 'Any known violence or weapons at the address?',
    });
    await nav(k, '#/inbox');
    const onKim = k.locator(`.prompt[data-transfer-id="${id}"]`);
    const onSam = p.locator(`.prompt[data-transfer-id="${id}"]`);
    await onKim.waitFor({ timeout: 20_000 });
    await onSam.waitFor({ timeout: 20_000 });
    assert.match(await onKim.textContent(), /Phone East of England Ambulance Service on 01632 960300/);
    // Listed in its own panel, never over the inbox's lists.
    await nav(p, '#/inbox');
    await p.waitForSelector('#list-outgoing');
    const panel = await p.locator('#prompts').boundingBox();
    for (const list of ['#list-incoming', '#list-outgoing']) {
      const b = await p.locator(list).boundingBox();
      assert.ok(panel.y + panel.height <= b.y || b.y + b.height <= panel.y, `the prompts panel overlaps ${list}`);
    }
    // Sounded once on Kim's console, and not again on re-rendering or reloading.
    await k.waitForFunction((n) => Number(document.body.dataset.tones || 0) >= n + 1, tonesBefore);
    const tonesAfter = Number(await k.evaluate(() => document.body.dataset.tones));
    await nav(k, '#/calls');
    await nav(k, '#/inbox');
    await k.waitForTimeout(500);
    assert.equal(Number(await k.evaluate(() => document.body.dataset.tones)), tonesAfter);
    await k.reload();
    await k.waitForSelector('body[data-live="yes"]');
    await onKim.waitFor();
    await k.waitForTimeout(800);
    assert.equal(Number(await k.evaluate(() => document.body.dataset.tones || 0)), 0, 'no tone again after a reload');

    // Sam says "I'm calling them": Kim's console shows it at once, and the claim is kept.
    await onSam.getByRole('button', { name: "I'm calling them" }).click();
    await onSam.locator('.claim', { hasText: 'You are calling East of England Ambulance Service' }).waitFor();
    await onKim.locator('.claim', { hasText: 'Sam Fire is calling East of England Ambulance Service' }).waitFor({ timeout: 10_000 });
    assert.equal(await onKim.getByRole('button', { name: "I'm calling them" }).count(), 0);
    // Claiming again (a double click, another console) is answered with the standing claim.
    const again = await k.evaluate(async (tid) => {
      const api = await import('/js/api.js');
      return api.post('/api/v1/phone-claims', { transfer_id: tid, prompt: 'delivery_overdue' });
    }, id);
    assert.equal(again.already_claimed, true);
    assert.equal(again.claim.by, 'fire.op');
    // In the transfer's timeline, in words.
    await nav(k, `#/transfer/${id}`);
    await k.locator('#timeline li[data-kind="phone_claim"]', { hasText: 'Sam Fire is phoning East of England Ambulance Service on 01632 960300' }).waitFor();
    // A console signed in later sees the prompt already claimed.
    await k.reload();
    await k.waitForSelector('body[data-live="yes"]');
    await onKim.locator('.claim', { hasText: 'Sam Fire is calling' }).waitFor();
    await nav(p, '#/inbox');
    await p.waitForSelector('#list-outgoing');
    await p.screenshot({ path: join(dir, 'prompt-claimed.png') });
    const dismiss = p.locator('.prompt button', { hasText: 'Dismiss' });
    while (await dismiss.count()) await dismiss.first().click();
  } finally {
    await kim.context.close();
  }
});

test('a declined request prompts the sender to phone, with the reason in words', { timeout: 40_000 }, async () => {
  const p = fire.page;
  const id = await composeAndSend(p, {
    category: 'police.scene_security',
    summary: 'Car fire Baddow Road, crowd gathering, request cordon',
    incident: 'F-2612-000131', address: 'Baddow Road, Chelmsford', postcode: 'CM2 0DG',
    text: 'Car fire, crowd of about 20 gathering',
  });
  const q = police.page;
  await nav(q, `#/transfer/${id}`);
  await act(q, 'decline', async () => {
    await q.selectOption('#a-reason', 'no_resources');
    await q.fill('#a-text', 'Nearest unit 40 minutes away');
  });
  const prompt = p.locator(`.prompt[data-transfer-id="${id}"][data-prompt="declined"]`);
  await prompt.waitFor({ timeout: 15_000 });
  const text = await prompt.textContent();
  assert.match(text, /Phone Essex Police on 01632 960200/);
  assert.match(text, /Declined by Essex Police: no resources available \(Nearest unit 40 minutes away\)/);
  assert.doesNotMatch(text, /no_resources/);
  await prompt.getByRole('button', { name: 'Log this call' }).click();
  await p.locator(`.prompt.done[data-transfer-id="${id}"]`).waitFor();
  await prompt.getByRole('button', { name: 'Dismiss' }).click();
  await prompt.waitFor({ state: 'detached' });
});
