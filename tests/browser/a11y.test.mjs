// Accessibility pass over the console's screens with axe-core (npm devDependency, pinned): the
// inbox, compose, transfer detail, links, team and reports screens, as the operator, supervisor
// and manager see them, must have no serious or critical violation (WCAG 2.1 A and AA rules and
// axe's best practices). axe runs inside the page through the DevTools protocol, so the console's
// Content-Security-Policy (no inline or third-party scripts) stays as it is.
// Run by ctest ("browser"), or by hand:
//   BLUELINK_GATEWAY=build/dev/gateway/bluelink-gateway BLUELINK_CLI=build/dev/tools/cli/bluelink \
//     node --test tests/browser/a11y.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { useRig, root, base, fire, nav, signIn, sendRequests } from './harness.mjs';

useRig();

const AXE = readFileSync(createRequire(join(root, 'console', 'package.json')).resolve('axe-core/axe.min.js'), 'utf8');

// The violations on the page as it is now, one line each, with their impact first.
async function violations(page) {
  if (!(await page.evaluate(() => typeof globalThis.axe === 'object'))) await page.evaluate(AXE);
  const results = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    resultTypes: ['violations'],
  }));
  return results.violations
    .flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id}: ${v.help} at ${n.target.join(' ')}`));
}

// Serious and critical violations fail the test; moderate and minor ones are reported (in the
// test's diagnostics) to be worked through.
async function check(t, page, screen) {
  const all = await violations(page);
  const bad = all.filter((v) => /^(serious|critical) /.test(v));
  for (const v of all.filter((x) => !bad.includes(x))) t.diagnostic(`${screen}: ${v}`);
  assert.deepEqual(bad, [], `${screen}: ${bad.length} serious or critical accessibility violations`);
}

let transferId;

test('the operator\'s inbox, with transfers in both lists', { timeout: 30_000 }, async (t) => {
  const p = fire.page;
  [transferId] = await sendRequests(p, 1, { from: 'essex-fire', to: 'essex-police', label: 'Cordon for the A12' });
  await nav(p, '#/inbox');
  await p.locator(`#list-outgoing a.row[data-transfer-id="${transferId}"]`).waitFor();
  await check(t, p, 'inbox');
});

test('compose, with a location converted and the map shown', { timeout: 30_000 }, async (t) => {
  const p = fire.page;
  await nav(p, '#/compose');
  await p.waitForSelector('#compose-form');
  await p.locator('#compose-where').fill('TL 740 035');
  await p.locator('#compose-where').press('Enter');
  await p.waitForSelector('#compose-map[data-map]', { timeout: 10_000 });
  await check(t, p, 'compose');
});

test('the transfer detail', { timeout: 30_000 }, async (t) => {
  const p = fire.page;
  await nav(p, `#/transfer/${transferId}`);
  await p.waitForSelector(`#detail[data-transfer-id="${transferId}"]`);
  await check(t, p, 'detail');
});

test('the links screen', { timeout: 30_000 }, async (t) => {
  const p = fire.page;
  await nav(p, '#/links');
  await p.waitForSelector('#links-table, .links, main table', { timeout: 10_000 });
  await check(t, p, 'links');
  await nav(p, '#/inbox');
});

test('the supervisor\'s team screen, with a confirmation open', { timeout: 30_000 }, async (t) => {
  const sup = await signIn(base, 'fire.sup');
  const s = sup.page;
  await nav(s, '#/team');
  await s.locator('tr[data-username="fire.op"]').waitFor();
  await check(t, s, 'team');
  await s.click('tr[data-username="fire.op"] [data-user-action="disable"]');
  await s.waitForSelector('tr[data-username="fire.op"] [data-user-action="confirm"]');
  await check(t, s, 'team (confirming)');
  await s.click('tr[data-username="fire.op"] [data-user-action="cancel"]');
  await sup.context.close();
});

test('the manager\'s reports screen', { timeout: 40_000 }, async (t) => {
  const manager = await signIn(base, 'manager');
  const m = manager.page;
  await nav(m, '#/reports');
  await m.waitForSelector('#r-status', { state: 'attached' });
  await m.waitForFunction(() => document.querySelector('.report h2') !== null, null, { timeout: 15_000 });
  await check(t, m, 'reports');
  await manager.context.close();
});
