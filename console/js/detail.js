// Transfer detail: everything both rooms need to act on one transfer, on one screen.
//  - The head: id, summary, and a strip with the state (in words), priority, the other room and
//    its phone number, and the running limit.
//  - The actions legal for the state and for our side; both sides may post an update or note.
//  - The answer (accept's ETA and resources, decline's reason in words, deferral, close, cancel)
//    in a box of its own, because for the sender it is the news.
//  - The M/ETHANE report in the order JESIP reads it aloud (M, E, T, H, A, N, E), then the rest of
//    the request (ask, incident numbers, contact, notes). Every heading is always shown, with
//    "not given" when the sender left it out, so the reader knows what to ask for; inside a
//    heading only what was given is listed. The report is the newest snapshot: a
//    transfer.update's methane replaces the request's, and the heading says so.
//  - The timeline in operator language: no message-type names, reason codes as words.
// The screen is a fixed skeleton whose parts are redrawn in place, so a live event never wipes a
// half-typed answer or update.
import * as api from './api.js';
import { app, me, myRole, actsForAgency, agencyName } from './app.js';
import { h, clear, uuid, nowIso, dateTime, paintDue, dueOf, TERMINAL, CATEGORY_LABEL } from './util.js';
import {
  stateLabel, STATE_HINT, DECLINE_REASONS, CLOSE_OUTCOMES, declineReason, closeOutcome, MAJOR_INCIDENT,
  ASK_LABEL, PRIORITY_LABEL, ALERT_LABEL, CASUALTY_ORDER, gridRef, words,
} from './words.js';
import { openCallPanel } from './calls.js';
import { areasBlock } from './areas.js';
import { sentence } from './failure.js';
import { PENDING, outageBanner, redirectControl } from './outage.js';

// The rules of docs/message-model.md section 9, from one side's point of view.
export function legalActions(t, agency) {
  const receiver = t.to === agency;
  const sender = t.from === agency;
  const s = t.state;
  if (TERMINAL.has(s)) return [];
  const out = [];
  if (receiver && ['submitted', 'delivered'].includes(s)) out.push('received');
  if (receiver && ['submitted', 'delivered', 'received', 'deferred'].includes(s)) out.push('accept', 'decline');
  if (receiver && ['submitted', 'delivered', 'received'].includes(s)) out.push('defer');
  // Either room may post an update or a note while the transfer is open (section 9).
  if (sender || receiver) out.push('update');
  if (s === 'accepted' || t.category === 'notification') out.push('close');
  if (sender) out.push('cancel');
  return out;
}

const LABEL = {
  received: 'Acknowledge', accept: 'Accept', decline: 'Decline', defer: 'Defer',
  update: 'Update / note', close: 'Close', cancel: 'Cancel request',
};
const KEY = { received: 'a', accept: 'y', decline: 'x', defer: 'd', update: 'u', close: 'z', cancel: 'q' };

