// Browser tests of the transfer detail screen (issue 14): both rooms see the whole M/ETHANE report
// in the order JESIP reads it aloud and every answer in words; either room posts updates and the
// other sees them live; the timeline speaks operator language; a declined emergency request
// alerts the sender with the arrival's tone and banner, which covers no heading and can be
// dismissed from the keyboard. Uses the shared rig (tests/browser/harness.mjs).
// Writes docs/screenshots/detail-receiver.png and detail-sender.png at 1280x800.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { useRig, root, SHOTS, base, fire, police, nav, act, tabTo } from './harness.mjs';

// Fire's CAD is also a UCRI2 client (issue 17): its sends reach Police, a Bluelink room, with the
// document kept as it arrived.
const FIRE_OID = '1.2.3.4.5.6';
const FIRE_SECRET = 'browser-test-ucri2-secret-for-essex-fire';
useRig({
  configure(cfg) {
    cfg.tokens = [{ agency: 'essex-fire', sha256: createHash('sha256').update(FIRE_SECRET).digest('hex'), label: 'UCRI2 client of Essex Fire' }];
    cfg.ucri2 = {
      oid: '1.2.3.4.5', support_email: 'support@example.org',
      participants: [{ agency: 'essex-fire', oid: FIRE_OID, client: true }, { agency: 'essex-police', oid: '1.2.3.4.5.7' }],
    };
  },
});

const example = (name) => JSON.parse(readFileSync(join(root, 'schemas/examples/valid/message', name), 'utf8'));

// Example 01 (the A12 RTC) with every optional M/ETHANE field the schema has filled in, and text
// in Welsh and Polish that must come through unchanged.
const FULL = (() => {
  const m = example('01-request-police-traffic-management-a12-rtc.json');
  const b = m.body;
  b.summary = 'RTC A12 London-bound J19-J18 Chelmsford, 2 vehicles, persons trapped, request road closure';
  b.methane.major_incident = 'standby';
  Object.assign(b.methane.exact_location, { postcode: 'CM2 7PU', what3words: '///index.home.raft', uprn: '100091234567' });
  Object.assign(b.methane.casualties, { fatal: 0, urgent: 2, delayed: 1 });
  b.notes = 'Gyrrwr yn gaeth: ambiwlans ar y ffordd. Kierowca uwięziony, świadek mówi po polsku.';
  return m;
})();

async function sendRequest(page, doc, { summary, priority } = {}) {
  return page.evaluate(async ({ doc, summary, priority }) => {
    const api = await import('/js/api.js');
    const m = structuredClone(doc);
    m.id = `${m.from}:${crypto.randomUUID()}`;
    m.sent_at = new Date().toISOString();
    delete m.expires_at;
    if (summary) m.body.summary = summary;
    if (priority) m.body.priority = priority;
    const r = await api.post('/api/v1/messages', m);
    return r.receipt.transfer_id;
  }, { doc, summary, priority });
}

