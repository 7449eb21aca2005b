// An emergency request that stalls alerts its sender the way an arrival alerts the receiver: the
// banner in the page (with the room's number) and the alert tone, as well as the listed phone
// prompt. The rig's emergency delivery limit is cut to 2 s so that the stall comes quickly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useRig, fire, sendRequests } from './harness.mjs';

useRig({
  configure(cfg) {
    cfg.priorities.emergency.time_to_delivery_s = 2;
  },
});

test('a stalled emergency request alerts the sender with banner and tone, and lists the phone prompt', { timeout: 30_000 }, async () => {
  const p = fire.page;
  const toneBefore = await p.evaluate(() => document.body.dataset.lastTone || '');
  // Nobody from the ambulance service is signed in and it has no CAD: the request stays undelivered.
  const [id] = await sendRequests(p, 1, { from: 'essex-fire', to: 'eeast-ambulance', priority: 'emergency', label: 'Casualties trapped' });
  const line = p.locator(`#announce .alert-item[data-transfer-id="${id}"]`);
  await line.waitFor({ timeout: 15_000 });
  assert.match(await line.textContent(), /EMERGENCY request not yet delivered to East of England Ambulance Service/);
  assert.match(await line.textContent(), /Phone East of England Ambulance Service on 01632 960300/);
  await p.waitForFunction((before) => (document.body.dataset.lastTone || '') !== before, toneBefore);
  await p.locator(`.prompt[data-transfer-id="${id}"]`).waitFor();
  // The banner stays until the operator dismisses it (it is not an arrival's 15 s line).
  await line.getByRole('button', { name: /Dismiss/ }).click();
  await line.waitFor({ state: 'detached' });
});