function localInput(date) {
  const d = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

const notGiven = () => h('span', { class: 'not-given', text: 'not given' });
const given = (v) => v !== undefined && v !== null && String(v).trim() !== '';
// One labelled line inside a fact: "Postcode  CM2 7PU".
const part = (label, value, cls = '') => h('div', { class: `part ${cls}` },
  h('span', { class: 'part-label', text: label }), ' ', h('span', { class: 'part-value', text: String(value) }));

function location(loc = {}) {
  const out = [];
  if (given(loc.address)) out.push(h('div', { class: 'lead', text: loc.address }));
  if (given(loc.postcode)) out.push(part('Postcode', loc.postcode.toUpperCase()));
  if (loc.osgr) {
    const letters = gridRef(loc.osgr.easting, loc.osgr.northing);
    out.push(part('Grid ref', `${letters ? `${letters} · ` : ''}E ${loc.osgr.easting} N ${loc.osgr.northing}`, 'mono'));
  }
  if (loc.wgs84) {
    const acc = typeof loc.wgs84.accuracy_m === 'number' ? ` (±${loc.wgs84.accuracy_m} m)` : '';
    out.push(part('Lat/long', `${Number(loc.wgs84.lat).toFixed(5)}, ${Number(loc.wgs84.lon).toFixed(5)}${acc}`, 'mono'));
  }
  if (given(loc.what3words)) out.push(part('what3words', loc.what3words, 'mono'));
  if (given(loc.uprn)) out.push(part('UPRN', loc.uprn, 'mono'));
  if (given(loc.directions)) out.push(part('Directions', loc.directions));
  if (given(loc.rendezvous_point)) out.push(part('RVP', loc.rendezvous_point));
  const areas = areasBlock(loc.areas, app.session?.map);
  if (areas) out.push(areas);
  return out.length ? out : notGiven();
}

function casualties(c) {
  if (!c) return notGiven();
  // Omitted counts are unknown, not zero (common.schema.json), so only given counts are listed.
  const counts = CASUALTY_ORDER.filter(([k]) => typeof c[k] === 'number')
    .map(([k, label]) => h('span', { class: `count count-${k}` }, h('strong', { text: String(c[k]) }), ` ${label}`));
  const out = [];
  if (counts.length) out.push(h('div', { class: 'counts' }, counts));
  if (given(c.notes)) out.push(h('div', { text: c.notes }));
  return out.length ? out : notGiven();
}

function list(items, cls = '') {
  return items?.length ? h('ul', { class: `plain ${cls}` }, items.map((x) => h('li', { text: x }))) : notGiven();
}

// The M/ETHANE report, read aloud top to bottom. `mi` is the major incident status code.
function methaneBlock(m = {}) {
  const mi = m.major_incident;
  const rows = [
    ['M', 'Major incident', 'm-major', given(mi)
      ? h('span', { class: `major major-${mi}`, text: MAJOR_INCIDENT[mi] || words(mi) }) : notGiven()],
    ['E', 'Exact location', 'm-location', location(m.exact_location)],
    ['T', 'Type of incident', 'm-type', m.type_of_incident ? [
      h('div', { class: 'lead' }, given(m.type_of_incident.code) ? h('span', { class: 'code', text: m.type_of_incident.code }) : '',
        ' ', m.type_of_incident.text || ''),
      given(m.type_of_incident.agency_code) ? part('Their code', m.type_of_incident.agency_code, 'mono') : '',
    ] : notGiven()],
    ['H', 'Hazards', 'm-hazards', m.hazards?.length ? h('ul', { class: 'plain hazards' },
      m.hazards.map((x) => h('li', {}, h('span', { text: x.hazard }), ' ',
        h('span', { class: `hz hz-${x.status}`, text: x.status })))) : notGiven()],
    ['A', 'Access', 'm-access', given(m.access) ? m.access : notGiven()],
    ['N', 'Number and type of casualties', 'm-casualties', casualties(m.casualties)],
    ['E', 'Emergency services', 'm-services', [
      h('div', { class: 'sub' }, h('span', { class: 'part-label', text: 'Present' }), list(m.emergency_services?.present)),
      h('div', { class: 'sub' }, h('span', { class: 'part-label', text: 'Required' }), list(m.emergency_services?.required)),
    ]],
  ];
  return h('dl', { class: 'methane', id: 'methane' }, rows.map(([letter, label, id, value]) => h('div', { class: 'mrow', 'data-field': id },
    h('dt', { id }, h('span', { class: 'letter', 'aria-hidden': 'true', text: letter }), h('span', { text: label })),
    h('dd', {}, value))));
}

function incidentRef(ref) {
  if (!ref || !given(ref.number)) return null;
  return `${ref.number}${given(ref.system) ? ` (${ref.system})` : ''}`;
}

export function renderDetail(main, id) {
  let t = null;
  let open = null; // the action whose form is shown
  let form = null; // its element, kept across redraws so typing is never lost
  const wrap = h('div', { id: 'detail', 'data-transfer-id': id });
  main.append(wrap);
  const parts = {
    head: h('div', { class: 'detail-head' }),
    notice: h('p', { class: 'notice', id: 'detail-refresh', role: 'status', hidden: true }),
    outage: h('div', { class: 'outage-slot', id: 'detail-outage-slot' }),
    retention: h('div', { class: 'retention', id: 'detail-retention' }),
    actions: h('div', { class: 'actions', id: 'actions' }),
    formSlot: h('div', { class: 'form-slot' }),
    left: h('section', { class: 'detail-main', 'aria-label': 'Request and answers', tabindex: 0 }),
    timeline: h('ol', { class: 'timeline', id: 'timeline' }),
  };
  let built = false;
  let originals = new Map(); // message id -> what the transfer says of its original document
  const originalText = new Map(); // message id -> the original's text, once fetched
  const openOriginals = new Set(); // the originals the operator has open

  let loads = 0; // only the newest of overlapping reloads is drawn
  async function load() {
    const n = ++loads;
    try {
      const data = await api.get(`/api/v1/transfers/${encodeURIComponent(id)}`);
      if (n !== loads) return;
      t = data.transfer;
      draw();
      parts.notice.hidden = true;
    } catch (err) {
      if (err.status === 401 || n !== loads) return;
      // A failed refresh of a screen already shown keeps it (and anything typed in a form), and
      // says the view may be out of date; the next event or action tries again.
      if (built && t && err.status !== 403 && err.status !== 404) {
        parts.notice.textContent = `This screen could not be refreshed (${err.message}); what it shows may be out of date.`;
        parts.notice.hidden = false;
        return;
      }
      built = false;
      clear(wrap).append(
        h('h1', { text: id }),
        h('p', { class: 'notice', id: 'not-available', role: 'alert',
          text: err.status === 403 || err.status === 404
            ? `Transfer ${id} is not available to ${agencyName(me())}.`
            : `Transfer ${id} could not be loaded: ${err.message}` }),
        h('p', {}, h('a', { href: '#/inbox', text: 'Back to the inbox' })));
    }
  }

  function close() {
    open = null;
    form = null;
    clear(parts.formSlot);
  }

  function send(type, body, statusEl) {
    const msg = {
      id: `${me()}:${uuid()}`, type, from: me(), transfer_id: t.transfer_id,
      sent_at: nowIso(), version: t.version + 1, body,
    };
    statusEl.textContent = 'Sending…';
    return api.post('/api/v1/messages', msg).then(
      async () => {
        close();
        await load();
        // Focus stays on this screen, on the first action (or the page) rather than being lost.
        (parts.actions.querySelector('button') || main).focus();
      },
      (err) => {
        // In words, what happened and what to do (failure.js); the form keeps what was typed.
        statusEl.textContent = `Not sent: ${sentence(err)}`;
        if (err.code === 'bl.transfer.stale_version' || err.code === 'bl.transfer.illegal_transition') load();
      });
  }

  function actionForm(kind) {
    const status = h('p', { class: 'error-text', role: 'alert', id: 'action-status' });
    const f = h('form', { class: 'action-form', id: `form-${kind}`, novalidate: true, 'aria-labelledby': 'action-title' });
    const field = (name, label, el) => {
      el.id = `a-${name}`;
      el.name = name;
      return h('div', {}, h('label', { for: el.id, text: label }), el);
    };
    const opts = (items) => items.map(([v, l]) => h('option', { value: v, text: l }));
    const other = agencyName(t.from === me() ? t.to : t.from);
    let title = LABEL[kind];
    let body = () => ({});
    if (kind === 'received') {
      title = `Acknowledge: tell ${other} you have it`;
      f.append(field('note', 'Note (optional)', h('input', { maxlength: 500 })));
      body = () => { const n = f.elements.note.value.trim(); return n ? { note: n } : {}; };
    } else if (kind === 'accept') {
      title = `Accept: tell ${other} what is coming`;
      f.append(h('div', { class: 'row2' },
        field('incident', 'Our incident number', h('input', { required: true, maxlength: 40 })),
        field('eta', 'ETA minutes (optional)', h('input', { type: 'number', min: 0, max: 1440 }))),
      field('resources', 'Resources sent (optional)', h('input', { maxlength: 500 })),
      field('note', 'Note (optional)', h('input', { maxlength: 500 })));
      body = () => {
        const b = { receiver_incident: { number: f.elements.incident.value.trim() } };
        if (f.elements.eta.value !== '') b.eta_minutes = Number(f.elements.eta.value);
        if (f.elements.resources.value.trim()) b.resources = f.elements.resources.value.trim();
        if (f.elements.note.value.trim()) b.note = f.elements.note.value.trim();
        return b;
      };
    } else if (kind === 'decline') {
      title = `Decline: tell ${other} why`;
      f.append(field('reason', 'Reason', h('select', {}, opts(DECLINE_REASONS))),
        field('text', 'Explanation for their operator', h('textarea', { required: true, maxlength: 2000 })));
      body = () => ({ reason: f.elements.reason.value, text: f.elements.text.value.trim() });
    } else if (kind === 'defer') {
      title = `Defer: tell ${other} when you will decide`;
      f.append(h('div', { class: 'row2' },
        field('until', 'Decision by', h('input', { type: 'datetime-local', value: localInput(new Date(Date.now() + 30 * 60000)) })),
        field('reason', 'Why', h('input', { required: true, maxlength: 500 }))));
      body = () => ({ until: new Date(f.elements.until.value).toISOString(), reason: f.elements.reason.value.trim() });
    } else if (kind === 'update') {
      title = `Update or note for ${other}`;
      f.append(field('text', 'What changed, or the note', h('textarea', { required: true, maxlength: 2000 })));
      // The priority is the requesting room's call; the receiving room adds what it knows.
      if (t.from === me())
        f.append(field('priority', 'Priority', h('select', {}, opts([['', 'unchanged'], ['emergency', 'Emergency'], ['urgent', 'Urgent'], ['routine', 'Routine']]))));
      body = () => {
        const b = { text: f.elements.text.value.trim() };
        if (f.elements.priority?.value) b.priority = f.elements.priority.value;
        return b;
      };
    } else if (kind === 'close') {
      title = 'Close: the outcome';
      f.append(field('outcome', 'Outcome', h('select', {}, opts(CLOSE_OUTCOMES))),
        field('text', 'Note (optional)', h('input', { maxlength: 2000 })));
      body = () => { const b = { outcome: f.elements.outcome.value }; if (f.elements.text.value.trim()) b.text = f.elements.text.value.trim(); return b; };
    } else if (kind === 'cancel') {
      title = `Cancel: tell ${other} why it is withdrawn`;
      f.append(field('reason', 'Why is it cancelled', h('input', { required: true, maxlength: 500 })));
      body = () => ({ reason: f.elements.reason.value.trim() });
    }
    f.prepend(h('h2', { id: 'action-title', text: title }));
    const submit = h('button', { type: 'submit', class: `btn ${kind === 'decline' || kind === 'cancel' ? 'danger' : 'good'}`, id: 'action-submit', text: `Send: ${LABEL[kind]}` });
    const back = h('button', { type: 'button', class: 'btn ghost', text: 'Back (Esc)' });
    back.addEventListener('click', () => { close(); draw(); });
    f.append(h('div', { class: 'panel-actions' }, back, submit), status);
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const missing = [...f.querySelectorAll('[required]')].find((el) => !el.value.trim());
      if (missing) {
        status.textContent = `${f.querySelector(`label[for="${missing.id}"]`).textContent} is required.`;
        missing.focus();
        return;
      }
      submit.disabled = true;
      await send(`transfer.${kind}`, body(), status);
      submit.disabled = false;
    });
    f.addEventListener('keydown', (e) => { if (e.key === 'Escape') { close(); draw(); } });
    f.dataset.kind = kind;
    return f;
  }

  const current = () => {
    // The request, then each update that carried a new snapshot: the newest one wins.
    const msgs = t.messages || [];
    const req = msgs.find((m) => m.type === 'transfer.request');
    const b = req?.body || {};
    let methane = b.methane;
    let summary = b.summary;
    let sender = b.sender_incident;
    let revised = null;
    for (const m of msgs) {
      if (m.type !== 'transfer.update') continue;
      if (m.body?.methane) { methane = m.body.methane; revised = m; }
      if (m.body?.summary) summary = m.body.summary;
      if (m.body?.sender_incident) sender = m.body.sender_incident;
    }
    return { req, b, methane, summary, sender, revised };
  };

  function head(cur) {
    const side = t.from === me() ? 'outgoing' : 'incoming';
    const other = side === 'outgoing' ? t.to : t.from;
    const due = h('span', { class: 'num', id: 'detail-due' });
    paintDue(due, t);
    const phone = app.agencies.get(other)?.phone;
    const limit = dueOf(t); // none once accepted or finished: nothing is running
    due.hidden = !limit;
    return [
      h('h1', { id: 'detail-title' }, h('span', { class: 'tid', text: t.transfer_id }), ' ', cur.summary || ''),
      h('div', { class: 'strip' },
        h('span', { class: `state state-${t.state}`, id: 'detail-state', 'data-state': t.state,
          title: STATE_HINT[t.state] || '', text: stateLabel(t.state) }),
        h('span', { class: `prio prio-${t.priority}`, id: 'detail-priority', text: PRIORITY_LABEL[t.priority] || t.priority }),
        t.mode && t.mode !== 'live' ? h('span', { class: 'mode', text: t.mode.toUpperCase() }) : '',
        h('span', { class: 'cat', text: CATEGORY_LABEL[t.category] || words(t.category) }),
        h('span', { class: 'who-other' }, h('span', { class: 'muted', text: side === 'outgoing' ? 'To ' : 'From ' }),
          h('strong', { text: agencyName(other) }), phone ? h('span', { class: 'phone', text: ` ☎ ${phone}` }) : ''),
        limit ? h('span', { class: 'limit' }, h('span', { class: 'muted', text: `${limit.what === 'delivery' ? 'Delivery' : 'Decision'} limit ` }), due) : due,
        // A supervisor can see who in the room has read this transfer (the access log).
        ['supervisor', 'dpo'].includes(myRole()) ? h('a', { id: 'detail-access-log', class: 'access-link', href: `#/access/${encodeURIComponent(t.transfer_id)}`, text: 'Who has read this' }) : ''),
    ];
  }

  // The receiving room's answers and the end of the transfer, newest last, in words.
  function answers(msgs) {
    const kinds = ['transfer.accept', 'transfer.decline', 'transfer.defer', 'transfer.cancel', 'transfer.close'];
    const out = msgs.filter((m) => kinds.includes(m.type)).map((m) => {
      const b = m.body || {};
      const by = agencyName(m.from);
      const at = dateTime(m.sent_at);
      const rows = [];
      let title;
      let tone;
      if (m.type === 'transfer.accept') {
        title = `Accepted by ${by}`;
        tone = 'ok';
        rows.push(['ETA', typeof b.eta_minutes === 'number' ? (b.eta_minutes === 0 ? 'already there' : `${b.eta_minutes} min`) : null],
          ['Incident no.', incidentRef(b.receiver_incident)], ['Resources', b.resources], ['Note', b.note]);
      } else if (m.type === 'transfer.decline') {
        title = `Declined by ${by}`;
        tone = 'bad';
        rows.push(['Reason', declineReason(b.reason)], ['Explanation', b.text]);
      } else if (m.type === 'transfer.defer') {
        title = `Deferred by ${by}`;
        tone = 'info';
        rows.push(['Decision by', dateTime(b.until)], ['Why', b.reason]);
      } else if (m.type === 'transfer.cancel') {
        title = `Cancelled by ${by}`;
        tone = 'bad';
        rows.push(['Why', b.reason]);
      } else {
        title = `Closed by ${by}`;
        tone = 'done';
        rows.push(['Outcome', closeOutcome(b.outcome)], ['Note', b.text]);
      }
      return h('div', { class: `answer answer-${tone}`, 'data-type': m.type.replace('transfer.', '') },
        h('h2', {}, h('span', { text: title }), ' ', h('span', { class: 'when', text: at })),
        // Short answers (ETA, incident number) sit side by side; sentences get the full width.
        h('dl', { class: 'pairs' }, rows.map(([k, v]) => h('div', { class: `pair${given(v) && String(v).length > 28 ? ' wide' : ''}` },
          h('dt', { text: k }), h('dd', {}, given(v) ? v : notGiven())))));
    });
    return out.length ? h('section', { class: 'answers', id: 'answers', 'aria-label': 'Answers' }, out) : '';
  }

  function request(cur) {
    const b = cur.b;
    const nums = t.incident_numbers || {};
    const c = b.contact;
    const contact = c && (given(c.name) || given(c.role) || given(c.phone))
      ? [c.name, c.role, c.phone].filter(given).join(', ') : null;
    const rows = [
      ['Ask', ASK_LABEL[b.ask] || words(b.ask)],
      [`${agencyName(t.from)} incident`, incidentRef(cur.sender) || nums[t.from]?.number],
      [`${agencyName(t.to)} incident`, nums[t.to]?.number],
      ['Contact', contact],
      ['Notes', b.notes],
      ['Sent', `${dateTime(t.created_at)} by ${agencyName(t.from)}`],
    ];
    return h('dl', { class: 'facts', id: 'request-facts' },
      rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { class: k === 'Notes' ? 'prose' : '' }, given(v) ? v : notGiven())]));
  }

  // One timeline entry: what happened, by whom, on which system, and what they said, in words.
  function entry(e, byId) {
    const m = e.message_id ? byId.get(e.message_id) : null;
    const b = m?.body || {};
    const d = e.detail && typeof e.detail === 'object' ? e.detail : {};
    const actor = agencyName(e.actor);
    const lines = [];
    let title;
    switch (e.kind) {
      case 'transfer.request':
        title = `Request sent by ${actor}`;
        lines.push(`${PRIORITY_LABEL[b.priority || d.priority] || ''} · ${CATEGORY_LABEL[b.category || d.category] || ''}`);
        if (d.redirected_from) {
          title = `Request redirected here by ${actor} from ${d.redirected_from.name || agencyName(d.redirected_from.agency)}`;
          if (given(d.redirect_reason)) lines.push(d.redirect_reason);
          return withLink(e, title, lines, 'Was', d.redirected_from.transfer_id);
        }
        break;
      case 'delivered':
        title = `Delivered to ${actor}`;
        break;
      case 'transfer.received':
        title = `Acknowledged by ${actor}`;
        if (given(b.operator)) lines.push(`Operator: ${b.operator}`);
        if (given(b.note ?? d.note)) lines.push(b.note ?? d.note);
        break;
      case 'transfer.accept': {
        title = `Accepted by ${actor}`;
        const eta = b.eta_minutes ?? d.eta_minutes;
        if (typeof eta === 'number') lines.push(`ETA ${eta === 0 ? 'already there' : `${eta} min`}`);
        if (given(b.resources)) lines.push(`Resources: ${b.resources}`);
        const ref = incidentRef(b.receiver_incident || d.receiver_incident);
        if (ref) lines.push(`Incident no. ${ref}`);
        if (given(b.note ?? d.note)) lines.push(b.note ?? d.note);
        break;
      }
      case 'transfer.decline':
        title = `Declined by ${actor}: ${declineReason(b.reason ?? d.reason)}`;
        if (given(b.text ?? d.text)) lines.push(b.text ?? d.text);
        break;
      case 'transfer.defer':
        title = `Deferred by ${actor} until ${dateTime(b.until ?? d.until)}`;
        if (given(b.reason ?? d.reason)) lines.push(b.reason ?? d.reason);
        break;
      case 'transfer.update':
        title = `Update from ${actor}`;
        if (given(b.text ?? d.text)) lines.push(b.text ?? d.text);
        if (b.priority) lines.push(`Priority now ${PRIORITY_LABEL[b.priority] || b.priority}`);
        if (given(b.summary ?? d.summary)) lines.push(`Summary now: ${b.summary ?? d.summary}`);
        if (b.methane) lines.push('M/ETHANE revised (the report on this screen is the new one)');
        if (b.sender_incident) lines.push(`Incident number now ${incidentRef(b.sender_incident)}`);
        break;
      case 'transfer.cancel':
        if (d.redirected_to) {
          // Withdrawn from this room and sent to its fallback room: where it went, as a link.
          title = `Redirected by ${actor} to ${d.redirected_to.name || agencyName(d.redirected_to.agency)}`;
          if (given(d.redirect_reason)) lines.push(d.redirect_reason);
          return withLink(e, title, lines, 'Now', d.redirected_to.transfer_id);
        }
        title = `Cancelled by ${actor}`;
        if (given(b.reason ?? d.reason)) lines.push(b.reason ?? d.reason);
        break;
      case 'transfer.close':
        title = `Closed by ${actor}: ${closeOutcome(b.outcome ?? d.outcome)}`;
        if (given(b.text ?? d.text)) lines.push(b.text ?? d.text);
        break;
      case 'phone_fallback':
        title = `${ALERT_LABEL[d.alert] || 'Stalled'}: phone ${agencyName(t.to)}${d.phone ? ` on ${d.phone}` : ''}`;
        break;
      case 'expired':
        title = `Expired undelivered: phone ${agencyName(t.to)}${d.phone ? ` on ${d.phone}` : ''}`;
        break;
      case 'legal_hold':
        title = `Legal hold placed by ${d.by || actor}${d.agency ? ` (${agencyName(d.agency)})` : ''}: kept until lifted`;
        break;
      case 'legal_hold_lifted':
        title = `Legal hold lifted by ${d.by || actor}${d.agency ? ` (${agencyName(d.agency)})` : ''}`;
        break;
      case 'phone_claim':
        // Someone in the room took the phone prompt ("I'm calling them"): the gateway's words.
        title = given(d.text) ? d.text : `${d.user || actor} is phoning ${agencyName(e.actor === t.from ? t.to : t.from)}`;
        break;
      case 'phone_call': {
        // `direction` is as the logging room saw the call.
        const them = agencyName(e.actor === t.from ? t.to : t.from);
        const [caller, called] = d.direction === 'incoming' ? [them, actor] : [actor, them];
        title = `Phone call: ${caller} rang ${called}${d.emergency ? ' (emergency)' : ''}, logged by ${actor}`;
        if (given(d.note)) lines.push(d.note);
        break;
      }
      default:
        title = `${words(e.kind)} (${actor})`;
    }
    // The message's own entry says where it came from (its delivery names the same message).
    if (e.kind !== m?.type) return item(e, title, lines);
    const li = sourceNote(item(e, title, lines), m);
    const orig = originals.get(e.message_id);
    return orig ? originalDoc(li, orig) : li;
  }

  // The partner's document as it arrived, byte for byte: fetched when first opened, and kept
  // open (with its text) across the redraws that live events cause.
  function originalDoc(li, o) {
    const pre = h('pre', { class: 'original-text', tabindex: 0 });
    const d = h('details', { class: 'original-doc' },
      h('summary', { text: `Original document (${o.standard})` }),
      h('div', { class: 'muted small', text: `${o.media_type}, ${o.bytes} bytes, received ${dateTime(o.received_at)}` }),
      pre);
    const show = () => {
      const have = originalText.get(o.message_id);
      if (have !== undefined) {
        pre.textContent = have;
        return;
      }
      pre.textContent = 'Loading…';
      api.getText(`/api/v1/originals/${encodeURIComponent(o.message_id)}`).then((text) => {
        originalText.set(o.message_id, text);
        pre.textContent = text;
      }, (err) => {
        pre.textContent = `Could not load the original: ${err.message}`;
      });
    };
    d.addEventListener('toggle', () => {
      if (d.open) {
        openOriginals.add(o.message_id);
        show();
      } else {
        openOriginals.delete(o.message_id);
      }
    });
    if (openOriginals.has(o.message_id)) {
      d.open = true;
      show();
    }
    li.append(d);
    return li;
  }

  // A message translated from a partner's document: which standard and sender, and what of the
  // document it does not carry, so that the operator knows to look there.
  function sourceNote(li, m) {
    const src = m?.source;
    if (!src) return li;
    li.append(h('div', { class: 'tl-text source-doc' },
      `From a ${src.standard} document${given(src.sender) ? ` sent as ${src.sender}` : ''}`));
    const nc = Array.isArray(src.not_carried) ? src.not_carried : [];
    li.append(nc.length
      ? h('details', { class: 'not-carried', open: true },
        h('summary', { text: `Not carried (${nc.length})` }),
        h('ul', { class: 'plain' }, nc.map((x) => h('li', { text: x }))))
      : h('div', { class: 'tl-text not-carried', text: 'Not carried: nothing' }));
    return li;
  }

  // A timeline entry naming the other transfer of a redirect, as a link to it.
  function withLink(e, title, lines, label, other) {
    const li = item(e, title, lines);
    li.append(h('div', { class: 'tl-text' }, `${label} `,
      h('a', { class: 'redirect-link', href: `#/transfer/${encodeURIComponent(other)}`, text: other })));
    return li;
  }

  function item(e, title, lines) {
    const d = e.detail && typeof e.detail === 'object' ? e.detail : {};
    const who = [d.user || d.by, d.via && `via ${d.via}`].filter(given);
    return h('li', { 'data-kind': e.kind, class: `tl tl-${e.kind.replace('transfer.', '')}` },
      h('div', { class: 'tl-head' },
        h('span', { class: 'when', text: dateTime(e.at) }), ' ',
        h('span', { class: 'kind', text: title }),
        who.length ? h('span', { class: 'via', text: who.join(' · ') }) : ''),
      lines.map((l) => h('div', { class: 'tl-text', text: l })));
  }

  function draw() {
    if (!built) {
      clear(wrap).append(parts.head, parts.notice, parts.outage, parts.retention, parts.actions, parts.formSlot,
        h('div', { class: 'detail' }, parts.left,
          h('section', { class: 'detail-side', 'aria-labelledby': 'timeline-h', tabindex: 0 },
            h('h2', { id: 'timeline-h' }, 'Timeline ', h('span', { class: 'muted small', text: 'newest first' })),
            parts.timeline)));
      built = true;
    }
    wrap.dataset.side = t.from === me() ? 'outgoing' : 'incoming';
    wrap.dataset.state = t.state;
    const cur = current();
    const msgs = t.messages || [];
    const byId = new Map(msgs.map((m) => [m.id, m]));
    originals = new Map((t.originals || []).map((o) => [o.message_id, o]));
    clear(parts.head).append(...head(cur));
    showOutage();
    showRetention();

    // Keep the focused action button focused across the redraw.
    const focused = document.activeElement?.closest?.('#actions button')?.dataset.action;
    const other = t.from === me() ? t.to : t.from;
    // The agency's data-protection officer reads; only those acting for it act.
    const acts = actsForAgency() ? legalActions(t, me()) : [];
    clear(parts.actions).append(
      ...acts.map((k) => h('button', { type: 'button', class: `btn ${k === 'decline' || k === 'cancel' ? 'danger' : ''}`,
        'data-action': k, 'aria-pressed': open === k ? 'true' : 'false', onclick: () => { show(k); } },
      LABEL[k], h('kbd', { text: KEY[k] }))),
      actsForAgency() ? h('button', { type: 'button', class: 'btn ghost', id: 'detail-log-call', onclick: () => openCallPanel({
        transfer_id: t.transfer_id, other_agency: other, emergency: t.priority === 'emergency', reason: t.category,
      }) }, 'Log call about this') : '');
    if (focused) parts.actions.querySelector(`[data-action="${focused}"]`)?.focus();
    // Arriving with nothing focused (after sending from compose, whose Send button is gone):
    // focus the first action, so that the keyboard user is not sent back to the top of the page.
    else if (!document.activeElement || document.activeElement === document.body)
      parts.actions.querySelector('button')?.focus();

    // The open form stays as typed; if the other room moved the transfer on, say so.
    if (open && form && !acts.includes(open)) {
      form.querySelector('#action-status').textContent = `This transfer is now ${stateLabel(t.state)}: ${LABEL[open]} is no longer possible.`;
      form.querySelector('#action-submit').disabled = true;
    }

    const answerBox = answers(msgs);
    const keptLeft = parts.left.scrollTop;
    // The answer is the sender's news, so it leads there; the receiver reads the report first.
    const outgoing = t.from === me();
    clear(parts.left).append(
      outgoing ? answerBox : '',
      h('h2', { id: 'methane-h' }, 'M/ETHANE',
        cur.revised ? h('span', { class: 'revised', text: ` as revised ${dateTime(cur.revised.sent_at)} by ${agencyName(cur.revised.from)}` }) : ''),
      methaneBlock(cur.methane),
      outgoing ? '' : answerBox,
      h('h2', { text: 'Request' }),
      request(cur));
    parts.left.scrollTop = keptLeft;

    // Newest first: what just happened is what the operator looks for.
    const side = parts.timeline.parentElement;
    const keptSide = side.scrollTop;
    clear(parts.timeline).append(...(t.timeline || []).map((e) => entry(e, byId)).reverse());
    side.scrollTop = keptSide;
  }

  // Our pending transfer to a room that is out: the banner and the one-action redirect to the
  // room's fallback. Redrawn only when what it says changes, so that a click is never lost.
  let outageShown = '';
  function showOutage() {
    if (!t) return;
    const ours = actsForAgency() && t.from === me() && PENDING.has(t.state);
    const banner = ours ? outageBanner(t.to, 'detail-outage', (fb) => {
      const [btn, said] = redirectControl(t.transfer_id, fb, { id: 'detail-redirect', 'data-agency': fb.agency },
        'detail-redirect-status', () => load());
      return h('div', {}, btn, ' ', said);
    }) : null;
    const key = banner ? banner.textContent : '';
    if (key === outageShown) return;
    outageShown = key;
    clear(parts.outage).append(...(banner ? [banner] : []));
  }

  // How long the transfer's personal content is kept, whether it is gone, and its legal hold;
  // a supervisor places or lifts the hold here, with a reason (docs/data-protection.md).
  let holdForm = null; // kept across redraws so a reason being typed is never lost
  function showRetention() {
    const r = t.retention || {};
    const line = h('p', { class: 'retention-line', id: 'retention-line' });
    if (r.purged_at) {
      line.append(h('strong', { text: 'Personal content removed' }),
        ` on ${dateTime(r.purged_at)} under the retention policy: what remains is the record of the transfer (ids, agencies, times, states).`);
    } else if (r.held) {
      const hold = r.hold || {};
      line.append(h('strong', { id: 'retention-held', text: 'Legal hold' }),
        ` since ${dateTime(hold.placed_at)}${hold.placed_by ? ` by ${hold.placed_by}` : ''}${hold.agency ? ` (${agencyName(hold.agency)})` : ''}`,
        hold.reason ? `: ${hold.reason}` : '', '. Kept until the hold is lifted.');
    } else {
      line.append(h('span', { class: 'muted', text: 'Kept until ' }),
        h('span', { id: 'retention-due', text: r.purge_due ? dateTime(r.purge_due) : 'a retention period is set' }),
        h('span', { class: 'muted', text: ' (retention)' }));
    }
    const mine = r.hold && r.hold.agency === me();
    const canHold = ['supervisor', 'dpo'].includes(myRole()) && !r.purged_at && (!r.held || mine);
    const btn = canHold ? h('button', { type: 'button', class: 'btn ghost small', id: 'detail-hold',
      'data-held': r.held ? 'true' : 'false',
      onclick: () => { holdForm = holdForm ? null : makeHoldForm(r.held); showRetention(); holdForm?.querySelector('input')?.focus(); },
      text: r.held ? 'Lift legal hold' : 'Place legal hold' }) : '';
    if (holdForm && holdForm.dataset.lift !== String(!!r.held)) holdForm = null; // the hold changed meanwhile
    clear(parts.retention).append(h('div', { class: 'retention-row' }, line, btn), ...(holdForm ? [holdForm] : []));
  }

  function makeHoldForm(lift) {
    const reason = h('input', { id: 'hold-reason', type: 'text', maxlength: 300, required: true,
      placeholder: lift ? 'Why it is lifted, e.g. inquest concluded' : 'Why, e.g. coroner\'s inquest ref 2026/114' });
    const status = h('span', { id: 'hold-status', role: 'status', class: 'muted' });
    const submit = h('button', { type: 'submit', class: 'btn', id: 'hold-submit', text: lift ? 'Lift hold' : 'Place hold' });
    const f = h('form', { class: 'hold-form', id: 'hold-form', 'data-lift': String(!!lift) },
      h('label', { for: 'hold-reason', text: 'Reason ' }), reason, ' ', submit, ' ', status);
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (reason.value.trim().length < 3) { status.textContent = 'Give a reason (at least 3 characters).'; return; }
      submit.disabled = true;
      status.textContent = 'Saving…';
      try {
        if (lift) await api.request('DELETE', `/api/v1/holds/${encodeURIComponent(t.transfer_id)}`, { reason: reason.value.trim() });
        else await api.post('/api/v1/holds', { transfer_id: t.transfer_id, reason: reason.value.trim() });
        holdForm = null;
        await load();
        parts.retention.querySelector('#detail-hold')?.focus();
      } catch (err) {
        status.textContent = `Not saved: ${sentence(err)}`;
        submit.disabled = false;
      }
    });
    f.addEventListener('keydown', (e) => { if (e.key === 'Escape') { holdForm = null; showRetention(); } });
    return f;
  }

  function show(kind) {
    if (open === kind && form) { form.querySelector('input, select, textarea')?.focus(); return; }
    open = kind;
    form = actionForm(kind);
    clear(parts.formSlot).append(form);
    draw();
    form.querySelector('input, select, textarea')?.focus();
  }

  function onEvent(ev) {
    if (ev?.transfer_id !== id) return;
    // Reload in place: the open form (and what is typed in it) is kept.
    load();
  }

  function onKey(e) {
    if (!t) return;
    if (e.key === 'Escape' && open) { close(); draw(); return; }
    const k = Object.entries(KEY).find(([, key]) => key === e.key)?.[0];
    if (k && actsForAgency() && legalActions(t, me()).includes(k)) {
      e.preventDefault();
      show(k);
    }
  }

  function tick() {
    const due = wrap.querySelector('#detail-due');
    if (due && t) paintDue(due, t);
  }

  load();
  return { onEvent, onKey, tick };
}
