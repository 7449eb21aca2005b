// Transfer detail: the facts, the request's M/ETHANE, the whole timeline (who, when, which
// system), and only the actions that are legal for the state and for our side of the transfer.
import * as api from './api.js';
import { app, me, agencyName, upsertTransfer } from './app.js';
import { h, clear, uuid, nowIso, dateTime, paintDue, TERMINAL, CATEGORY_LABEL } from './util.js';
import { openCallPanel } from './calls.js';
import { sentence } from './failure.js';

const DECLINE_REASONS = [
  ['no_resources', 'No resources available'],
  ['not_our_remit', 'Not our remit'],
  ['duplicate', 'Duplicate request'],
  ['insufficient_information', 'Insufficient information'],
  ['already_attending', 'Already attending'],
  ['other', 'Other'],
];
const CLOSE_OUTCOMES = [
  ['resolved', 'Resolved'], ['no_longer_required', 'No longer required'],
  ['handed_over', 'Handed over'], ['other', 'Other'],
];

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
  if (sender) out.push('update');
  if (s === 'accepted' || t.category === 'notification') out.push('close');
  if (sender) out.push('cancel');
  return out;
}

const LABEL = {
  received: 'Acknowledge', accept: 'Accept', decline: 'Decline', defer: 'Defer',
  update: 'Update', close: 'Close', cancel: 'Cancel request',
};
const KEY = { received: 'a', accept: 'y', decline: 'x', defer: 'd', update: 'u', close: 'z', cancel: 'q' };

