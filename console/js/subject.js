// Subject access: an agency's data-protection officer (or an admin, naming the agency) finds what
// Bluelink holds about one person (POST /api/v1/subject-access/search): names, phone numbers,
// dates of birth and free text, over a period. Each transfer and call found shows where it
// mentions the person. The officer unticks what is not about them, lists third parties' phrases
// to redact, and exports the rest (POST /api/v1/subject-access/export) as JSON or as a printable
// report. The search, what it shows and what is exported are in the access log under the
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
  const report = h('section', { id: 's-report', class: 'report subject-report', hidden: true });
  let lastQuery = null;

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
    form, status, results, report);

  const place = (p) => h('li', {},
    h('span', { class: 'muted small', text: `${KIND_LABEL[p.kind] || p.kind} · ${p.source} ${p.pointer}` }),
    h('div', { class: 'excerpt', text: p.excerpt }));

  const show = (data) => {
    const transfers = h('table', { class: 'grid', id: 's-transfers' },
      h('thead', {}, h('tr', {}, ['Transfer', 'Between', 'Category', 'State', 'Last activity', 'Where it mentions them'].map((c) => h('th', { text: c })))),
      h('tbody', {}, ...data.transfers.map((t) => h('tr', { 'data-transfer': t.transfer_id },
        h('td', {}, h('input', { type: 'checkbox', class: 's-keep', checked: true, 'aria-label': `Export ${t.transfer_id}` }), ' ',
          h('a', { href: `#/transfer/${encodeURIComponent(t.transfer_id)}`, text: t.transfer_id }),
          t.purged ? h('div', { class: 'muted small', text: 'content purged' }) : ''),
        h('td', { text: `${agencyName(t.requester)} → ${agencyName(t.responder)}` }),
        h('td', { text: t.category }),
        h('td', { text: t.state }),
        h('td', { text: fullTime(t.updated_at) }),
        h('td', {}, h('ul', { class: 'places' }, ...t.places.map(place)))))));
    const calls = h('table', { class: 'grid', id: 's-calls' },
      h('thead', {}, h('tr', {}, ['Call', 'Between', 'Started', 'Where it mentions them'].map((c) => h('th', { text: c })))),
      h('tbody', {}, ...data.calls.map((c) => h('tr', { 'data-call': c.call_id },
        h('td', {}, h('input', { type: 'checkbox', class: 's-keep', checked: true, 'aria-label': `Export call ${c.call_id}` }), ` ${c.call_id}`),
        h('td', { text: `${agencyName(c.from_agency)} → ${agencyName(c.to_agency)}` }),
        h('td', { text: fullTime(c.started_at) }),
        h('td', {}, h('ul', { class: 'places' }, ...c.places.map(place)))))));
    const redactIn = h('textarea', { id: 's-redact', rows: 3, maxlength: 10000, placeholder: 'One per line: a third party\'s name, number or address' });
    const exportStatus = h('p', { class: 'muted', role: 'status', id: 's-export-status' });
    const exportJson = h('button', { type: 'button', class: 'btn good', id: 's-export', text: 'Export JSON' });
    const printable = h('button', { type: 'button', class: 'btn ghost', id: 's-print', text: 'Printable report' });
    const found = data.transfers.length + data.calls.length;
    clear(results).append(
      h('h2', { text: `Transfers (${data.transfers.length})` }), data.transfers.length ? transfers : h('p', { class: 'muted', text: 'None.' }),
      h('h2', { text: `Phone calls (${data.calls.length})` }), data.calls.length ? calls : h('p', { class: 'muted', text: 'None.' }),
      found ? h('div', { class: 'subject-export no-print' },
        h('h2', { text: 'Export for the answer' }),
        h('p', { class: 'muted', text: 'Untick what is not about the person. Phrases listed here (other people\'s names, numbers, addresses) are replaced by [redacted] wherever they appear.' }),
        h('label', { for: 's-redact', text: 'Redact' }), redactIn,
        h('div', { class: 'actions' }, exportJson, printable), exportStatus) : '');

    const unticked = (sel, key) => [...results.querySelectorAll(`${sel} tr`)]
      .filter((tr) => tr.querySelector('.s-keep') && !tr.querySelector('.s-keep').checked).map((tr) => tr.dataset[key]);
    const fetchExport = async () => {
      const body = { ...lastQuery };
      body.exclude = { transfers: unticked('#s-transfers tbody', 'transfer'), calls: unticked('#s-calls tbody', 'call').map(Number) };
      body.redact = redactIn.value.split('\n').map((l) => l.trim()).filter((l) => l.length >= 2);
      exportStatus.textContent = 'Exporting…';
      const x = await api.post('/api/v1/subject-access/export', body);
      exportStatus.textContent = `${x.transfers.length} transfers and ${x.calls.length} calls exported, ${x.redacted_phrases} phrases redacted; recorded in the access log as disclosed to the data subject.`;
      return x;
    };
    const failed = (err) => { if (err.status !== 401) exportStatus.textContent = `The export failed: ${err.message}`; };
    exportJson.addEventListener('click', async () => {
      try {
        const x = await fetchExport();
        const a = h('a', { href: URL.createObjectURL(new Blob([JSON.stringify(x, null, 2)], { type: 'application/json' })), download: `${x.reference}-${x.agency}.json` });
        document.body.append(a);
        a.click();
        a.remove();
      } catch (err) { failed(err); }
    });
    printable.addEventListener('click', async () => {
      try {
        const x = await fetchExport();
        clear(report).append(...reportOf(x));
        report.hidden = false;
        report.scrollIntoView();
      } catch (err) { failed(err); }
    });
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
    lastQuery = body;
    report.hidden = true;
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

// Every string of a stored document, as "field: value" lines (the report shows all that is held).
function fieldsOf(v, path = '') {
  if (v === null || v === undefined) return [];
  if (typeof v !== 'object') return [[path || '/', String(v)]];
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
  return entries.flatMap(([k, x]) => fieldsOf(x, `${path}/${k}`));
}

// The export as a printable report: what is held, where it came from, to whom it went, how long
// it is kept.
function reportOf(x) {
  const out = [
    h('div', { class: 'no-print actions' }, h('button', { type: 'button', class: 'btn good', id: 's-report-print', text: 'Print / PDF', onclick: () => window.print() })),
    h('h1', { text: `Subject access request ${x.reference}` }),
    h('p', { text: `${x.agency_name}: what is held in Bluelink about the person described by ${x.terms.map((t) => `${KIND_LABEL[t.kind] || t.kind} "${t.value}"`).join(', ')}, for ${fullTime(x.since)} to ${fullTime(x.until)}. Prepared ${fullTime(x.generated_at)}${x.generated_by ? ` by ${x.generated_by}` : ''}. ${x.redacted_phrases ? `Information about other people has been redacted (${x.redacted_phrases} ${x.redacted_phrases === 1 ? 'phrase' : 'phrases'}).` : ''}` }),
    h('p', { class: 'muted', text: x.retention_rule }),
  ];
  for (const item of x.transfers) {
    const t = item.transfer;
    out.push(h('h2', { text: `Transfer ${t.transfer_id}` }),
      h('p', { text: `${agencyName(t.from)} → ${agencyName(t.to)} · ${t.category} · ${t.state} · created ${fullTime(t.created_at)}` }),
      h('p', { class: 'muted', text: item.retention.purged_at ? `Content purged ${fullTime(item.retention.purged_at)}.`
        : item.retention.held ? 'Kept under a legal hold.' : item.retention.purge_due ? `Kept until ${fullTime(item.retention.purge_due)}.` : 'Kept until a retention period is set.' }));
    if (item.disclosed.length)
      out.push(h('p', { text: `Disclosed: ${item.disclosed.map((d) => `${fullTime(d.at)} to ${d.to.split(',').map(agencyName).join(', ')}`).join('; ')}` }));
    for (const m of t.messages || []) {
      out.push(h('h3', { text: `${m.type || 'message'} from ${agencyName(m.from || '')}${m.sent_at ? `, ${fullTime(m.sent_at)}` : ''}` }),
        h('dl', { class: 'held' }, ...fieldsOf(m.body).flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])));
    }
  }
  if (x.calls.length) {
    out.push(h('h2', { text: 'Phone calls' }));
    for (const c of x.calls)
      out.push(h('p', { text: `${fullTime(c.started_at)} ${agencyName(c.from_agency)} → ${agencyName(c.to_agency)}${c.note ? `: ${c.note}` : ''}` }));
  }
  if (!x.transfers.length && !x.calls.length) out.push(h('p', { text: 'Nothing is held about the person.' }));
  return out;
}
