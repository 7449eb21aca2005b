// The phone-call log. "Log call" opens a small panel with everything pre-set (outgoing,
// emergency, the other agency, a reason), so logging a call is two clicks: open, Save.
import * as api from './api.js';
import { app, me, agencyName } from './app.js';
import { h, clear, dateTime, CATEGORIES, CATEGORY_LABEL, TERMINAL } from './util.js';

export async function logCall(call) {
  const body = { ...call };
  for (const k of ['note', 'transfer_id']) if (!body[k]) delete body[k];
  const r = await api.post('/api/v1/calls', body);
  app.view?.onCall?.(r.call);
  return r.call;
}

const panel = document.getElementById('call-panel');

export function openCallPanel(pre) {
  const others = [...app.agencies.values()].filter((a) => a.id !== me());
  const linked = [...app.transfers.values()].filter((t) => !TERMINAL.has(t.state));
  const seg = (name, options, value) => h('div', { class: 'seg', role: 'radiogroup' },
    options.map(([v, label]) => h('label', {},
      h('input', { type: 'radio', name, value: v, checked: v === value }), h('span', { text: label }))));
  const other = h('select', { id: 'call-agency', name: 'other_agency' },
    others.map((a) => h('option', { value: a.id, text: `${a.name} (${a.phone || 'no number'})`, selected: a.id === pre.other_agency })));
  const reason = h('select', { id: 'call-reason', name: 'reason' },
    [...CATEGORIES.map((c) => [c, CATEGORY_LABEL[c]]), ['other', 'Other']]
      .map(([v, l]) => h('option', { value: v, text: l, selected: v === (pre.reason || 'other') })));
  const transfer = h('select', { id: 'call-transfer', name: 'transfer_id' },
    h('option', { value: '', text: 'None' }),
    linked.map((t) => h('option', { value: t.transfer_id, selected: t.transfer_id === pre.transfer_id,
      text: `${t.transfer_id} ${t.direction === 'incoming' ? 'from' : 'to'} ${agencyName(t.direction === 'incoming' ? t.from : t.to)}` })));
  if (pre.transfer_id && !linked.some((t) => t.transfer_id === pre.transfer_id))
    transfer.append(h('option', { value: pre.transfer_id, text: pre.transfer_id, selected: true }));
  const note = h('input', { id: 'call-note', name: 'note', maxlength: 500 });
  const status = h('p', { class: 'error-text', role: 'alert', id: 'call-status' });
  const save = h('button', { type: 'submit', class: 'btn good', id: 'call-save', text: 'Save' });
  const cancel = h('button', { type: 'button', class: 'btn ghost', text: 'Cancel (Esc)', onclick: () => panel.close() });
  const form = h('form', { method: 'dialog', id: 'call-form' },
    h('h2', { id: 'call-panel-title', text: 'Log a phone call' }),
    h('div', { class: 'row2' },
      h('div', {}, h('label', { text: 'Direction' }), seg('direction', [['outgoing', 'We called'], ['incoming', 'They called']], pre.direction || 'outgoing')),
      h('div', {}, h('label', { text: 'Line' }), seg('emergency', [['yes', 'Emergency'], ['no', 'Non-emergency']], pre.emergency === false ? 'no' : 'yes'))),
    h('label', { for: 'call-agency', text: 'Other control room' }), other,
    h('label', { for: 'call-reason', text: 'Reason' }), reason,
    h('label', { for: 'call-transfer', text: 'Linked transfer (optional)' }), transfer,
    h('label', { for: 'call-note', text: 'Note (optional)' }), note,
    status,
    h('div', { class: 'panel-actions' }, cancel, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    try {
      await logCall({
        direction: form.elements.direction.value,
        other_agency: other.value,
        emergency: form.elements.emergency.value === 'yes',
        reason: reason.value,
        transfer_id: transfer.value,
        note: note.value.trim(),
      });
      panel.close();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      save.disabled = false;
    }
  });
  clear(panel).append(form);
  panel.showModal();
  save.focus();
}

export function renderCalls(main) {
  const tbody = h('tbody', { id: 'calls-body' });
  const msg = h('p', { class: 'muted', role: 'status' });
  main.append(
    h('h1', {}, 'Phone calls ', h('button', { type: 'button', class: 'btn', id: 'calls-log', onclick: () => openCallPanel({}) }, 'Log call', h('kbd', { text: 'p' }))),
    msg,
    h('table', { class: 'grid', id: 'calls-table' },
      h('thead', {}, h('tr', {}, ['When', 'Direction', 'Other room', 'Line', 'Reason', 'Transfer', 'By', 'Note'].map((c) => h('th', { text: c })))),
      tbody));
  const row = (c) => {
    const outgoing = c.direction ? c.direction === 'outgoing' : c.from_agency === me();
    const otherId = c.other_agency || (outgoing ? c.to_agency : c.from_agency);
    return h('tr', { 'data-call-id': c.id },
      h('td', { text: dateTime(c.started_at || c.created_at) }),
      h('td', { text: outgoing ? 'We called' : 'They called' }),
      h('td', { text: agencyName(otherId) }),
      h('td', { text: c.emergency ? 'Emergency' : 'Non-emergency' }),
      h('td', { text: CATEGORY_LABEL[c.reason] || c.reason || '' }),
      h('td', {}, c.transfer_id ? h('a', { href: `#/transfer/${c.transfer_id}`, text: c.transfer_id }) : ''),
      h('td', { text: c.logged_by || '' }),
      h('td', { text: c.note || '' }));
  };
  async function load() {
    try {
      const data = await api.get('/api/v1/calls');
      clear(tbody).append(...(data.calls || []).map(row));
      msg.textContent = data.calls?.length ? '' : 'No calls logged yet.';
    } catch (err) {
      if (err.status !== 401) msg.textContent = `Calls could not be loaded: ${err.message}`;
    }
  }
  load();
  return { onCall: load, onEvent: (ev) => { if (ev?.kind === 'phone_call') load(); } };
}
