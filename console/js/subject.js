// Subject access: an agency's data-protection officer (or an admin, naming the agency) finds what
// Bluelink holds about one person (POST /api/v1/subject-access/search): names, phone numbers,
// dates of birth and free text, over a period. Each transfer and call found shows where it
// mentions the person; the search and everything it shows are in the access log under the
// request's reference. docs/data-protection.md, "Subject access".
import * as api from './api.js';
import { app, agencyName } from './app.js';
import { h, clear } from './util.js';

const KINDS = [['name', 'Name'], ['phone', 'Phone number'], ['date_of_birth', 'Date of birth'], ['text', 'Other text']];
const KIND_LABEL = Object.fromEntries(KINDS);
const MAX_TERMS = 10;

const utc = (local) => (local ? new Date(local).toISOString() : '');
const fullTime = (iso) => new Date(iso).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'short' });

export function renderSubject(main) {
  const admin = app.session.user.role === 'admin';
  const refIn = h('input', { id: 's-reference', name: 'reference', required: true, minlength: 3, maxlength: 100, autocomplete: 'off', placeholder: 'SAR-2026-031' });
  const agencySel = h('select', { id: 's-agency', name: 'agency' },
    [...app.agencies.values()].map((a) => h('option', { value: a.id, text: a.name })));
  const sinceIn = h('input', { type: 'datetime-local', id: 's-since', name: 'since' });
  const untilIn = h('input', { type: 'datetime-local', id: 's-until', name: 'until' });
  const terms = h('div', { id: 's-terms', class: 'subject-terms' });
  const addTerm = h('button', { type: 'button', class: 'btn ghost', id: 's-add-term', text: 'Add a term' });
  const status = h('p', { class: 'muted', role: 'status', id: 's-status' });
  const error = h('p', { class: 'error-text', role: 'alert', id: 's-error' });
  const results = h('div', { id: 's-results' });

  const termRow = (kind = 'name', value = '') => {
    const row = h('div', { class: 'subject-term' },
      h('select', { class: 's-kind', 'aria-label': 'Kind of term' },
        KINDS.map(([k, label]) => h('option', { value: k, text: label, selected: k === kind }))),
      h('input', { class: 's-value', 'aria-label': 'Term', required: true, maxlength: 200, autocomplete: 'off', value }),
      h('button', { type: 'button', class: 'btn ghost s-remove', 'aria-label': 'Remove this term', text: '×' }));
    row.querySelector('.s-remove').addEventListener('click', () => {
      if (terms.children.length > 1) row.remove();
      addTerm.disabled = terms.children.length >= MAX_TERMS;
    });
    return row;
  };
  terms.append(termRow());
  addTerm.addEventListener('click', () => {
    if (terms.children.length < MAX_TERMS) terms.append(termRow('phone'));
    addTerm.disabled = terms.children.length >= MAX_TERMS;
  });

  const form = h('form', { id: 'subject-form', class: 'report-form subject-form' },
    h('div', {}, h('label', { for: 's-reference', text: 'Request reference' }), refIn),
    admin ? h('div', {}, h('label', { for: 's-agency', text: 'Agency' }), agencySel) : null,
    h('div', {}, h('label', { for: 's-since', text: 'From' }), sinceIn),
    h('div', {}, h('label', { for: 's-until', text: 'Before' }), untilIn),
    h('fieldset', { class: 'full' }, h('legend', { text: 'The person: any of these' }), terms, addTerm),
    h('button', { type: 'submit', class: 'btn good', id: 's-search', text: 'Search' }),
    error);

  main.append(
    h('h1', { text: admin ? 'Subject access' : `Subject access · ${agencyName(app.session.user.agency)}` }),
    h('p', { class: 'muted', text: 'Find what is held about one person in transfers and phone calls (Data Protection Act 2018 s.45, UK GDPR Art. 15). The search and everything it shows are recorded in the access log under the request\'s reference.' }),
    form, status, results);

  const place = (p) => h('li', {},
    h('span', { class: 'muted small', text: `${KIND_LABEL[p.kind] || p.kind} · ${p.source} ${p.pointer}` }),
    h('div', { class: 'excerpt', text: p.excerpt }));

  const show = (data) => {
    const transfers = h('table', { class: 'grid', id: 's-transfers' },
      h('thead', {}, h('tr', {}, ['Transfer', 'Between', 'Category', 'State', 'Last activity', 'Where it mentions them'].map((c) => h('th', { text: c })))),
      h('tbody', {}, ...data.transfers.map((t) => h('tr', { 'data-transfer': t.transfer_id },
        h('td', {}, h('a', { href: `#/transfer/${encodeURIComponent(t.transfer_id)}`, text: t.transfer_id }),
          t.purged ? h('div', { class: 'muted small', text: 'content purged' }) : ''),
        h('td', { text: `${agencyName(t.requester)} → ${agencyName(t.responder)}` }),
        h('td', { text: t.category }),
        h('td', { text: t.state }),
        h('td', { text: fullTime(t.updated_at) }),
        h('td', {}, h('ul', { class: 'places' }, ...t.places.map(place)))))));
    const calls = h('table', { class: 'grid', id: 's-calls' },
      h('thead', {}, h('tr', {}, ['Call', 'Between', 'Started', 'Where it mentions them'].map((c) => h('th', { text: c })))),
      h('tbody', {}, ...data.calls.map((c) => h('tr', { 'data-call': c.call_id },
        h('td', { text: String(c.call_id) }),
        h('td', { text: `${agencyName(c.from_agency)} → ${agencyName(c.to_agency)}` }),
        h('td', { text: fullTime(c.started_at) }),
        h('td', {}, h('ul', { class: 'places' }, ...c.places.map(place)))))));
    clear(results).append(
      h('h2', { text: `Transfers (${data.transfers.length})` }), data.transfers.length ? transfers : h('p', { class: 'muted', text: 'None.' }),
      h('h2', { text: `Phone calls (${data.calls.length})` }), data.calls.length ? calls : h('p', { class: 'muted', text: 'None.' }));
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const body = {
      reference: refIn.value.trim(),
      terms: [...terms.children].map((r) => ({ kind: r.querySelector('.s-kind').value, value: r.querySelector('.s-value').value.trim() })),
    };
    if (admin) body.agency = agencySel.value;
    if (sinceIn.value) body.since = utc(sinceIn.value);
    if (untilIn.value) body.until = utc(untilIn.value);
    const button = form.querySelector('#s-search');
    button.disabled = true;
    status.textContent = 'Searching every transfer and call of the period…';
    try {
      const data = await api.post('/api/v1/subject-access/search', body);
      show(data);
      status.textContent = `${data.read.transfers} transfers and ${data.read.calls} calls read; ${data.transfers.length} transfers and ${data.calls.length} calls mention the person.${data.truncated ? ' Stopped at 500: narrow the period or the terms.' : ''}`;
    } catch (err) {
      status.textContent = '';
      if (err.status !== 401) error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  return {};
}
