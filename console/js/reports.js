// Reports: the management savings report (GET /api/v1/reports/savings) for managers and admins:
// headline figures with the method text beside each, charts (Chart.js, vendored from npm), the
// monthly tables, the before/after comparison and what was left out. The page prints to a clean
// A4 PDF from the browser (print styles in console.css); CSV and a self-contained HTML copy are
// one click away.
import * as api from './api.js';
import { agencyName } from './app.js';
import { h, clear, CATEGORY_LABEL } from './util.js';

let loadingChart = null;
function loadChartJs() {
  if (globalThis.Chart) return Promise.resolve(globalThis.Chart);
  loadingChart ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = 'vendor/chartjs/chart.umd.min.js';
    s.onload = () => resolve(globalThis.Chart);
    s.onerror = () => reject(new Error('Chart.js could not be loaded'));
    document.head.append(s);
  });
  return loadingChart;
}

const money = (pence) => (pence === null || pence === undefined ? '—'
  : `${pence < 0 ? '−' : ''}£${(Math.abs(pence) / 100).toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
const num = (v) => (v === null || v === undefined ? '—' : Number(v).toLocaleString('en-GB', { maximumFractionDigits: 2 }));
const pct = (v) => (v === null || v === undefined ? '—' : `${v > 0 ? '+' : ''}${Number(v).toFixed(1)}%`);
const monthLabel = (ym) => {
  const [y, m] = ym.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, 1)).toLocaleString('en-GB', { month: 'short', year: 'numeric', timeZone: 'UTC' });
};
const dirLabel = (d) => `${agencyName(d.from)} → ${agencyName(d.to)}`;
const dirKey = (d) => `${d.from}>${d.to}`;

// Colours that read on the white report page and in a black-and-white print.
const COLOURS = { calls: '#1f5f99', baseline: '#c0392b', volume: '#1e7d45', substitution: '#8a5a00',
  emergency: '#b3261e', nonEmergency: '#5b6b7b', completed: '#1e7d45', fellBack: '#c0392b', other: '#9aa7b4' };

export function renderReports(main) {
  const charts = [];
  const now = new Date();
  const ym = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
  // By default the UK financial year so far: from April (of last year, before April) to this
  // month. Months still to come are not shown: with no calls yet they would look like savings.
  const fyStart = new Date(now.getMonth() >= 3 ? now.getFullYear() : now.getFullYear() - 1, 3, 1);
  const fromIn = h('input', { type: 'month', id: 'r-from', required: true, value: ym(fyStart) });
  const toIn = h('input', { type: 'month', id: 'r-to', required: true, value: ym(now) });
  const dirSel = h('select', { id: 'r-direction' }, h('option', { value: '', text: 'All directions' }));
  const status = h('p', { class: 'muted', role: 'status', id: 'r-status' });
  const csv = h('a', { class: 'btn ghost', id: 'r-csv', text: 'Download CSV' });
  const html = h('a', { class: 'btn ghost', id: 'r-html', text: 'HTML copy', target: '_blank', rel: 'noopener' });
  const print = h('button', { type: 'button', class: 'btn ghost', id: 'r-print', text: 'Print / PDF', onclick: () => window.print() });
  const form = h('form', { id: 'report-form', class: 'report-form no-print' },
    h('div', {}, h('label', { for: 'r-from', text: 'From month' }), fromIn),
    h('div', {}, h('label', { for: 'r-to', text: 'To month' }), toIn),
    h('div', {}, h('label', { for: 'r-direction', text: 'Charts for' }), dirSel),
    h('button', { type: 'submit', class: 'btn good', id: 'r-show', text: 'Show' }),
    csv, html, print);
  const paper = h('article', { class: 'report', id: 'report', 'aria-live': 'polite' });
  main.append(h('h1', { class: 'no-print', text: 'Savings report' }), form, status, paper);

  let report = null;

  function query() {
    return `from=${encodeURIComponent(fromIn.value)}&to=${encodeURIComponent(toIn.value)}`;
  }

  async function load() {
    status.textContent = 'Computing…';
    csv.href = `/api/v1/reports/savings?${query()}&format=csv`;
    html.href = `/api/v1/reports/savings?${query()}&format=html`;
    try {
      report = await api.get(`/api/v1/reports/savings?${query()}`);
      status.textContent = '';
      const dirs = new Map();
      for (const m of report.months) for (const d of m.directions) dirs.set(dirKey(d), d);
      const keep = dirSel.value;
      clear(dirSel).append(h('option', { value: '', text: 'All directions' }),
        ...[...dirs.values()].map((d) => h('option', { value: dirKey(d), text: dirLabel(d), selected: dirKey(d) === keep })));
      await draw();
    } catch (err) {
      if (err.status !== 401) {
        status.textContent = `The report could not be made: ${err.message}`;
        clear(paper);
      }
    }
  }

  // The figures of one direction (or of all) in one month.
  function pick(m) {
    if (!dirSel.value) return m.total;
    return m.directions.find((d) => dirKey(d) === dirSel.value) || null;
  }

  function card(title, value, sub, method) {
    return h('section', { class: 'card' },
      h('h3', { text: title }), h('div', { class: 'big', text: value }), sub ? h('div', { class: 'sub', text: sub }) : null,
      method ? h('p', { class: 'method', text: method }) : null);
  }

  function table(id, head, rows) {
    return h('table', { class: 'rtable', id },
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { text: c })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h(i ? 'td' : 'th', { text: c, class: i ? 'num' : '' }))))));
  }

  async function draw() {
    for (const c of charts.splice(0)) c.destroy();
    const r = report;
    const o = r.totals.overall.total;
    const s = r.settings;
    clear(paper).append(
      h('header', { class: 'report-head' },
        h('h2', { text: `Inter-control-room calls and savings, ${monthLabel(r.period.from)} to ${monthLabel(r.period.to)}` }),
        h('p', { class: 'muted', text: `Go-live ${s.go_live || 'not set'} · baseline ${s.baseline.method}${s.baseline.months?.length ? ` (${monthLabel(s.baseline.months[0])} to ${monthLabel(s.baseline.months[s.baseline.months.length - 1])})` : ''} · generated ${new Date(r.generated_at).toLocaleString('en-GB')}` })),
      // (append() writes a null as the text "null": nothing is an empty string here.)
      r.notes?.length ? h('ul', { class: 'notes', id: 'r-notes' }, r.notes.map((n) => h('li', { text: n }))) : '',
      h('div', { class: 'cards' },
        card('Calls logged', num(o.calls.total), `${num(o.calls.emergency)} emergency · ${num(o.calls.non_emergency)} non-emergency`),
        card('Electronic transfers', num(o.transfers.total), `${num(o.transfers_completed_electronically)} completed without a call · ${num(o.fell_back)} fell back to the phone`),
        h('div', { id: 'r-volume' }, card('Saved: volume method', money(o.volume.saved_pence),
          `${num(o.volume.calls_avoided)} calls avoided${o.volume.reduction_pct !== null ? `, ${Number(o.volume.reduction_pct).toFixed(1)}% below baseline` : ''}`,
          r.methods.volume.text)),
        h('div', { id: 'r-substitution' }, card('Saved: substitution method', money(o.substitution.saved_pence),
          `${num(o.substitution.calls_avoided)} calls avoided`, r.methods.substitution.text))),
      h('p', { class: 'method', text: 'Both figures are non-cashable savings: staff time freed, not money returned.' }),
      h('div', { class: 'charts' },
        h('figure', {}, h('figcaption', { text: 'Calls per month against baseline' }), h('canvas', { id: 'chart-calls' })),
        h('figure', {}, h('figcaption', { text: 'Electronic transfers per month' }), h('canvas', { id: 'chart-transfers' })),
        h('figure', {}, h('figcaption', { text: 'Calls avoided per month' }), h('canvas', { id: 'chart-avoided' })),
        h('figure', {}, h('figcaption', { text: 'Cumulative £ saved' }), h('canvas', { id: 'chart-saved' })),
        h('figure', {}, h('figcaption', { text: 'Emergency and non-emergency calls' }), h('canvas', { id: 'chart-split' }))),
      h('h3', { text: 'Month by month' + (dirSel.value ? `: ${dirSel.selectedOptions[0].text}` : ', all directions') }),
      table('r-months', ['Month', 'Calls', 'Emergency', 'Baseline', 'Avoided (volume)', 'Reduction', '£ (volume)', 'Transfers', 'Completed', 'Fell back', '£ (substitution)'],
        r.months.map((m) => {
          const d = pick(m);
          if (!d) return [monthLabel(m.month), '0', '0', '—', '—', '—', '—', '0', '0', '0', money(0)];
          return [monthLabel(m.month), num(d.calls.total), num(d.calls.emergency), num(d.baseline.calls_per_month),
            num(d.volume.calls_avoided), d.volume.reduction_pct === null ? '—' : `${Number(d.volume.reduction_pct).toFixed(1)}%`,
            money(d.volume.saved_pence), num(d.transfers.total), num(d.transfers_completed_electronically), num(d.fell_back),
            money(d.substitution.saved_pence)];
        })),
      h('h3', { text: 'By financial year' }),
      table('r-years', ['Financial year', 'Calls', 'Baseline', 'Avoided (volume)', '£ (volume)', 'Transfers', 'Avoided (substitution)', '£ (substitution)'],
        r.totals.by_financial_year.map((y) => [y.financial_year, num(y.total.calls.total), num(y.total.baseline.calls),
          num(y.total.volume.calls_avoided), money(y.total.volume.saved_pence), num(y.total.transfers.total),
          num(y.total.substitution.calls_avoided), money(y.total.substitution.saved_pence)])),
      h('h3', { text: 'By direction' }),
      table('r-directions', ['Direction', 'Calls', 'Baseline', 'Avoided (volume)', '£ (volume)', 'Transfers', 'Avoided (substitution)', '£ (substitution)'],
        r.totals.overall.by_direction.map((d) => [dirLabel(d), num(d.calls.total), num(d.baseline.calls), num(d.volume.calls_avoided),
          money(d.volume.saved_pence), num(d.transfers.total), num(d.substitution.calls_avoided), money(d.substitution.saved_pence)])),
      h('h3', { text: `Before and after go-live (${r.settings.comparison_months} months either side)` }),
      h('p', { class: 'method', text: r.methods.comparison.text }),
      r.comparison.lines.length
        ? table('r-comparison', ['Direction', 'Calls', 'Before', 'After', 'Change'],
          r.comparison.lines.map((c) => [`${agencyName(c.from)} → ${agencyName(c.to)}`,
            c.split === 'category' ? (CATEGORY_LABEL[c.category] || c.category) : { all: 'All calls', emergency: 'Emergency', non_emergency: 'Non-emergency' }[c.split] || c.split,
            num(c.before_calls), num(c.after_calls), pct(c.change_pct)]))
        : h('p', { class: 'muted', text: 'No comparison: the go-live date is not set, or no months either side are covered.' }),
      h('h3', { text: 'Left out' }),
      h('p', { class: 'method', id: 'r-excluded', text: `${r.methods.exclusions.text} This period: ${num(r.excluded.exercise_calls)} exercise calls, ${num(r.excluded.non_live_transfers)} exercise or test transfers, ${num(r.excluded.calls_from_uncounted_sources)} calls from sources not counted.` }));
    try {
      await drawCharts();
    } catch (err) {
      // The tables above carry every figure; without Chart.js the page is still complete.
      for (const f of paper.querySelectorAll('.charts figure')) f.hidden = true;
      status.textContent = `Charts are not available (${err.message}); every figure is in the tables.`;
    }
    paper.dataset.ready = 'yes';
  }

  async function drawCharts() {
    const Chart = await loadChartJs();
    Chart.defaults.animation = false;
    Chart.defaults.font.size = 13;
    Chart.defaults.color = '#1b2430';
    Chart.defaults.maintainAspectRatio = false;
    const r = report;
    const labels = r.months.map((m) => monthLabel(m.month));
    const series = (f) => r.months.map((m) => { const d = pick(m); return d ? f(d, m) : null; });
    const make = (id, type, datasets, extra = {}) => {
      const canvas = paper.querySelector(`#${id}`);
      charts.push(new Chart(canvas, { type, data: { labels, datasets }, options: { responsive: true, plugins: { legend: { position: 'bottom' } }, ...extra } }));
    };
    make('chart-calls', 'bar', [
      { type: 'bar', label: 'Calls', data: series((d) => d.calls.total), backgroundColor: COLOURS.calls },
      { type: 'line', label: 'Baseline', data: series((d) => d.baseline.calls_per_month), borderColor: COLOURS.baseline, borderDash: [6, 4], pointRadius: 0, spanGaps: false },
    ]);
    make('chart-transfers', 'bar', [
      { label: 'Completed without a call', data: series((d) => d.transfers_completed_electronically), backgroundColor: COLOURS.completed },
      { label: 'Fell back to the phone', data: series((d) => d.fell_back), backgroundColor: COLOURS.fellBack },
      { label: 'Other (open, cancelled, expired)', data: series((d) => Math.max(0, d.transfers.total - d.transfers_completed_electronically - d.fell_back)), backgroundColor: COLOURS.other },
    ], { scales: { x: { stacked: true }, y: { stacked: true } } });
    make('chart-avoided', 'line', [
      { label: 'Volume method', data: series((d) => d.volume.calls_avoided), borderColor: COLOURS.volume, backgroundColor: COLOURS.volume },
      { label: 'Substitution method', data: series((d) => d.substitution.calls_avoided), borderColor: COLOURS.substitution, backgroundColor: COLOURS.substitution },
    ]);
    // Cumulative savings are the whole service's (the report keeps them for all directions).
    make('chart-saved', 'line', [
      { label: 'Volume method (£)', data: r.months.map((m) => m.cumulative_saved_pence.volume / 100), borderColor: COLOURS.volume, backgroundColor: COLOURS.volume },
      { label: 'Substitution method (£)', data: r.months.map((m) => m.cumulative_saved_pence.substitution / 100), borderColor: COLOURS.substitution, backgroundColor: COLOURS.substitution },
    ]);
    make('chart-split', 'bar', [
      { label: 'Emergency', data: series((d) => d.calls.emergency), backgroundColor: COLOURS.emergency },
      { label: 'Non-emergency', data: series((d) => d.calls.non_emergency), backgroundColor: COLOURS.nonEmergency },
    ], { scales: { x: { stacked: true }, y: { stacked: true } } });
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (fromIn.value > toIn.value) {
      status.textContent = 'The first month must not be after the last.';
      fromIn.focus();
      return;
    }
    load();
  });
  dirSel.addEventListener('change', () => { if (report) draw(); });
  // Print at a fixed width so that the charts fit the A4 page, then back to the screen's size.
  const beforePrint = () => { for (const c of charts) c.resize(680, 260); };
  const afterPrint = () => { for (const c of charts) c.resize(); };
  window.addEventListener('beforeprint', beforePrint);
  window.addEventListener('afterprint', afterPrint);
  load();
  return {
    destroy() {
      for (const c of charts.splice(0)) c.destroy();
      window.removeEventListener('beforeprint', beforePrint);
      window.removeEventListener('afterprint', afterPrint);
    },
  };
}
