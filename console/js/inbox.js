// Inbox: incoming and outgoing transfers, newest first, in fixed-height rows. Rows are reused
// and only new ones are inserted, so a row that has focus is never moved or re-created, and the
// list is scrolled by exactly the height of anything inserted above it: nothing jumps.
import { app, agencyName } from './app.js';
import { h, clear, age, paintDue, CATEGORIES, CATEGORY_LABEL, STATES, TERMINAL } from './util.js';

const saved = { state: 'all', category: '', priority: '' };

function matches(t) {
  if (saved.state === 'open' && TERMINAL.has(t.state)) return false;
  if (saved.state !== 'all' && saved.state !== 'open' && t.state !== saved.state) return false;
  if (saved.category && t.category !== saved.category) return false;
  if (saved.priority && t.priority !== saved.priority) return false;
  return true;
}

function select(id, label, options, value, onChange) {
  const s = h('select', { id, onchange: (e) => onChange(e.target.value) },
    options.map(([v, text]) => h('option', { value: v, text, selected: v === value })));
  return h('div', {}, h('label', { for: id, text: label }), s);
}

export function renderInbox(main) {
  const rows = new Map(); // transfer_id -> row element (reused across updates)
  const lists = {};
  const counts = {};
  const box = (dir, title) => {
    lists[dir] = h('ul', { class: 'list', id: `list-${dir}`, 'aria-label': title });
    counts[dir] = h('span', { class: 'muted' });
    return h('section', { class: 'list-box', 'data-direction': dir },
      h('h2', {}, h('span', { text: title }), counts[dir]),
      h('div', { class: 'list-head', 'aria-hidden': 'true' },
        ...['Priority', 'Transfer', 'Category / summary', dir === 'incoming' ? 'From' : 'To', 'State', 'Age', 'Limit']
          .map((c) => h('span', { text: c }))),
      lists[dir]);
  };
  const filters = h('div', { class: 'filters', role: 'search' },
    select('f-state', 'State', [['all', 'All'], ['open', 'Open only'], ...STATES.map((s) => [s, s])], saved.state,
      (v) => { saved.state = v; update(); }),
    select('f-category', 'Category', [['', 'All categories'], ...CATEGORIES.map((c) => [c, CATEGORY_LABEL[c]])],
      saved.category, (v) => { saved.category = v; update(); }),
    select('f-priority', 'Priority', [['', 'All'], ['emergency', 'Emergency'], ['urgent', 'Urgent'], ['routine', 'Routine']],
      saved.priority, (v) => { saved.priority = v; update(); }),
    h('p', { class: 'muted', text: '↑/↓ or j/k move, Enter opens' }));
  main.append(h('div', { class: 'inbox' }, filters, box('incoming', 'Incoming'), box('outgoing', 'Outgoing')));

  function fill(el, t) {
    const other = t.direction === 'incoming' ? t.from : t.to;
    el.href = `#/transfer/${encodeURIComponent(t.transfer_id)}`;
    el.dataset.transferId = t.transfer_id;
    el.dataset.state = t.state;
    el.dataset.priority = t.priority;
    el.setAttribute('aria-label',
      `${t.priority} ${CATEGORY_LABEL[t.category] || t.category} ${t.direction === 'incoming' ? 'from' : 'to'} ${agencyName(other)}, ${t.state}, ${t.summary || ''}`);
    clear(el).append(
      h('span', { class: `prio prio-${t.priority}`, text: t.priority }),
      h('span', { class: 'tid', text: t.transfer_id }),
      h('span', {}, h('strong', { text: CATEGORY_LABEL[t.category] || t.category }), h('span', { class: 'muted', text: ` ${t.summary || ''}` })),
      h('span', { text: agencyName(other) }),
      h('span', { class: `state state-${t.state}`, text: t.state }),
      h('span', { class: 'num age', text: age(t.created_at) }),
      h('span', { class: 'num due' }));
    paintDue(el.querySelector('.due'), t);
    if (t.mode && t.mode !== 'live') el.querySelector('.tid').append(` (${t.mode})`);
  }

  function update() {
    for (const dir of ['incoming', 'outgoing']) {
      const list = lists[dir];
      const want = [...app.transfers.values()]
        .filter((t) => t.direction === dir && matches(t))
        .sort((a, b) => (b.created_at || '').localeCompare(a.created_at || '') || b.transfer_id.localeCompare(a.transfer_id));
      // Anchor: the focused row, or the first visible one, must stay where the operator sees it.
      const focused = list.contains(document.activeElement) ? document.activeElement : null;
      const anchor = focused || (list.scrollTop > 0 ? [...list.children].find((c) => c.offsetTop >= list.scrollTop) : null);
      const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
      const keep = new Set(want.map((t) => t.transfer_id));
      for (const li of [...list.children]) if (!keep.has(li.dataset.id)) li.remove();
      want.forEach((t, i) => {
        let li = rows.get(t.transfer_id);
        if (!li) {
          li = h('li', { 'data-id': t.transfer_id }, h('a', { class: 'row' }));
          rows.set(t.transfer_id, li);
        }
        const a = li.firstChild;
        fill(a, t);
        if (app.fresh.has(t.transfer_id)) {
          app.fresh.delete(t.transfer_id);
          a.classList.add('fresh');
        }
        if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
      });
      if (!want.length && !list.querySelector('.empty')) list.append(h('li', { class: 'empty', text: 'Nothing here.' }));
      else if (want.length) list.querySelector('.empty')?.remove();
      if (anchor && anchor.isConnected) list.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
      counts[dir].textContent = `${want.length} shown`;
    }
  }

  function tick() {
    const now = Date.now();
    for (const li of rows.values()) {
      if (!li.isConnected) continue;
      const t = app.transfers.get(li.dataset.id);
      if (!t) continue;
      li.querySelector('.age').textContent = age(t.created_at, now);
      paintDue(li.querySelector('.due'), t, now);
    }
  }

  function onKey(e) {
    const down = e.key === 'ArrowDown' || e.key === 'j';
    const up = e.key === 'ArrowUp' || e.key === 'k';
    if (!down && !up) return;
    e.preventDefault();
    const all = [...main.querySelectorAll('a.row')];
    const i = all.indexOf(document.activeElement);
    const next = i < 0 ? all[0] : all[Math.max(0, Math.min(all.length - 1, i + (down ? 1 : -1)))];
    next?.focus();
    next?.scrollIntoView({ block: 'nearest' });
  }

  update();
  return { onEvent: update, tick, onKey };
}