function localInput(date) {
  const d = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

export function renderDetail(main, id) {
  let t = null;
  let open = null; // the action whose form is shown
  const wrap = h('div', { id: 'detail', 'data-transfer-id': id });
  main.append(wrap);

  async function load() {
    try {
      const data = await api.get(`/api/v1/transfers/${encodeURIComponent(id)}`);
      t = data.transfer;
      draw();
    } catch (err) {
      if (err.status === 401) return;
      clear(wrap).append(
        h('h1', { text: id }),
        h('p', { class: 'notice', id: 'not-available', role: 'alert',
          text: err.status === 403 || err.status === 404
            ? `Transfer ${id} is not available to ${agencyName(me())}.`
            : `Transfer ${id} could not be loaded: ${err.message}` }),
        h('p', {}, h('a', { href: '#/inbox', text: 'Back to the inbox' })));
    }
  }

  function send(type, body, statusEl) {
    const msg = {
      id: `${me()}:${uuid()}`, type, from: me(), transfer_id: t.transfer_id,
      sent_at: nowIso(), version: t.version + 1, body,
    };
    statusEl.textContent = 'Sending…';
    return api.post('/api/v1/messages', msg).then(
      () => { open = null; statusEl.textContent = ''; return load(); },
      (err) => {
        // In words, what happened and what to do (failure.js); the form keeps what was typed.
        statusEl.textContent = `Not sent: ${sentence(err)}`;
        if (err.code === 'bl.transfer.stale_version' || err.code === 'bl.transfer.illegal_transition') load();
      });
  }

  function actionForm(kind) {
    const status = h('p', { class: 'error-text', role: 'alert', id: 'action-status' });
    const f = h('form', { class: 'action-form', id: `form-${kind}`, novalidate: true });
    const field = (name, label, el) => {
      el.id = `a-${name}`;
      el.name = name;
      return h('div', {}, h('label', { for: el.id, text: label }), el);
    };
    const opts = (list) => list.map(([v, l]) => h('option', { value: v, text: l }));
    let body = () => ({});
    if (kind === 'received') {
      f.append(field('note', 'Note (optional)', h('input', {})));
      body = () => { const n = f.elements.note.value.trim(); return n ? { note: n } : {}; };
    } else if (kind === 'accept') {
      f.append(h('div', { class: 'row2' },
        field('incident', 'Our incident number', h('input', { required: true })),
        field('eta', 'ETA minutes (optional)', h('input', { type: 'number', min: 0, max: 1440 }))),
      field('resources', 'Resources (optional)', h('input', {})));
      body = () => {
        const b = { receiver_incident: { number: f.elements.incident.value.trim() } };
        if (f.elements.eta.value !== '') b.eta_minutes = Number(f.elements.eta.value);
        if (f.elements.resources.value.trim()) b.resources = f.elements.resources.value.trim();
        return b;
      };
    } else if (kind === 'decline') {
      f.append(field('reason', 'Reason', h('select', {}, opts(DECLINE_REASONS))),
        field('text', 'Explanation for their operator', h('textarea', { required: true })));
      body = () => ({ reason: f.elements.reason.value, text: f.elements.text.value.trim() });
    } else if (kind === 'defer') {
      f.append(h('div', { class: 'row2' },
        field('until', 'Decision by', h('input', { type: 'datetime-local', value: localInput(new Date(Date.now() + 30 * 60000)) })),
        field('reason', 'Why', h('input', { required: true }))));
      body = () => ({ until: new Date(f.elements.until.value).toISOString(), reason: f.elements.reason.value.trim() });
    } else if (kind === 'update') {
      f.append(field('text', 'What changed', h('textarea', { required: true })),
        field('priority', 'Priority', h('select', {}, opts([['', 'unchanged'], ['emergency', 'Emergency'], ['urgent', 'Urgent'], ['routine', 'Routine']]))));
      body = () => {
        const b = { text: f.elements.text.value.trim() };
        if (f.elements.priority.value) b.priority = f.elements.priority.value;
        return b;
      };
    } else if (kind === 'close') {
      f.append(field('outcome', 'Outcome', h('select', {}, opts(CLOSE_OUTCOMES))),
        field('text', 'Note (optional)', h('input', {})));
      body = () => { const b = { outcome: f.elements.outcome.value }; if (f.elements.text.value.trim()) b.text = f.elements.text.value.trim(); return b; };
    } else if (kind === 'cancel') {
      f.append(field('reason', 'Why is it cancelled', h('input', { required: true })));
      body = () => ({ reason: f.elements.reason.value.trim() });
    }
    const submit = h('button', { type: 'submit', class: `btn ${kind === 'decline' || kind === 'cancel' ? 'danger' : 'good'}`, id: 'action-submit', text: `Send: ${LABEL[kind]}` });
    const back = h('button', { type: 'button', class: 'btn ghost', text: 'Back (Esc)' });
    back.addEventListener('click', () => { open = null; draw(); });
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
    f.addEventListener('keydown', (e) => { if (e.key === 'Escape') { open = null; draw(); } });
    return f;
  }

  function draw() {
    const side = t.from === me() ? 'outgoing' : 'incoming';
    const other = side === 'outgoing' ? t.to : t.from;
    const req = (t.messages || []).find((m) => m.type === 'transfer.request');
    const b = req?.body || {};
    const loc = b.methane?.exact_location || {};
    const nums = Object.entries(t.incident_numbers || {})
      .map(([a, n]) => `${agencyName(a)}: ${n?.number ?? n}`).join(' · ');
    const due = h('span', { class: 'num', id: 'detail-due' });
    paintDue(due, t);
    const acts = legalActions(t, me());
    const actions = h('div', { class: 'actions', id: 'actions' },
      acts.map((k) => h('button', { type: 'button', class: `btn ${k === 'decline' || k === 'cancel' ? 'danger' : ''}`,
        'data-action': k, 'aria-pressed': open === k ? 'true' : 'false', onclick: () => { open = k; draw(); } },
      LABEL[k], h('kbd', { text: KEY[k] }))),
      h('button', { type: 'button', class: 'btn ghost', id: 'detail-log-call', onclick: () => openCallPanel({
        transfer_id: t.transfer_id, other_agency: other, emergency: t.priority === 'emergency', reason: t.category,
      }) }, 'Log call about this'));
    const facts = h('dl', { class: 'facts' },
      ...[
        ['State', h('span', { class: `state state-${t.state}`, id: 'detail-state', text: t.state })],
        ['Priority', h('span', { class: `prio prio-${t.priority}`, text: t.priority })],
        ['Category', CATEGORY_LABEL[t.category] || t.category],
        [side === 'outgoing' ? 'To' : 'From', `${agencyName(other)} (${app.agencies.get(other)?.phone || ''})`],
        ['Incident numbers', nums || '—'],
        ['Created', dateTime(t.created_at)],
        ['Limit', due],
        ['Ask', b.ask || ''],
        ['Location', [loc.address, loc.postcode, loc.wgs84 && `${loc.wgs84.lat}, ${loc.wgs84.lon}`, loc.osgr && `E ${loc.osgr.easting} N ${loc.osgr.northing}`].filter(Boolean).join(' · ')],
        ['Incident', `${b.methane?.type_of_incident?.code || ''} ${b.methane?.type_of_incident?.text || ''}`],
        ['Hazards', (b.methane?.hazards || []).map((x) => `${x.hazard} (${x.status})`).join('; ') || '—'],
        ['Required', (b.methane?.emergency_services?.required || []).join('; ') || '—'],
        ['Contact', b.contact ? [b.contact.name, b.contact.role, b.contact.phone].filter(Boolean).join(', ') : '—'],
      ].flatMap(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
    const timeline = h('ol', { class: 'timeline', id: 'timeline' },
      (t.timeline || []).map((e) => h('li', { 'data-kind': e.kind },
        h('span', { class: 'when', text: dateTime(e.at) }), ' ',
        h('span', { class: 'kind', text: e.kind }), ' ',
        e.to_state ? `→ ${e.to_state} ` : '',
        h('span', { text: `by ${agencyName(e.actor)}${e.detail?.user ? ` (${e.detail.user})` : ''} ` }),
        e.detail?.via ? h('span', { class: 'via', text: `via ${e.detail.via}` }) : '',
        e.detail?.reason || e.detail?.text ? h('div', { class: 'muted', text: [e.detail.reason, e.detail.text].filter(Boolean).join(': ') }) : '')));
    clear(wrap).append(
      h('h1', {}, h('span', { class: 'tid', text: t.transfer_id }), ` ${b.summary || ''}`),
      h('div', { class: 'detail' },
        h('section', {}, actions, open ? actionForm(open) : '', facts),
        h('section', {}, h('h2', { text: 'Timeline' }), timeline)));
    if (open) wrap.querySelector('.action-form input, .action-form select, .action-form textarea')?.focus();
  }

  function onEvent(ev) {
    if (ev?.transfer_id === id && !open) load();
    else if (ev?.transfer_id === id && ev.transfer) {
      upsertTransfer(ev.transfer);
      t = { ...t, ...ev.transfer, incident_numbers: t.incident_numbers };
    }
  }

  function onKey(e) {
    if (!t) return;
    if (e.key === 'Escape' && open) { open = null; draw(); return; }
    const k = Object.entries(KEY).find(([, key]) => key === e.key)?.[0];
    if (k && legalActions(t, me()).includes(k)) {
      e.preventDefault();
      open = k;
      draw();
    }
  }

  function tick() {
    const due = wrap.querySelector('#detail-due');
    if (due && t) paintDue(due, t);
  }

  load();
  return { onEvent, onKey, tick };
}
