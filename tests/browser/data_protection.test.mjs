// The data-protection officer's screens (issue 18): a supervisor reads who in their agency read a
// transfer in the access log (DPA 2018 s.62), filters it by user, opens it from the transfer
// itself, exports it as CSV, and sees no other agency's entries; an admin reads every agency's;
// operators have no access-log screen at all; an agency's data-protection officer lands on its
// access log, reads a transfer and holds it, and acts for the agency in nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useRig, base, fire, police, signIn, sendRequests, nav, addUser, SHOTS } from './harness.mjs';

useRig();

test('a supervisor sees who in the agency read a transfer, filters, exports CSV; an admin sees every agency', { timeout: 40_000 }, async () => {
  // Fire sends a request; the Fire operator and the Police operator each open it.
  const [id] = await sendRequests(fire.page, 1, { from: 'essex-fire', to: 'essex-police', label: 'Access log check' });
  for (const op of [fire, police]) {
    await nav(op.page, `#/transfer/${id}`);
    await op.page.waitForSelector('#detail h1, #detail-title, main h1');
    await op.page.locator(`text=${id}`).first().waitFor();
  }
  assert.equal(await fire.page.locator('[data-nav="access"]').isVisible(), false, 'operators have no access-log screen');

  const sup = await signIn(base, 'fire.sup');
  const s = sup.page;
  await s.locator('[data-nav="access"]').waitFor();
  // From the transfer itself: "who has read this" opens the log filtered by it.
  await nav(s, `#/transfer/${id}`);
  await s.click('#detail-access-log');
  await s.waitForFunction((t) => location.hash === `#/access/${t}`, id);
  await s.locator('#access-table tbody tr').first().waitFor();
  assert.equal(await s.locator('#a-transfer').inputValue(), id);
  const rows = await s.locator('#access-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.innerText));
  assert.ok(rows.some((r) => /Read/.test(r) && /transfer detail/.test(r) && /fire\.op/.test(r)), `fire.op's read is listed: ${rows.join(' | ')}`);
  assert.ok(rows.some((r) => /Disclosed/.test(r) && /Essex Police/.test(r)), 'the disclosure to Police is listed');
  assert.ok(!rows.some((r) => /police\.op/.test(r)), 'no entry of another agency');
  await s.screenshot({ path: join(SHOTS, 'access-log.png') });

  // By user, with the keyboard shortcut to the screen.
  await nav(s, '#/inbox');
  await s.keyboard.press('g');
  await s.waitForSelector('#access-form');
  await s.fill('#a-user', 'fire.op');
  await s.selectOption('#a-operation', 'consult');
  await s.click('#a-show');
  await s.waitForFunction(() => /entr/.test(document.getElementById('a-status').textContent) && !/Loading/.test(document.getElementById('a-status').textContent));
  const byUser = await s.locator('#access-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.innerText));
  assert.ok(byUser.length >= 1);
  assert.ok(byUser.every((r) => /fire\.op/.test(r) && /Read/.test(r)), byUser.join(' | '));

  // The CSV is what the screen asked for, as a spreadsheet reads it.
  const csv = await s.evaluate(async () => {
    const r = await fetch(document.getElementById('a-csv').href);
    return { type: r.headers.get('content-type'), text: await r.text() };
  });
  assert.match(csv.type, /text\/csv/);
  const lines = csv.text.trim().split('\r\n');
  assert.match(lines[0], /^seq,at,operation,agency,actor/);
  assert.ok(lines.length >= 2 && lines.slice(1).every((l) => l.includes(',consult,essex-fire,fire.op,')), csv.text);
  await sup.context.close();

  // An admin reads every agency's entries, Police's read among them.
  const admin = await signIn(base, 'admin');
  const a = admin.page;
  await a.locator('[data-nav="access"]').waitFor();
  await nav(a, `#/access/${id}`);
  await a.locator('#access-table tbody tr').first().waitFor();
  const all = await a.locator('#access-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.innerText));
  assert.ok(all.some((r) => /police\.op/.test(r)) && all.some((r) => /fire\.op/.test(r)), all.join(' | '));
  await admin.context.close();
});

test('a supervisor places a legal hold with a reason and lifts it; the transfer says how long it is kept', { timeout: 40_000 }, async () => {
  const [id] = await sendRequests(fire.page, 1, { from: 'essex-fire', to: 'essex-police', label: 'Hold check' });
  // An operator sees how long it is kept, and cannot hold it.
  await nav(fire.page, `#/transfer/${id}`);
  await fire.page.locator('#retention-line').waitFor();
  assert.match(await fire.page.locator('#retention-line').innerText(), /Kept until/);
  assert.equal(await fire.page.locator('#detail-hold').count(), 0, 'operators place no holds');

  const sup = await signIn(base, 'fire.sup');
  const s = sup.page;
  await nav(s, `#/transfer/${id}`);
  await s.click('#detail-hold');
  await s.locator('#hold-reason').waitFor();
  // Too short a reason is refused in words, nothing sent.
  await s.fill('#hold-reason', 'x');
  await s.click('#hold-submit');
  await s.waitForFunction(() => /reason/.test(document.getElementById('hold-status').textContent));
  await s.fill('#hold-reason', "Coroner's inquest ref 2026/114");
  await s.click('#hold-submit');
  await s.locator('#retention-held').waitFor();
  assert.match(await s.locator('#retention-line').innerText(), /Legal hold.*Coroner's inquest ref 2026\/114.*Kept until the hold is lifted/s);
  await s.locator('#timeline li', { hasText: 'Legal hold placed by fire.sup' }).waitFor();
  assert.equal(await s.locator('#detail-hold').innerText(), 'Lift legal hold');
  await s.screenshot({ path: join(SHOTS, 'legal-hold.png') });

  // Police, the other party, sees that a hold stands but not Fire's reason.
  await nav(police.page, `#/transfer/${id}`);
  await police.page.locator('#retention-held').waitFor();
  assert.doesNotMatch(await police.page.locator('#retention-line').innerText(), /Coroner/);

  // Lifted, with a reason; the transfer is kept until its period again.
  await s.click('#detail-hold');
  await s.fill('#hold-reason', 'Inquest concluded');
  await s.click('#hold-submit');
  await s.locator('#retention-due').waitFor();
  await s.locator('#timeline li', { hasText: 'Legal hold lifted by fire.sup' }).waitFor();
  assert.equal(await s.locator('#detail-hold').innerText(), 'Place legal hold');
  await sup.context.close();
});

test('a data-protection officer lands on the access log, reads and holds a transfer, and acts in nothing', { timeout: 40_000 }, async () => {
  addUser('police.dpo', 'Jo Officer', 'essex-police', 'dpo');
  const [id] = await sendRequests(fire.page, 1, { from: 'essex-fire', to: 'essex-police', label: 'Officer check' });
  const dpo = await signIn(base, 'police.dpo');
  const d = dpo.page;
  await d.waitForSelector('#access-form');
  assert.match(await d.locator('main h1').first().innerText(), /Access log/);
  for (const n of ['inbox', 'compose', 'calls', 'team', 'reports'])
    assert.equal(await d.locator(`[data-nav="${n}"]`).isVisible(), false, `no ${n} screen for an officer`);
  assert.equal(await d.locator('#log-call-open').isVisible(), false, 'no call logging for an officer');

  // The transfer: read, with no action to take on it, but a hold to place.
  await nav(d, `#/transfer/${id}`);
  await d.locator('#retention-line').waitFor();
  assert.equal(await d.locator('#actions [data-action]').count(), 0, 'no accept, decline or other action');
  assert.equal(await d.locator('#detail-log-call').count(), 0);
  await d.click('#detail-hold');
  await d.fill('#hold-reason', 'Subject access request SAR-2026-031');
  await d.click('#hold-submit');
  await d.locator('#retention-held').waitFor();
  await d.locator('#timeline li', { hasText: 'Legal hold placed by police.dpo' }).waitFor();

  // Who has read it: the officer's own read is in the agency's log.
  await d.click('#detail-access-log');
  await d.waitForFunction((t) => location.hash === `#/access/${t}`, id);
  await d.locator('#access-table tbody tr', { hasText: 'police.dpo' }).first().waitFor();
  await dpo.context.close();
});

test('the officer finds a person across the agency\'s transfers by name and number', { timeout: 40_000 }, async () => {
  addUser('police.dpo2', 'Lee Officer', 'essex-police', 'dpo');
  const [named] = await sendRequests(fire.page, 1, { from: 'essex-fire', to: 'essex-police', label: 'Caller Mary Major on 07700 900456' });
  await sendRequests(fire.page, 1, { from: 'essex-fire', to: 'essex-police', label: 'Nobody named here' });
  const dpo = await signIn(base, 'police.dpo2');
  const d = dpo.page;
  await d.click('[data-nav="subject"]');
  await d.waitForSelector('#subject-form');
  await d.fill('#s-reference', 'SAR-2026-032');
  await d.fill('#s-terms .s-value', 'mary major');
  await d.click('#s-add-term');
  await d.locator('#s-terms .subject-term').nth(1).locator('.s-value').fill('+44 7700 900456');
  await d.click('#s-search');
  await d.locator(`#s-transfers tr[data-transfer="${named}"]`).waitFor();
  assert.match(await d.locator('#s-status').innerText(), /mention the person/);
  assert.match(await d.locator(`#s-transfers tr[data-transfer="${named}"] .excerpt`).first().innerText(), /Mary Major/);
  await d.screenshot({ path: join(SHOTS, 'subject-access.png') });
  // The export: a third party redacted, a printable report of what is held.
  await d.fill('#s-redact', 'Major');
  await d.click('#s-print');
  await d.locator('#s-report h1', { hasText: 'SAR-2026-032' }).waitFor();
  const report = await d.locator('#s-report').innerText();
  assert.match(report, /\[redacted\]/);
  assert.doesNotMatch(report, /Mary Major/);
  assert.match(await d.locator('#s-export-status').innerText(), /disclosed to the data subject/);
  await d.screenshot({ path: join(SHOTS, 'subject-access-report.png') });
  // The search is in the agency's access log under the reference.
  await nav(d, '#/access');
  await d.fill('#a-user', 'police.dpo2');
  await d.click('#a-show');
  await d.locator('#access-table tbody tr', { hasText: 'SAR-2026-032' }).first().waitFor();
  await dpo.context.close();
});
