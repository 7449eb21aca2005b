// Compose a transfer.request from a category template. Every input names the JSON pointer it
// fills (data-pointer), so the gateway's validation errors, which carry pointers, are shown
// beside the field they are about. Validation runs on blur (dry run) and again before sending.
import * as api from './api.js';
import { app, me, agencyName } from './app.js';
import { h, clear, uuid, nowIso, CATEGORIES, CATEGORY_LABEL } from './util.js';
import { TEMPLATES } from './templates.js';
import { showPoint } from './map.js';
import { withParties, plausibilityNote, confirmLocation } from './geo_check.js';

const HAZARD_ROWS = 3;
const LOC = '/body/methane/exact_location';

export function renderCompose(main) {
  const fields = new Map(); // pointer -> input element
  const touched = new Set();
  let hazardIndex = []; // index in the sent array -> row number on screen
  const id = (p) => `f${p.replace(/[^a-z0-9]+/gi, '-')}`;

  function input(pointer, label, attrs = {}, kind = 'input') {
    const el = h(kind, { id: id(pointer), name: pointer, 'data-pointer': pointer, ...attrs });
    const err = h('p', { class: 'field-error', id: `${id(pointer)}-error`, 'data-error-for': pointer });
    el.setAttribute('aria-describedby', err.id);
    el.addEventListener('blur', () => {
      touched.add(pointer);
      scheduleValidate();
    });
    fields.set(pointer, el);
    return h('div', { class: 'field' }, h('label', { for: el.id, text: label }), el, err);
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
        choice('/body/category', 'Template (category)', CATEGORIES.map((c) => [c, CATEGORY_LABEL[c]])),
        choice('/to', 'To', others.map((a) => [a.id, a.name]))),
      h('div', { class: 'row3' },
        choice('/body/priority', 'Priority', [['emergency', 'Emergency'], ['urgent', 'Urgent'], ['routine', 'Routine']]),
        choice('/body/ask', 'Ask', [['attend', 'Attend'], ['take_over', 'Take over'], ['for_information', 'For information'], ['information_request', 'Information request']]),
        choice('/mode', 'Mode', [['live', 'Live'], ['exercise', 'Exercise'], ['test', 'Test']])),
      input('/body/summary', 'Summary (one line for their inbox)', { maxlength: 200 }),
      h('div', { class: 'row2' },
        input('/body/sender_incident/number', 'Our incident number'),
        input('/body/sender_incident/system', 'Our CAD system'))),
    h('fieldset', {}, h('legend', { text: 'Contact' }),
      h('div', { class: 'row3' },
        input('/body/contact/name', 'Name'),
        input('/body/contact/role', 'Role'),
        input('/body/contact/phone', 'Phone'))),
    input('/body/notes', 'Notes', { rows: 2 }, 'textarea'));

  const hazardRows = [];
  for (let i = 0; i < HAZARD_ROWS; i++) {
    const w = input(`/body/methane/hazards/${i}/hazard`, `Hazard ${i + 1}`);
    const s = choice(`/body/methane/hazards/${i}/status`, 'Status', [['present', 'Present'], ['suspected', 'Suspected'], ['potential', 'Potential']]);
    hazardRows.push(h('div', { class: 'hazard' }, w, s));
  }
  const letter = (l, t) => h('legend', {}, h('span', { class: 'letter', text: l }), ` ${t}`);
  const casualty = (k) => input(`/body/methane/casualties/${k}`, k, { type: 'number', min: 0, inputmode: 'numeric' });
  const right = h('div', {},
    h('fieldset', {}, letter('M', 'Major incident'),
      choice('/body/methane/major_incident', 'Status', [['not_declared', 'Not declared'], ['standby', 'Standby'], ['declared', 'Declared']])),
    h('fieldset', { 'data-pointer': LOC, id: 'location' }, letter('E', 'Exact location'),
      h('div', { class: 'row2' }, input(`${LOC}/address`, 'Address'), input(`${LOC}/postcode`, 'Postcode')),
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
      h('div', { class: 'row2' }, input('/body/methane/type_of_incident/code', 'Common code'),
        input('/body/methane/type_of_incident/agency_code', 'Our CAD type code')),
      input('/body/methane/type_of_incident/text', 'Description', { rows: 2 }, 'textarea')),
    h('fieldset', {}, letter('H', 'Hazards'), hazardRows),
    h('fieldset', {}, letter('A', 'Access'), input('/body/methane/access', 'Routes and access problems', { rows: 2 }, 'textarea')),
    h('fieldset', {}, letter('N', 'Number of casualties (leave unknown blank)'),
      h('div', { class: 'row6' }, ['fatal', 'immediate', 'urgent', 'delayed', 'minor', 'uninjured'].map(casualty))),
    h('fieldset', {}, letter('E', 'Emergency services (one per line)'),
      h('div', { class: 'row2' },
        input('/body/methane/emergency_services/present', 'Present', { rows: 2 }, 'textarea'),
        input('/body/methane/emergency_services/required', 'Required', { rows: 2 }, 'textarea'))));

  const sendBtn = h('button', { type: 'submit', class: 'btn good', id: 'compose-send', text: 'Validate and send' });
  const checkBtn = h('button', { type: 'button', class: 'btn ghost', id: 'compose-check', text: 'Check' });
  const status = h('span', { class: 'muted', id: 'compose-status', role: 'status' });
  form.append(h('h1', { class: 'full', text: 'New request' }), general, left, right,
    h('div', { class: 'compose-actions full' }, sendBtn, checkBtn, status));
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
  f('/body/category').value = CATEGORIES[0];
  f('/body/methane/major_incident').value = 'not_declared';
  applyTemplate(CATEGORIES[0]);

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

  function clearErrors() {
    general.textContent = '';
    for (const e of form.querySelectorAll('.field-error')) e.textContent = '';
    for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
  }

  function showErrors(errors, onlyTouched) {
    clearErrors();
    let first = null;
    for (const { pointer, message } of errors) {
      const [p, el] = fieldFor(pointer, message);
      if (onlyTouched && (!p || (p !== LOC && !touched.has(p)))) continue;
      if (!el) {
        general.textContent = `${general.textContent} ${message}`.trim();
        continue;
      }
      const slot = form.querySelector(`[data-error-for="${CSS.escape(p)}"]`);
      if (slot) slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
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

  async function validate(onlyTouched) {
    // After a full check every field counts as visited, so a later blur keeps its messages.
    if (!onlyTouched) for (const p of fields.keys()) touched.add(p);
    try {
      await api.post('/api/v1/messages?dry_run=true', build());
      clearErrors();
      return true;
    } catch (err) {
      if (err.status === 401) return false;
      const first = showErrors(errorsOf(err), onlyTouched);
      if (!onlyTouched) first?.focus();
      return false;
    }
  }

  let timer = null;
  function scheduleValidate() {
    clearTimeout(timer);
    timer = setTimeout(() => validate(true), 150);
  }

  checkBtn.addEventListener('click', async () => {
    status.textContent = (await validate(false)) ? 'No problems found.' : 'Please correct the marked fields.';
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    sendBtn.disabled = true;
    status.textContent = 'Checking…';
    try {
      if (!(await validate(false))) {
        status.textContent = 'Please correct the marked fields.';
        return;
      }
      if (!(await confirmLocation(app, lastGeo, f('/to').value))) {
        status.textContent = 'Not sent: check the location.';
        return;
      }
      status.textContent = 'Sending…';
      const msg = build();
      const r = await api.post('/api/v1/messages', msg);
      status.textContent = `Sent: ${r.receipt.transfer_id}`;
      location.hash = `#/transfer/${encodeURIComponent(r.receipt.transfer_id)}`;
    } catch (err) {
      if (err.status !== 401) {
        showErrors(errorsOf(err), false);
        status.textContent = 'Not sent.';
      }
    } finally {
      sendBtn.disabled = false;
    }
  });

  f('/body/category').focus();
  return { destroy: () => clearTimeout(timer), geo: () => lastGeo };
}
