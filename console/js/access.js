// Access log: the personal-data access log (DPA 2018 s.62, GET /api/v1/access-log) for
// supervisors (their own agency's entries) and admins (every agency's): who read a transfer, what
// a user read, to whom a message was disclosed. Filtered, paged (newest first) and exported as
// CSV; every look at the log is itself logged by the gateway. docs/data-protection.md.
import * as api from './api.js';
import { app, agencyName } from './app.js';
import { h, clear } from './util.js';

const OPERATIONS = ['collect', 'alter', 'consult', 'disclose', 'combine', 'erase'];
const OP_LABEL = { collect: 'Collected', alter: 'Altered', consult: 'Read', disclose: 'Disclosed', combine: 'Combined', erase: 'Erased' };
const OBJECT_LABEL = {
  transfer: 'transfer detail', transfer_list: 'transfer list', message: 'message', original: 'original document',
  call: 'phone call', call_list: 'call list', access_log: 'access log', subject_search: 'subject access search',
};
const KIND_LABEL = { user: 'console user', integration: 'integration', cli: 'command line', gateway: 'gateway' };

// A datetime-local value (the operator's local time) as RFC 3339 UTC; '' when empty.
const utc = (local) => (local ? new Date(local).toISOString() : '');
const fullTime = (iso) => new Date(iso).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });

export function renderAccess(main, transferArg = '') {
  const admin = app.session.user.role === 'admin';
  const transferIn = h('input', { id: 'a-transfer', name: 'transfer', maxlength: 128, autocomplete: 'off', placeholder: 'T-20261207-000041', value: transferArg });
  const userIn = h('input', { id: 'a-user', name: 'user', maxlength: 128, autocomplete: 'off', placeholder: 'kim.hall' });
  const opSel = h('select', { id: 'a-operation', name: 'operation' },
    h('option', { value: '', text: 'Any' }), OPERATIONS.map((o) => h('option', { value: o, text: OP_LABEL[o] })));
  const sinceIn = h('input', { type: 'datetime-local', id: 'a-since', name: 'since' });
  const untilIn = h('input', { type: 'datetime-local', id: 'a-until', name: 'until' });
  const agencySel = h('select', { id: 'a-agency', name: 'agency' },
    h('option', { value: '', text: 'Every agency' }),
    [...app.agencies.values()].map((a) => h('option', { value: a.id, text: a.name })));
  const status = h('p', { class: 'muted', role: 'status', id: 'a-status' });
  const csv = h('a', { class: 'btn ghost', id: 'a-csv', text: 'Download CSV' });
  const form = h('form', { id: 'access-form', class: 'report-form' },
    h('div', {}, h('label', { for: 'a-transfer', text: 'Transfer' }), transferIn),
    h('div', {}, h('label', { for: 'a-user', text: 'User' }), userIn),
    h('div', {}, h('label', { for: 'a-operation', text: 'Operation' }), opSel),
    h('div', {}, h('label', { for: 'a-since', text: 'From' }), sinceIn),
    h('div', {}, h('label', { for: 'a-until', text: 'Before' }), untilIn),
    admin ? h('div', {}, h('label', { for: 'a-agency', text: 'Agency' }), agencySel) : null,
    h('button', { type: 'submit', class: 'btn good', id: 'a-show', text: 'Show' }),
    csv);
  const tbody = h('tbody', { id: 'access-body' });
  const more = h('button', { type: 'button', class: 'btn ghost', id: 'a-more', text: 'Show older entries', hidden: true });
  main.append(
    h('h1', { text: admin ? 'Access log' : `Access log · ${agencyName(app.session.user.agency)}` }),
    h('p', { class: 'muted', text: admin
      ? 'Who collected, read, changed or disclosed personal data, for every agency (Data Protection Act 2018 s.62). Your own look at the log is recorded too.'
      : 'Who in your agency collected, read, changed or disclosed personal data (Data Protection Act 2018 s.62). Your own look at the log is recorded too.' }),
    form, status,
    h('table', { class: 'grid', id: 'access-table' },
      h('thead', {}, h('tr', {}, ['When', 'Operation', 'What', 'Who', 'Agency', 'Via', 'Sent to', 'Why'].map((c) => h('th', { text: c })))),
      tbody),
    more);

  const query = (before) => {
    const q = new URLSearchParams();
    const put = (k, v) => { if (v) q.set(k, v); };
    put('transfer', transferIn.value.trim());
    put('user', userIn.value.trim());
    put('operation', opSel.value);
    put('since', utc(sinceIn.value));
    put('until', utc(untilIn.value));
    if (admin) put('agency', agencySel.value);
    if (before) q.set('before', String(before));
    q.set('limit', '200');
    return q;
  };
  const syncCsv = () => {
    const q = query();
    q.set('limit', '10000');
    q.set('format', 'csv');
    csv.href = `/api/v1/access-log?${q}`;
  };

  const what = (e) => {
    const parts = [h('span', { text: OBJECT_LABEL[e.object] || e.object })];
    if (e.transfer_id) {
      parts.push(' ');
      parts.push(admin ? h('code', { text: e.transfer_id })
        : h('a', { href: `#/transfer/${encodeURIComponent(e.transfer_id)}`, text: e.transfer_id }));
    }
    if (e.ref && e.object !== 'transfer' && e.object !== 'transfer_list') parts.push(h('div', { class: 'muted small', text: e.ref }));
    return parts;
  };
  const row = (e) => h('tr', { 'data-seq': e.seq, 'data-operation': e.operation },
    h('td', { text: fullTime(e.at) }),
    h('td', { text: OP_LABEL[e.operation] || e.operation }),
    h('td', {}, ...what(e)),
    h('td', {}, h('strong', { text: e.actor }), h('div', { class: 'muted small', text: KIND_LABEL[e.actor_kind] || e.actor_kind })),
    h('td', { text: e.agency ? agencyName(e.agency) : '—' }),
    h('td', { text: e.channel }),
    h('td', { text: e.recipients ? e.recipients.split(',').map(agencyName).join(', ') : '' }),
    h('td', { text: e.justification || '' }));

  let next = null;
  async function load(append) {
    status.textContent = 'Loading…';
    more.hidden = true;
    try {
      const data = await api.get(`/api/v1/access-log?${query(append ? next : 0)}`);
      if (!append) clear(tbody);
      tbody.append(...data.entries.map(row));
      next = data.next_before;
      more.hidden = !next;
      const n = tbody.children.length;
      status.textContent = n === 0 ? 'No entries match.' : `${n} ${n === 1 ? 'entry' : 'entries'}${next ? ', newest first; older ones below' : ', newest first'}.`;
    } catch (err) {
      if (err.status !== 401) status.textContent = `The access log could not be read: ${err.message}`;
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    syncCsv();
    load(false);
  });
  form.addEventListener('input', syncCsv);
  more.addEventListener('click', () => load(true));
  syncCsv();
  load(false);
  return {};
}
