// Compose a transfer.request from a category template. Every input names the JSON pointer it
// fills (data-pointer), so the gateway's validation errors, which carry pointers, are shown
// beside the field they are about, in words naming the field (failure.js). Validation runs on
// blur (dry run) and again before sending. A send that fails for any other reason (gateway
// unreachable, store refusing, gateway degraded) says so in a panel that stays until the next
// attempt, with "Phone <room> on <number>" and one-click call logging; what was typed is kept,
// also across a session that ends (draft.js).
import * as api from './api.js';
import { app, me, agencyName } from './app.js';
import { h, clear, uuid, nowIso, timeOfDay, CATEGORIES, CATEGORY_LABEL } from './util.js';
import { TEMPLATES } from './templates.js';
import { showPoint } from './map.js';
import { explain, fieldText } from './failure.js';
import { phoneLine } from './prompts.js';
import { saveDraft, loadDraft, clearDraft } from './draft.js';
import { withParties, plausibilityNote, confirmLocation } from './geo_check.js';
import { outageBanner } from './outage.js';

const HAZARD_ROWS = 3;
const LOC = '/body/methane/exact_location';

export function renderCompose(main) {
  const fields = new Map(); // pointer -> input element
  const labels = new Map(); // pointer -> the label an operator reads
  const user = app.session?.user?.username || '';
  const touched = new Set();
  let hazardIndex = []; // index in the sent array -> row number on screen
  const id = (p) => `f${p.replace(/[^a-z0-9]+/gi, '-')}`;

  // `attrs.req`: required by the schema (marked on the label); `attrs.maxlength`: shown as a limit.
  function input(pointer, label, attrs = {}, kind = 'input') {
    const { req, ...rest } = attrs;
    const el = h(kind, { id: id(pointer), name: pointer, 'data-pointer': pointer, ...rest });
    if (req) el.setAttribute('aria-required', 'true');
    labels.set(pointer, label);
    const err = h('p', { class: 'field-error', id: `${id(pointer)}-error`, 'data-error-for': pointer });
    el.setAttribute('aria-describedby', err.id);
    el.addEventListener('blur', () => {
      touched.add(pointer);
      scheduleValidate();
    });
    fields.set(pointer, el);
    // Short fields simply stop at their limit; the longer free text says how long it may be.
    const limit = rest.maxlength >= 200 && kind !== 'select' ? `max ${rest.maxlength} characters` : '';
    return h('div', { class: 'field' }, h('label', { for: el.id }, label,
      req ? h('span', { class: 'req', text: ' · required' }) : '',
      limit ? h('span', { class: 'limit', text: ` · ${limit}` }) : ''), el, err);
  }
  function choice(pointer, label, options, attrs = {}) {
    const wrap = input(pointer, label, attrs, 'select');
    const el = fields.get(pointer);
    for (const [v, t] of options) el.append(h('option', { value: v, text: t }));
    return wrap;
  }

  const others = [...app.agencies.values()].filter((a) => a.id !== me());
  const form = h('form', { class: 'compose', id: 'compose-form', novalidate: true });
  const general = h('p', { class: 'error-text full', id: 'compose-general', role: 'alert' });
  const geoOut = h('p', { class: 'geo-out', id: 'geo-out', 'aria-live': 'polite' });
  // A location typed the way the operator has it (grid reference with letters, metres, degrees);
  // the gateway reads it (GET /api/v1/geo?q=) and the coordinate fields below are filled in.
  // Not part of the message itself.
  const whereIn = h('input', {
    id: 'compose-where', maxlength: 64, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'TL 740 035 · 574000 203500 · 51 42.5 N 0 33 E',
    'aria-describedby': 'compose-where-help',
  });
  const whereField = h('div', { class: 'field' },
    h('label', { for: 'compose-where', text: 'Grid reference or position, as you have it' }), whereIn,
    h('p', { class: 'muted', id: 'compose-where-help', text: 'Latitude, longitude, easting and northing are filled in from it.' }));
  const mapBox = h('div', { class: 'map', id: 'compose-map', hidden: true });

  const left = h('div', {},
    h('fieldset', {}, h('legend', { text: 'Request' }),
      h('div', { class: 'row2' },
        choice('/body/category', 'Template (category)', CATEGORIES.map((c) => [c, CATEGORY_LABEL[c]]), { req: true }),
        choice('/to', 'To', others.map((a) => [a.id, a.name]), { req: true })),
      h('div', { class: 'row3' },
        choice('/body/priority', 'Priority', [['emergency', 'Emergency'], ['urgent', 'Urgent'], ['routine', 'Routine']]),
        choice('/body/ask', 'Ask', [['attend', 'Attend'], ['take_over', 'Take over'], ['for_information', 'For information'], ['information_request', 'Information request']]),
        choice('/mode', 'Mode', [['live', 'Live'], ['exercise', 'Exercise'], ['test', 'Test']])),
      input('/body/summary', 'Summary (one line for their inbox)', { maxlength: 200, req: true }),
      h('div', { class: 'row2' },
        input('/body/sender_incident/number', 'Our incident number', { maxlength: 40, req: true }),
        input('/body/sender_incident/system', 'Our CAD system', { maxlength: 60 }))),
    h('fieldset', {}, h('legend', { text: 'Contact' }),
      h('div', { class: 'row3' },
        input('/body/contact/name', 'Name', { maxlength: 100 }),
        input('/body/contact/role', 'Role', { maxlength: 100 }),
        input('/body/contact/phone', 'Phone', { maxlength: 21, inputmode: 'tel' }))),
    input('/body/notes', 'Notes', { rows: 2, maxlength: 2000 }, 'textarea'));

  const hazardRows = [];
  for (let i = 0; i < HAZARD_ROWS; i++) {
    const w = input(`/body/methane/hazards/${i}/hazard`, `Hazard ${i + 1}`, { maxlength: 200 });
    const s = choice(`/body/methane/hazards/${i}/status`, 'Status', [['present', 'Present'], ['suspected', 'Suspected'], ['potential', 'Potential']]);
    hazardRows.push(h('div', { class: 'hazard' }, w, s));
  }
  const letter = (l, t) => h('legend', {}, h('span', { class: 'letter', text: l }), ` ${t}`);
  const casualty = (k) => input(`/body/methane/casualties/${k}`, k, { type: 'number', min: 0, inputmode: 'numeric' });
  const right = h('div', {},
    h('fieldset', {}, letter('M', 'Major incident'),
      choice('/body/methane/major_incident', 'Status', [['not_declared', 'Not declared'], ['standby', 'Standby'], ['declared', 'Declared']], { req: true })),
    h('fieldset', { 'data-pointer': LOC, id: 'location' }, letter('E', 'Exact location'),
      h('p', { class: 'muted', id: 'location-need' }, h('span', { class: 'req', text: 'Required: ' }),
        'at least one of address, postcode, latitude and longitude, or OS easting and northing.'),
      h('div', { class: 'row2' }, input(`${LOC}/address`, 'Address', { maxlength: 300 }), input(`${LOC}/postcode`, 'Postcode', { maxlength: 8 })),
      whereField,
      h('div', { class: 'row2' },
        input(`${LOC}/wgs84/lat`, 'Latitude', { inputmode: 'decimal' }),
        input(`${LOC}/wgs84/lon`, 'Longitude', { inputmode: 'decimal' })),
      h('div', { class: 'row2' },
        input(`${LOC}/osgr/easting`, 'OS easting', { inputmode: 'numeric' }),
        input(`${LOC}/osgr/northing`, 'OS northing', { inputmode: 'numeric' })),
      h('p', { class: 'field-error', id: 'location-error', 'data-error-for': LOC }),
      geoOut, mapBox),
    h('fieldset', {}, letter('T', 'Type of incident'),
      h('div', { class: 'row2' }, input('/body/methane/type_of_incident/code', 'Common code', { maxlength: 40, req: true }),
        input('/body/methane/type_of_incident/agency_code', 'Our CAD type code', { maxlength: 40 })),
      input('/body/methane/type_of_incident/text', 'Description', { rows: 2, maxlength: 500, req: true }, 'textarea')),
    h('fieldset', {}, letter('H', 'Hazards'), hazardRows),
    h('fieldset', {}, letter('A', 'Access'), input('/body/methane/access', 'Routes and access problems', { rows: 2, maxlength: 500 }, 'textarea')),
    h('fieldset', {}, letter('N', 'Number of casualties (leave unknown blank)'),
      h('div', { class: 'row6' }, ['fatal', 'immediate', 'urgent', 'delayed', 'minor', 'uninjured'].map(casualty))),
    h('fieldset', {}, letter('E', 'Emergency services (one per line)'),
      h('div', { class: 'row2' },
        input('/body/methane/emergency_services/present', 'Present', { rows: 2 }, 'textarea'),
        input('/body/methane/emergency_services/required', 'Required', { rows: 2 }, 'textarea'))));

  // Ctrl+Enter sends from any field: the keyboard user need not Tab through the whole form.
  const sendBtn = h('button', { type: 'submit', class: 'btn good', id: 'compose-send', 'aria-keyshortcuts': 'Control+Enter', title: 'Ctrl+Enter sends from any field' },
    'Validate and send', h('kbd', { text: 'Ctrl+Enter' }));
  const checkBtn = h('button', { type: 'button', class: 'btn ghost', id: 'compose-check', text: 'Check' });
  const status = h('span', { class: 'muted', id: 'compose-status', role: 'status' });
  // Why the last send failed and what to do; stays until the next attempt (never on a blur).
  const failureBox = h('div', { class: 'failure full', id: 'compose-failure', role: 'alert', tabindex: '-1', hidden: true });
  const draftNote = h('div', { class: 'draft-note full', id: 'compose-draft', role: 'status', hidden: true });
  // The failure stays beside Send, in the footer that never scrolls away.
  // The chosen room is out (no CAD or console anywhere for its configured time): said at once,
  // with its number and a one-click send to its fallback room instead.
  const outageSlot = h('div', { class: 'full', id: 'compose-outage-slot' });
  form.append(h('h1', { class: 'full', text: 'New request' }), draftNote, outageSlot, general, left, right,
    h('div', { class: 'compose-foot full' }, failureBox,
      h('div', { class: 'compose-actions' }, sendBtn, checkBtn, status)));
  main.append(form);

  const f = (p) => fields.get(p);
  const val = (p) => f(p).value.trim();

  function applyTemplate(category) {
    const t = TEMPLATES[category];
    f('/body/priority').value = t.priority;
    f('/body/ask').value = t.ask;
    f('/body/summary').placeholder = t.summary;
    f('/body/methane/type_of_incident/code').value = t.code;
    f('/body/methane/type_of_incident/text').placeholder = t.text;
    f('/body/methane/access').placeholder = t.access || '<routes, access problems>';
    f('/body/methane/emergency_services/required').value = t.required;
    f('/body/methane/emergency_services/present').placeholder = `${agencyName(me())}: <resources on scene>`;
    f(`${LOC}/address`).placeholder = '<address or road description>';
    for (let i = 0; i < HAZARD_ROWS; i++) {
      const [hz, st] = t.hazards[i] || ['', 'potential'];
      const isPrompt = hz.startsWith('<');
      f(`/body/methane/hazards/${i}/hazard`).value = isPrompt ? '' : hz;
      f(`/body/methane/hazards/${i}/hazard`).placeholder = isPrompt ? hz : '';
      f(`/body/methane/hazards/${i}/status`).value = st;
    }
    if (t.to) {
      const target = others.find((a) => a.kind === t.to);
      if (target) f('/to').value = target.id;
    }
  }
  f('/body/category').addEventListener('change', (e) => applyTemplate(e.target.value));
  function startFresh() {
    f('/body/category').value = CATEGORIES[0];
    f('/body/methane/major_incident').value = 'not_declared';
    f('/mode').value = 'live';
    applyTemplate(CATEGORIES[0]);
  }
  startFresh();

  // --- location conversion -------------------------------------------------------------------
  let lastGeo = null;
  // Enter fires both keydown and change, and an operator may correct a location before the
  // previous answer arrives: only the newest conversion's answer is shown.
  let geoAsked = 0;
  async function convert(from) {
    const lat = val(`${LOC}/wgs84/lat`), lon = val(`${LOC}/wgs84/lon`);
    const e = val(`${LOC}/osgr/easting`), n = val(`${LOC}/osgr/northing`);
    const typed = whereIn.value.trim();
    let q = '';
    if (from === 'typed' && typed) q = `q=${encodeURIComponent(typed)}`;
    else if (from === 'wgs84' && lat && lon) q = `lat=${encodeURIComponent(lat)}&lon=${encodeURIComponent(lon)}`;
    else if (from === 'osgr' && e && n) q = `easting=${encodeURIComponent(e)}&northing=${encodeURIComponent(n)}`;
    if (!q) return;
    const asked = ++geoAsked;
    try {
      const g = await api.get(withParties(`/api/v1/geo?${q}`, app, f('/to').value));
      if (asked !== geoAsked) return;
      lastGeo = g;
      f(`${LOC}/wgs84/lat`).value = String(g.lat);
      f(`${LOC}/wgs84/lon`).value = String(g.lon);
      f(`${LOC}/osgr/easting`).value = String(Math.round(g.easting));
      f(`${LOC}/osgr/northing`).value = String(Math.round(g.northing));
      geoOut.textContent = `WGS84 ${g.lat.toFixed(5)}, ${g.lon.toFixed(5)} · OS grid E ${Math.round(g.easting)} N ${Math.round(g.northing)}${g.grid_ref ? ` · ${g.grid_ref}` : ''}${plausibilityNote(g)}`;
      showPoint(mapBox, g.lat, g.lon, app.session.map);
      if (from === 'typed') whereIn.removeAttribute('aria-invalid');
    } catch (err) {
      if (asked !== geoAsked) return;
      if (from === 'typed') {
        whereIn.setAttribute('aria-invalid', 'true');
        geoOut.textContent = `Cannot read “${typed}”: ${err.message}`;
      } else {
        geoOut.textContent = `Cannot convert: ${err.message}`;
      }
    }
  }
  whereIn.addEventListener('change', () => convert('typed'));
  whereIn.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault(); // Enter reads the location; it never sends the form
      convert('typed');
    }
  });
  for (const k of ['lat', 'lon']) f(`${LOC}/wgs84/${k}`).addEventListener('change', () => convert('wgs84'));
  for (const k of ['easting', 'northing']) f(`${LOC}/osgr/${k}`).addEventListener('change', () => convert('osgr'));

  // --- building the message ------------------------------------------------------------------
  const num = (s) => (s === '' ? undefined : Number(s));
  const lines = (s) => s.split('\n').map((x) => x.trim()).filter(Boolean);
  const prune = (o) => {
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (v === undefined || v === '' || (Array.isArray(v) && !v.length)) delete o[k];
      else if (v && typeof v === 'object' && !Array.isArray(v)) {
        prune(v);
        if (!Object.keys(v).length) delete o[k];
      }
    }
    return o;
  };

  function build() {
    hazardIndex = [];
    const hazards = [];
    for (let i = 0; i < HAZARD_ROWS; i++) {
      const hz = val(`/body/methane/hazards/${i}/hazard`);
      if (!hz) continue;
      hazardIndex.push(i);
      hazards.push({ hazard: hz, status: val(`/body/methane/hazards/${i}/status`) });
    }
    const lat = val(`${LOC}/wgs84/lat`), lon = val(`${LOC}/wgs84/lon`);
    const e = val(`${LOC}/osgr/easting`), n = val(`${LOC}/osgr/northing`);
    const casualties = {};
    for (const k of ['fatal', 'immediate', 'urgent', 'delayed', 'minor', 'uninjured'])
      casualties[k] = num(val(`/body/methane/casualties/${k}`));
    const body = prune({
      category: val('/body/category'),
      priority: val('/body/priority'),
      ask: val('/body/ask'),
      summary: val('/body/summary'),
      sender_incident: { number: val('/body/sender_incident/number'), system: val('/body/sender_incident/system') },
      methane: {
        major_incident: val('/body/methane/major_incident'),
        exact_location: {
          address: val(`${LOC}/address`),
          postcode: val(`${LOC}/postcode`),
          wgs84: lat || lon ? { lat: num(lat), lon: num(lon) } : undefined,
          osgr: e || n ? { easting: num(e), northing: num(n) } : undefined,
        },
        type_of_incident: {
          code: val('/body/methane/type_of_incident/code'),
          agency_code: val('/body/methane/type_of_incident/agency_code'),
          text: val('/body/methane/type_of_incident/text'),
        },
        hazards,
        access: val('/body/methane/access'),
        casualties,
        emergency_services: {
          present: lines(val('/body/methane/emergency_services/present')),
          required: lines(val('/body/methane/emergency_services/required')),
        },
      },
      contact: { name: val('/body/contact/name'), role: val('/body/contact/role'), phone: val('/body/contact/phone') },
      notes: val('/body/notes'),
    });
    // The schema requires these objects even when empty; keep them so the error points inside.
    body.sender_incident ??= {};
    body.methane ??= {};
    body.methane.exact_location ??= {};
    body.methane.type_of_incident ??= {};
    return {
      id: `${me()}:${uuid()}`,
      type: 'transfer.request',
      from: me(),
      to: [val('/to')],
      sent_at: nowIso(),
      mode: val('/mode'),
      body,
    };
  }

  // --- showing errors beside fields ----------------------------------------------------------
  function fieldFor(pointer, message) {
    let p = pointer || '';
    const m = p.match(/^\/body\/methane\/hazards\/(\d+)(\/.*)?$/);
    if (m) p = `/body/methane/hazards/${hazardIndex[Number(m[1])] ?? m[1]}${m[2] || '/hazard'}`;
    if (p === '/to/0') p = '/to';
    // A missing key is reported at the object that should hold it; the message names the key.
    const key = /'([a-z_0-9]+)'/.exec(message || '')?.[1];
    if (key && fields.has(`${p}/${key}`)) return [`${p}/${key}`, fields.get(`${p}/${key}`)];
    if (p === LOC || p.startsWith(`${LOC}/`) && !fields.has(p)) return [LOC, document.getElementById('location')];
    while (p) {
      if (fields.has(p)) return [p, fields.get(p)];
      p = p.slice(0, p.lastIndexOf('/'));
    }
    return [null, null];
  }

  // How a field with a pattern or a number is written, for its error message.
  const HINTS = {
    '/body/contact/phone': 'digits and spaces as dialled, 6 to 20, e.g. 01245 452000',
    [`${LOC}/postcode`]: 'a UK postcode such as CM1 1QH',
    [`${LOC}/wgs84/lat`]: 'a number of degrees such as 51.7356',
    [`${LOC}/wgs84/lon`]: 'a number of degrees such as 0.4685',
    [`${LOC}/osgr/easting`]: 'metres, 6 figures, such as 574000',
    [`${LOC}/osgr/northing`]: 'metres, 6 figures, such as 203500',
  };
  for (const k of ['fatal', 'immediate', 'urgent', 'delayed', 'minor', 'uninjured'])
    HINTS[`/body/methane/casualties/${k}`] = 'a whole number, or blank when not known';

  function clearErrors() {
    general.textContent = '';
    for (const e of form.querySelectorAll('.field-error')) e.textContent = '';
    // Only the message's fields: the typed location's mark belongs to its own conversion, and a
    // check answered late must not clear it.
    for (const e of fields.values()) e.removeAttribute('aria-invalid');
  }

  function showErrors(errors, onlyTouched) {
    clearErrors();
    let first = null;
    for (const { pointer, message } of errors) {
      const [p, el] = fieldFor(pointer, message);
      if (onlyTouched && (!p || (p !== LOC && !touched.has(p)))) continue;
      const words = p === LOC ? fieldText('Exact location', message)
        : fieldText(labels.get(p) || 'The request', message, HINTS[p]);
      if (!el) {
        general.textContent = `${general.textContent} ${words}`.trim();
        continue;
      }
      const slot = form.querySelector(`[data-error-for="${CSS.escape(p)}"]`);
      if (slot && !slot.textContent.includes(words)) slot.textContent = slot.textContent ? `${slot.textContent} ${words}` : words;
      if (el.tagName !== 'FIELDSET') el.setAttribute('aria-invalid', 'true');
      first ??= el.tagName === 'FIELDSET' ? el.querySelector('input') : el;
    }
    return first;
  }

  function errorsOf(err) {
    const b = err.body || {};
    if (Array.isArray(b.errors) && b.errors.length) return b.errors;
    if (b.error) return [{ pointer: b.error.pointer, message: b.error.message }];
    return [{ pointer: null, message: err.message }];
  }

  // A refusal about what was typed (fields to mark) rather than a failure to reach or use the
  // gateway (said in the failure panel, never in place of the fields' messages).
  const aboutFields = (err) => err.status === 422 || err.code === 'bl.request.malformed_json'
    || err.code === 'bl.request.too_deep';

  // {ok} | {ok: false, failure: err} when the check itself could not be made.
  async function validate(onlyTouched) {
    // After a full check every field counts as visited, so a later blur keeps its messages.
    if (!onlyTouched) for (const p of fields.keys()) touched.add(p);
    try {
      await api.post('/api/v1/messages?dry_run=true', build());
      clearErrors();
      return { ok: true };
    } catch (err) {
      if (err.status === 401) return { ok: false, failure: err };
      // A blur's check that cannot reach the gateway changes nothing on screen: the reason for
      // the last failed send stays, and the fields' messages too.
      if (!aboutFields(err)) return { ok: false, failure: err };
      const first = showErrors(errorsOf(err), onlyTouched);
      if (!onlyTouched) first?.focus();
      return { ok: false };
    }
  }

  function hideFailure() {
    failureBox.hidden = true;
    clear(failureBox);
  }

  // The request could not be sent: what happened, what to do, and who to phone.
  function showFailure(err) {
    const e = explain(err);
    const to = val('/to');
    clear(failureBox).append(
      h('h2', { text: `Not sent to ${agencyName(to)}: ${e.what}` }),
      e.next ? h('p', { text: e.next }) : '');
    if (e.phone && to) {
      const { say, logBtn, done } = phoneLine({ other: to, emergency: val('/body/priority') === 'emergency',
        reason: val('/body/category'), note: `Request not sent (${e.what}) ${val('/body/summary')}`.slice(0, 500) });
      failureBox.append(h('div', { class: 'phone-row' }, say, logBtn, done));
    }
    failureBox.hidden = false;
    failureBox.dataset.code = e.code;
    failureBox.scrollIntoView({ block: 'nearest' });
    status.textContent = `Not sent: ${e.what}`;
  }

  // --- the draft: kept while typing, restored after a sign-in, cleared once sent --------------
  function draftValues() {
    const v = { __where: whereIn.value };
    for (const [p, el] of fields) v[p] = el.value;
    return v;
  }
  // Kept at every keystroke (a few kilobytes in sessionStorage): a session can end at any moment.
  const keepDraft = () => saveDraft(user, draftValues());
  form.addEventListener('input', keepDraft);
  form.addEventListener('change', keepDraft);
  function restoreDraft() {
    const d = loadDraft(user);
    if (!d) return;
    const v = d.values;
    if (v['/body/category'] && CATEGORIES.includes(v['/body/category'])) {
      f('/body/category').value = v['/body/category'];
      applyTemplate(v['/body/category']);
    }
    for (const [p, el] of fields) if (typeof v[p] === 'string' && p !== '/body/category') el.value = v[p];
    if (typeof v.__where === 'string') whereIn.value = v.__where;
    const discard = h('button', { type: 'button', class: 'btn ghost', id: 'compose-discard', text: 'Discard it and start again' });
    discard.addEventListener('click', () => {
      clearDraft(user);
      for (const el of fields.values()) if (el.tagName !== 'SELECT') el.value = '';
      whereIn.value = '';
      clearErrors();
      hideFailure();
      startFresh();
      draftNote.hidden = true;
      f('/body/category').focus();
    });
    clear(draftNote).append(h('span', { text: `Your unsent request from ${timeOfDay(new Date(d.saved_at).toISOString())} is back on screen.` }), discard);
    draftNote.hidden = false;
  }

  let timer = null;
  function scheduleValidate() {
    clearTimeout(timer);
    timer = setTimeout(() => validate(true), 150);
  }

  checkBtn.addEventListener('click', async () => {
    const v = await validate(false);
    if (v.ok) status.textContent = 'No problems found.';
    else if (v.failure) {
      if (v.failure.status !== 401) status.textContent = `Could not check: ${explain(v.failure).what}`;
    } else status.textContent = 'Please correct the fields marked in red.';
  });
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !sendBtn.disabled) {
      e.preventDefault();
      form.requestSubmit(sendBtn);
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    sendBtn.disabled = true;
    saveDraft(user, draftValues()); // kept whatever happens next, a session ending included
    hideFailure();
    status.textContent = 'Checking…';
    try {
      const v = await validate(false);
      if (v.failure) throw v.failure;
      if (!v.ok) {
        status.textContent = 'Not sent: please correct the fields marked in red.';
        return;
      }
      if (!(await confirmLocation(app, lastGeo, f('/to').value))) {
        status.textContent = 'Not sent: check the location.';
        return;
      }
      status.textContent = 'Sending…';
      const msg = build();
      const r = await api.post('/api/v1/messages', msg);
      clearDraft(user);
      status.textContent = `Sent: ${r.receipt.transfer_id}`;
      location.hash = `#/transfer/${encodeURIComponent(r.receipt.transfer_id)}`;
    } catch (err) {
      // A session that ended goes to the sign-in screen; the draft is kept for after it.
      if (err.status === 401) return;
      if (aboutFields(err)) {
        showErrors(errorsOf(err), false)?.focus();
        status.textContent = 'Not sent: please correct the fields marked in red.';
      } else {
        showFailure(err);
      }
    } finally {
      sendBtn.disabled = false;
    }
  });

  let outageShown = '';
  function showOutage() {
    const to = f('/to').value;
    const banner = outageBanner(to, 'compose-outage', (fb) => (fb.agency === me() ? null
      : h('button', { type: 'button', class: 'btn good', id: 'compose-send-buddy', 'data-agency': fb.agency,
        onclick: () => {
          f('/to').value = fb.agency;
          f('/to').dispatchEvent(new Event('change', { bubbles: true }));
          form.requestSubmit(sendBtn);
        } }, `Send to ${fb.name} instead`)));
    // Redrawn only when what it says changes (once a minute at most), so a click is never lost.
    const key = banner ? `${to}|${banner.textContent}` : '';
    if (key === outageShown) return;
    outageShown = key;
    clear(outageSlot).append(...(banner ? [banner] : []));
  }
  form.addEventListener('change', showOutage);

  restoreDraft();
  showOutage();
  f('/body/category').focus();
  return { destroy: () => clearTimeout(timer), geo: () => lastGeo, onLinks: showOutage };
}