const stateIs = (page, state) => page.waitForFunction((s) => document.getElementById('detail-state')?.dataset.state === s, state);
const open = async (page, id) => {
  await nav(page, `#/transfer/${id}`);
  await page.waitForSelector(`#detail[data-transfer-id="${id}"] #methane`);
};
const text = (page, sel) => page.locator(sel).textContent();
const rect = (page, sel) => page.evaluate((s) => {
  const r = document.querySelector(s)?.getBoundingClientRect();
  return r && { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
}, sel);
const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

// What every field of FULL must look like on either room's screen.
async function assertFullMethane(page, who) {
  const order = await page.locator('#methane dt').evaluateAll((dts) => dts.map((d) => d.textContent));
  assert.deepEqual(order, ['MMajor incident', 'EExact location', 'TType of incident', 'HHazards', 'AAccess',
    'NNumber and type of casualties', 'EEmergency services'], `${who}: M/ETHANE in the order it is read aloud`);
  const row = (f) => text(page, `#methane [data-field="${f}"] dd`);
  assert.match(await row('m-major'), /Major incident standby/);
  const loc = await row('m-location');
  for (const want of ['A12 London-bound carriageway between J19 (Boreham) and J18 (Sandon), Chelmsford', 'CM2 7PU',
    'TL 74520 05704', 'E 574520 N 205704', '51.72290, 0.52530 (±25 m)', '///index.home.raft', '100091234567',
    'Lane 1 and hard shoulder, approx. 800 m before the J18 (Sandon) exit slip road', 'Hard shoulder behind the first fire appliance'])
    assert.ok(loc.includes(want), `${who}: exact location shows ${want} (got ${loc})`);
  const type = await row('m-type');
  for (const want of ['RTC', 'Two-car collision, one driver trapped, vehicles across lanes 1 and 2', 'RTC-PERSONS-TRAPPED'])
    assert.ok(type.includes(want), `${who}: type of incident shows ${want}`);
  const hazards = await page.locator('#methane [data-field="m-hazards"] li').allTextContents();
  assert.deepEqual(hazards, ['Live traffic on lane 3 present', 'Fuel leak from vehicle 2 suspected',
    'Secondary collision in queuing traffic potential'], `${who}: every hazard with its status`);
  assert.match(await row('m-access'), /^Approach London-bound from J19; London-bound carriageway blocked at the scene, use the hard shoulder$/);
  const cas = await row('m-casualties');
  for (const want of ['0 Fatal', '1 Immediate (P1)', '2 Urgent (P2)', '1 Delayed (P3)', '1 Minor', '2 Uninjured', 'Driver of vehicle 1 trapped by the legs'])
    assert.ok(cas.includes(want), `${who}: casualties show ${want} (got ${cas})`);
  const services = await row('m-services');
  for (const want of ['Present', 'Fire: 2 pumps and rescue tender (Chelmsford, Great Baddow)', 'Required',
    'Police: full closure London-bound J19-J18', 'Ambulance: already requested by caller'])
    assert.ok(services.includes(want), `${who}: emergency services show ${want}`);
  assert.doesNotMatch(await text(page, '#methane'), /not given/, `${who}: nothing of a full report is "not given"`);
  const facts = await text(page, '#request-facts');
  for (const want of ['Attend (send resources)', 'F-2611-004512 (ECFRS Vision)', 'FCO Sarah Patel, Fire Control Operator, 01632 960101',
    'Gyrrwr yn gaeth: ambiwlans ar y ffordd. Kierowca uwięziony, świadek mówi po polsku.'])
    assert.ok(facts.includes(want), `${who}: the request shows ${want}`);
  assert.equal(await text(page, '#detail-priority'), 'Emergency');
}

let full; // the fully filled Fire -> Police request the first tests share

test('the receiving room sees every field of a fully filled request, under an arrival banner that covers no heading and can be dismissed', { timeout: 30_000 }, async () => {
  const p = fire.page;
  const q = police.page;
  await nav(q, '#/inbox');
  full = await sendRequest(p, FULL);
  await q.waitForSelector(`#announce[data-alert="arrival"][data-transfer-id="${full}"]`);
  assert.ok(await q.evaluate(() => document.body.dataset.lastTone), 'the arrival played the alert tone');
  await open(q, full);
  // The banner is still up (for 15 s): it sits above the screen, never over its title or
  // timeline heading.
  assert.ok(await q.locator('#announce').isVisible(), 'the arrival banner is still shown');
  const banner = await rect(q, '#announce');
  for (const sel of ['#detail-title', '#timeline-h', '#methane-h'])
    assert.ok(!overlaps(banner, await rect(q, sel)), `the banner does not cover ${sel}`);
  await tabTo(q, `#announce .alert-item[data-transfer-id="${full}"] .dismiss`);
  await q.keyboard.press('Enter');
  await q.waitForSelector('#announce', { state: 'hidden' });
  await assertFullMethane(q, 'police');
  // The sender's screen reads the same.
  await open(p, full);
  await assertFullMethane(p, 'fire');
  assert.match(await text(p, '#timeline'), /Request sent by Essex County Fire and Rescue Service/);
});

test('Acknowledge leads to Acknowledged, and both rooms see the accept with its ETA, resources and incident number', { timeout: 30_000 }, async () => {
  const p = fire.page;
  const q = police.page;
  await act(q, 'received');
  await stateIs(q, 'received');
  assert.equal(await text(q, '#detail-state'), 'Acknowledged');
  await stateIs(p, 'received');
  assert.equal(await text(p, '#detail-state'), 'Acknowledged');
  await act(q, 'accept', async () => {
    await q.fill('#a-incident', 'ESX-20261121-0461');
    await q.fill('#a-eta', '12');
    await q.fill('#a-resources', '2 x roads policing units from Boreham');
    await q.fill('#a-note', 'Closing the London-bound carriageway at J19');
  });
  for (const [page, who] of [[q, 'police'], [p, 'fire']]) {
    await stateIs(page, 'accepted');
    await page.waitForSelector('#answers [data-type="accept"]');
    const box = await text(page, '#answers [data-type="accept"]');
    for (const want of ['Accepted by Essex Police', 'ETA12 min', 'Resources2 x roads policing units from Boreham',
      'Incident no.ESX-20261121-0461', 'NoteClosing the London-bound carriageway at J19'])
      assert.ok(box.includes(want), `${who}: the accept shows ${want} (got ${box})`);
    const tl = await text(page, '#timeline');
    assert.match(tl, /Acknowledged by Essex Police/);
    assert.match(tl, /Accepted by Essex Police.*ETA 12 min/s);
    assert.doesNotMatch(tl, /transfer\.[a-z]/, `${who}: no message-type names in the timeline`);
    assert.equal(await text(page, '#detail-state'), 'Accepted');
  }
});

test('the receiving room posts an update that the sender sees live; the sender answers with one of its own', { timeout: 30_000 }, async () => {
  const p = fire.page;
  const q = police.page;
  // Fire is typing an update of its own when Police's arrives: what it typed is kept.
  await p.click('[data-action="update"]');
  await p.fill('#a-text', 'Second casualty now free;');
  assert.equal(await q.locator('[data-action="cancel"]').count(), 0, 'the receiver cannot cancel');
  await act(q, 'update', () => q.fill('#a-text', 'Road now closed at J17. Ffordd ar gau wrth G17. Droga zamknięta na węźle J17.'));
  await p.waitForFunction(() => /Road now closed at J17/.test(document.getElementById('timeline').textContent));
  const li = p.locator('#timeline li[data-kind="transfer.update"]').first();
  assert.match(await li.textContent(), /Update from Essex Police.*Road now closed at J17\. Ffordd ar gau wrth G17\. Droga zamknięta na węźle J17\./s);
  assert.equal(await p.inputValue('#a-text'), 'Second casualty now free;', 'the half-typed update survived the live reload');
  await p.fill('#a-text', 'Second casualty now free; road closure still needed until recovery arrives');
  await p.click('#action-submit');
  await p.waitForSelector('#form-update', { state: 'detached' });
  await q.waitForFunction(() => /road closure still needed until recovery arrives/.test(document.getElementById('timeline').textContent));
  await q.screenshot({ path: join(SHOTS, 'detail-receiver.png') });
  await p.screenshot({ path: join(SHOTS, 'detail-sender.png') });
});

test('a declined emergency request alerts the sender with the tone and a banner that covers no heading and is dismissed from the keyboard', { timeout: 30_000 }, async () => {
  const p = fire.page;
  const q = police.page;
  await nav(p, '#/inbox');
  const id = await sendRequest(p, example('06-request-police-scene-security-basildon-fire.json'),
    { summary: 'Car fire Tendring Road, Harlow: crowd gathering, request cordon', priority: 'emergency' });
  await open(q, id);
  const toneBefore = await p.evaluate(() => document.body.dataset.lastTone || '');
  await act(q, 'decline', async () => {
    await q.selectOption('#a-reason', 'no_resources');
    await q.fill('#a-text', 'All Harlow units committed to a firearms incident; nearest patrol 25 min.');
  });
  await p.waitForSelector(`#announce[data-alert="declined"][data-transfer-id="${id}"]`);
  await p.waitForFunction((before) => (document.body.dataset.lastTone || '') !== before, toneBefore);
  const say = await text(p, '#announce');
  assert.match(say, /DECLINED by Essex Police/);
  assert.match(say, /No resources available: All Harlow units committed/);
  assert.match(say, /Phone Essex Police on 01632 960200/);
  assert.doesNotMatch(say, /no_resources/);
  // The decline's banner stays while the operator opens the transfer; it covers no heading.
  await open(p, id);
  await p.waitForSelector('#answers [data-type="decline"]');
  assert.ok(await p.locator('#announce').isVisible());
  const banner = await rect(p, '#announce');
  for (const sel of ['#detail-title', '#timeline-h', '#actions'])
    assert.ok(!overlaps(banner, await rect(p, sel)), `the banner does not cover ${sel}`);
  const box = await text(p, '#answers [data-type="decline"]');
  assert.match(box, /Declined by Essex Police/);
  assert.match(box, /ReasonNo resources available/);
  assert.match(await text(p, '#timeline'), /Declined by Essex Police: No resources available/);
  assert.equal(await text(p, '#detail-state'), 'Declined');
  assert.doesNotMatch(await text(p, '#main'), /no_resources|transfer\.decline/);
  // An emergency arriving meanwhile gets a line of its own: it does not hide the decline.
  const misper = example('03-request-fire-missing-person-search-hanningfield.json');
  Object.assign(misper, { from: 'essex-police', to: ['essex-fire'] });
  const arrival = await sendRequest(q, misper, { priority: 'emergency' });
  await p.waitForSelector(`#announce .alert-item[data-alert="arrival"][data-transfer-id="${arrival}"]`);
  assert.equal(await p.locator('#announce .alert-item').count(), 2);
  assert.equal(await p.getAttribute('#announce', 'data-alert'), 'arrival', 'the newest alert is on top');
  assert.ok(!overlaps(await rect(p, '#announce'), await rect(p, '#detail-title')), 'two alerts still cover no heading');
  await tabTo(p, `#announce .alert-item[data-transfer-id="${id}"] .dismiss`);
  await p.keyboard.press('Enter');
  await p.waitForSelector(`#announce .alert-item[data-alert="declined"]`, { state: 'detached' });
  assert.ok(await p.locator(`#announce .alert-item[data-transfer-id="${arrival}"]`).isVisible(), 'the arrival is still shown');
  await p.click(`#announce .alert-item[data-transfer-id="${arrival}"] .dismiss`);
  await p.waitForSelector('#announce', { state: 'hidden' });
  await open(p, id);
  assert.ok(await p.locator('#detail-title').isVisible());
  // Fire phones Police instead and logs it from the transfer: the timeline says who rang whom.
  await p.click('#detail-log-call');
  await p.click('#call-save');
  await p.waitForFunction(() => /Phone call: Essex County Fire and Rescue Service rang Essex Police \(emergency\)/.test(document.getElementById('timeline').textContent));
});

test('a deferral, a cancel and a close are shown in words to both rooms; a sparse request says "not given" for what was left out', { timeout: 40_000 }, async () => {
  const p = fire.page;
  const q = police.page;
  // A request with only the required M/ETHANE: every heading still shows, saying what is missing.
  const sparse = example('10-request-info-address-risk-clacton.json');
  sparse.from = 'essex-fire';
  sparse.to = ['essex-police'];
  delete sparse.body.contact;
  const id = await sendRequest(p, sparse, { summary: 'Risk information for 9 Carnarvon Road, Clacton', priority: 'urgent' });
  await open(q, id);
  for (const f of ['m-hazards', 'm-access', 'm-casualties'])
    assert.equal(await text(q, `#methane [data-field="${f}"] dd`), 'not given', `${f} says not given`);
  assert.match(await text(q, '#methane [data-field="m-services"] dd'), /^Presentnot givenRequirednot given$/);
  assert.match(await text(q, '#request-facts'), /Contactnot given/);
  await act(q, 'defer', async () => {
    await q.fill('#a-reason', 'Records team back at 09:00');
  });
  for (const page of [q, p]) {
    await open(page, id);
    await stateIs(page, 'deferred');
    assert.match(await text(page, '#answers [data-type="defer"]'), /Deferred by Essex Police.*Decision by\d\d\/\d\d \d\d:\d\d:\d\d.*WhyRecords team back at 09:00/s);
    assert.match(await text(page, '#timeline'), /Deferred by Essex Police until \d\d\/\d\d/);
  }
  await act(p, 'cancel', () => p.fill('#a-reason', 'Occupier contacted directly'));
  await stateIs(q, 'cancelled');
  assert.match(await text(q, '#answers [data-type="cancel"]'), /Cancelled by Essex County Fire and Rescue Service.*Occupier contacted directly/s);

  // A close's outcome, in words.
  const second = await sendRequest(p, FULL, { summary: 'RTC A120 Marks Tey, request road closure', priority: 'urgent' });
  await open(q, second);
  await act(q, 'accept', () => q.fill('#a-incident', 'ESX-20261121-0470'));
  await stateIs(q, 'accepted');
  await act(q, 'close', () => q.selectOption('#a-outcome', 'no_longer_required'));
  await open(p, second);
  await stateIs(p, 'closed');
  assert.match(await text(p, '#answers [data-type="close"]'), /Closed by Essex Police.*OutcomeNo longer required/s);
  assert.match(await text(p, '#timeline'), /Closed by Essex Police: No longer required/);
  assert.match(await text(p, '#answers [data-type="accept"]'), /ETAnot given.*Resourcesnot given/s);
});

test('one very long word does not push the timeline off the page', { timeout: 30_000 }, async () => {
  const p = fire.page;
  const q = police.page;
  const id = await sendRequest(p, FULL, { summary: 'RTC A13 Pitsea, request road closure', priority: 'urgent' });
  await open(q, id);
  await act(q, 'update', () => q.fill('#a-text', `Registration ${'Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch'.repeat(5)}`));
  await open(p, id);
  await p.waitForSelector('#timeline li[data-kind="transfer.update"]');
  const width = await p.evaluate(() => innerWidth);
  const tl = await rect(p, '#timeline li[data-kind="transfer.update"]');
  assert.ok(tl.right <= width, `the timeline entry ends inside the page (${tl.right} <= ${width})`);
  assert.ok(await p.evaluate(() => document.getElementById('main').scrollWidth <= document.getElementById('main').clientWidth),
    'the screen does not scroll sideways');
});

test('an update carrying a new M/ETHANE snapshot replaces the report on both screens, marked as revised', { timeout: 30_000 }, async () => {
  const p = fire.page;
  const q = police.page;
  const id = await sendRequest(p, FULL, { summary: 'RTC A12 Hatfield Peverel, request road closure', priority: 'urgent' });
  await open(q, id);
  await open(p, id);
  // An integration (or a CAD) sends the full new snapshot, as docs/message-model.md section 7 says.
  await p.evaluate(async ({ id, methane }) => {
    const api = await import('/js/api.js');
    const t = (await api.get(`/api/v1/transfers/${id}`)).transfer;
    methane.major_incident = 'declared';
    methane.hazards.push({ hazard: 'Fuel leak confirmed, running into the drain', status: 'present' });
    await api.post('/api/v1/messages', {
      id: `essex-fire:${crypto.randomUUID()}`, type: 'transfer.update', from: 'essex-fire', transfer_id: id,
      sent_at: new Date().toISOString(), version: t.version + 1,
      body: { text: 'Major incident declared; fuel leak confirmed', summary: 'MAJOR INCIDENT: RTC A12 Hatfield Peverel, fuel leak', methane },
    });
  }, { id, methane: structuredClone(FULL.body.methane) });
  for (const [page, who] of [[q, 'police'], [p, 'fire']]) {
    await page.waitForFunction(() => /MAJOR INCIDENT DECLARED/.test(document.getElementById('methane')?.textContent || ''));
    assert.match(await text(page, '#methane-h'), /as revised \d\d\/\d\d \d\d:\d\d:\d\d by Essex County Fire and Rescue Service/, `${who}: the report says it was revised`);
    assert.match(await text(page, '#methane [data-field="m-hazards"]'), /Fuel leak confirmed, running into the drain/);
    assert.match(await text(page, '#detail-title'), /MAJOR INCIDENT: RTC A12 Hatfield Peverel, fuel leak/);
    assert.match(await text(page, '#timeline'), /Update from Essex County Fire and Rescue Service.*Major incident declared; fuel leak confirmed.*M\/ETHANE revised/s);
  }
});

// A partner's weather warning as `bluelink translate --from cap` carries it (issue 17): three areas
// (a polygon with its codes, a 25 km circle, a point) and the list of what the alert held that the
// message does not. The receiving room sees every area on the map and in words, and the
// not-carried list on the timeline, open.
const PARTNER_ALERT = {
  id: 'essex-police:2.49.0.1.124.60f31a3a.2012', type: 'transfer.request', from: 'essex-police', to: ['essex-fire'],
  sent_at: '2026-11-21T14:02:11Z',
  source: {
    standard: 'CAP 1.2', sender: 'cap@ec.gc.ca', identifier: '2.49.0.1.124.60f31a3a.2012',
    not_carried: ['<info> 2 of 2 (fr-CA): event \'orages\', headline \'veille d\'orages violents\'',
      '<parameter> layer:EC-MSC-SMC:1.0:Alert_Type = watch'],
  },
  body: {
    category: 'notification', priority: 'urgent', ask: 'for_information', summary: 'Severe thunderstorm watch: Windsor - Leamington - Essex County',
    sender_incident: { number: '2.49.0.1.124.60f31a3a.2012', system: 'CAP' },
    methane: {
      major_incident: 'not_declared',
      type_of_incident: { code: 'WEATHER', text: 'thunderstorm' },
      exact_location: {
        areas: [
          { description: 'Windsor - Leamington - Essex County',
            polygons: [[[42.3481, -82.9314], [42.3363, -82.6937], [41.7166, -82.4593], [41.8173, -82.9003], [42.3481, -82.9314]]],
            geocodes: [{ name: 'profile:CAP-CP:Location:0.3', value: '3537001' }] },
          { description: 'Lake St. Clair', circles: [{ lat: 42.45, lon: -82.7, radius_m: 25000 }] },
          { description: 'Pelee Island', circles: [{ lat: 41.77, lon: -82.66, radius_m: 0 }] },
        ],
      },
    },
  },
};

test('a partner alert shows every area on the map and in words, and what it did not carry', { timeout: 30_000 }, async () => {
  const q = police.page;
  const p = fire.page;
  const id = await sendRequest(q, PARTNER_ALERT);
  await open(p, id);
  const loc = await text(p, '#methane [data-field="m-location"]');
  for (const want of ['3 areas given', 'Windsor - Leamington - Essex County', 'Polygon of 5 points around',
    'Codes: profile:CAP-CP:Location:0.3 3537001', 'Lake St. Clair', 'Circle around 42.45000, -82.70000, radius 25 km',
    'Pelee Island', 'Point 41.77000, -82.66000'])
    assert.ok(loc.includes(want), `the exact location shows ${want} (got ${loc})`);
  // The map draws all three shapes (the polygon, the 25 km circle, the point) with a scale bar.
  await p.waitForFunction(() => document.getElementById('area-map')?.dataset.shapes === '3');
  assert.ok(await p.locator('#area-map .leaflet-control-scale').count() === 1, 'a scale bar');
  assert.equal(await p.locator('#area-map path.leaflet-interactive').count(), 3, 'three shapes drawn');
  // The timeline says where it came from and lists what was not carried, open to read.
  const tl = await text(p, '#timeline');
  assert.match(tl, /From a CAP 1\.2 document sent as cap@ec\.gc\.ca/);
  assert.match(tl, /Not carried \(2\)/);
  assert.match(tl, /<parameter> layer:EC-MSC-SMC:1\.0:Alert_Type = watch/);
  assert.equal(await p.locator('#timeline details.not-carried[open]').count(), 1);
  await p.screenshot({ path: join(SHOTS, 'detail-partner-areas.png') });
});

// A UCRI2 client's send, as its own software lays it out: the receiving room can open the
// document exactly as it arrived, on the message's own timeline entry.
test('the receiving room opens a partner\'s original document, byte for byte, on the timeline', { timeout: 30_000 }, async () => {
  const auth = `Basic ${Buffer.from(`${FIRE_OID}:${FIRE_SECRET}`).toString('base64')}`;
  const tok = await (await fetch(`${base}/ucri2/token`, { headers: { Authorization: auth } })).json();
  const data = JSON.stringify({
    sharedIncidentId: crypto.randomUUID(), internalId: 'F-2026-4711', classifications: ['TH', 'VU'],
    issue: 'Verkehrsunfall, eingeklemmte Person', flashingLights: true, sentByDispatcherAt: new Date().toISOString(),
    missionLocation: { coordinate: { lat: 51.7356, lon: 0.4685 }, address: { street: 'Hauptstraße', houseNumber: '1', city: 'Chelmsford' } },
    informers: [{ name: 'Musterfrau', surname: 'Heike', phone: '+49 30 234567' }],
  });
  const raw = `{\n  "messageId": "${crypto.randomUUID()}",\n  "ack": "ALL", "timeout": 600,\n  "source": "${FIRE_OID}",\n  "destinations": ["1.2.3.4.5.7"],\n  "payload": {"appId": "incident_transfer", "appVersion": "1.0", "schemaId": "incident", "contentType": "application/json", "data": ${JSON.stringify(data)}}\n}`;
  const sent = await fetch(`${base}/ucri2/messaging/send`, {
    method: 'POST', body: raw, headers: { Authorization: `Bearer ${tok.token}`, 'Content-Type': 'application/json' },
  });
  assert.equal(sent.status, 200, await sent.text());
  const id = await fire.page.evaluate(async () => {
    const api = await import('/js/api.js');
    return (await api.get('/api/v1/transfers?limit=1')).transfers[0].transfer_id;
  });
  const q = police.page;
  await open(q, id);
  const summary = q.locator('#timeline details.original-doc summary');
  assert.equal(await summary.textContent(), 'Original document (UCRI2 incident_transfer 1.0 incident)');
  assert.equal(await q.locator('#timeline details.original-doc[open]').count(), 0, 'closed until asked for');
  await summary.click();
  await q.waitForFunction(() => /messageId/.test(document.querySelector('#timeline .original-text')?.textContent || ''));
  assert.equal(await q.locator('#timeline .original-text').textContent(), raw, 'the text is the document as sent');
  assert.match(await text(q, '#timeline .original-doc'), new RegExp(`application/json, ${Buffer.byteLength(raw)} bytes, received`));
  await q.screenshot({ path: join(SHOTS, 'detail-original-document.png') });
});
