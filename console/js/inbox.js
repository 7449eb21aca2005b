// Inbox: incoming and outgoing transfers, newest first, in fixed-height rows. Rows are reused
// and only new ones are inserted. While the operator is on a list (a row has focus, the pointer
// is over a row, or the list is scrolled) the row they are on stays exactly where it was: the
// list scrolls by the height of anything inserted above it, growing a bottom margin when it has
// no room to scroll, and the heading counts the rows that arrived above. Nothing jumps.
import { app, agencyName } from './app.js';
import { h, clear, age, paintDue, dueOf, CATEGORIES, CATEGORY_LABEL, STATES, TERMINAL } from './util.js';
import { stateLabel } from './words.js';
import { PENDING, outageOf, outageBanner, redirectControl } from './outage.js';

// Open transfers by default: finished ones (closed, declined, cancelled, expired) mixed in with
// live work hide what still needs doing; "All" shows them.
const saved = { state: 'open', category: '', priority: '' };

// Stalled: still open and past its delivery or decision limit (the rows a supervisor chases).
export function stalled(t, now = Date.now()) {
  const due = dueOf(t);
  return !!due && Date.parse(due.at) < now;
}

function matches(t) {
  if (saved.state === 'open' && TERMINAL.has(t.state)) return false;
  if (saved.state === 'stalled' && !stalled(t)) return false;
  if (!['all', 'open', 'stalled'].includes(saved.state) && t.state !== saved.state) return false;
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
  const hovered = {}; // dir -> the row under the pointer
  const above = { incoming: 0, outgoing: 0 }; // rows that arrived above the operator's place
  const box = (dir, title) => {
    const list = h('ul', { class: 'list', id: `list-${dir}`, 'aria-label': title });
    lists[dir] = list;
    counts[dir] = h('span', { class: 'muted count' });
    list.addEventListener('pointerover', (e) => { hovered[dir] = e.target.closest('li[data-id]'); });
    list.addEventListener('pointerleave', () => { hovered[dir] = null; });
    list.addEventListener('scroll', () => {
      // Back at the top, the operator sees everything new: drop the spare margin and the count.
      if (list.scrollTop === 0 && above[dir]) {
        above[dir] = 0;
        list.style.paddingBottom = '';
        showCount(dir);
      }
    });
    return h('section', { class: 'list-box', 'data-direction': dir },
      h('h2', {}, h('span', { text: title }), counts[dir]),
      h('div', { class: 'list-head', 'aria-hidden': 'true' },
        ...['Priority', 'Transfer', 'Category / summary', dir === 'incoming' ? 'From' : 'To', 'State', 'Age', 'Limit']
          .map((c) => h('span', { text: c }))),
      lists[dir]);
  };
  const filters = h('div', { class: 'filters', role: 'search' },
    select('f-state', 'State', [['open', 'Open'], ['all', 'All, finished too'], ['stalled', 'Stalled (past a limit)'], ...STATES.map((s) => [s, stateLabel(s)])], saved.state,
      (v) => { saved.state = v; update(); }),
    select('f-category', 'Category', [['', 'All categories'], ...CATEGORIES.map((c) => [c, CATEGORY_LABEL[c]])],
      saved.category, (v) => { saved.category = v; update(); }),
    select('f-priority', 'Priority', [['', 'All'], ['emergency', 'Emergency'], ['urgent', 'Urgent'], ['routine', 'Routine']],
      saved.priority, (v) => { saved.priority = v; update(); }),
    h('p', { class: 'muted', text: '↑/↓ or j/k move, Home goes to the newest, Enter opens' }));
  // The screen's title, for screen readers' heading navigation (the layout has no room to show it).
  // Our pending transfers to a room that is out: one banner per room, each transfer with its
  // one-action redirect to the room's fallback.
  const outages = h('div', { class: 'outages', id: 'inbox-outages' });
  main.append(h('h1', { class: 'sr-only', text: 'Inbox' }), outages,
    h('div', { class: 'inbox' }, filters, box('incoming', 'Incoming'), box('outgoing', 'Outgoing')));

  let outagesShown = '';
  function showOutages() {
    const stuck = new Map(); // out room -> our pending transfers to it
    for (const t of app.transfers.values()) {
      if (t.direction !== 'outgoing' || !PENDING.has(t.state) || !outageOf(t.to)) continue;
      if (!stuck.has(t.to)) stuck.set(t.to, []);
      stuck.get(t.to).push(t);
    }
    const banners = [...stuck].map(([room, ts]) => outageBanner(room, `outage-${room}`, (fb) => h('ul', { class: 'outage-transfers' },
      ts.map((t) => {
        const [btn, said] = redirectControl(t.transfer_id, fb, { 'data-redirect': t.transfer_id });
        return h('li', {}, h('a', { href: `#/transfer/${encodeURIComponent(t.transfer_id)}`, text: t.transfer_id }),
          ` ${t.summary || ''} `, btn, ' ', said);
      }))));
    // Redrawn only when what it says changes, so that a click is never lost to a redraw.
    const key = banners.map((b) => b.textContent).join('|');
    if (key === outagesShown) return;
    outagesShown = key;
    clear(outages).append(...banners);
  }

  function fill(el, t) {
    const other = t.direction === 'incoming' ? t.from : t.to;
    el.href = `#/transfer/${encodeURIComponent(t.transfer_id)}`;
    el.dataset.transferId = t.transfer_id;
    el.dataset.state = t.state;
    el.dataset.priority = t.priority;
    // The row's name is what it shows, read in order (a label of its own would hide the age and
    // limit, and not match what a speech-input user sees), with "from"/"to" for screen readers.
    clear(el).append(
      h('span', { class: `prio prio-${t.priority}`, text: t.priority }),
      h('span', { class: 'tid', text: t.transfer_id }),
      h('span', { class: 'what', title: t.summary || '' },
        h('strong', { class: 'cat', text: CATEGORY_LABEL[t.category] || t.category }),
        h('span', { class: 'sum', text: t.summary || '' })),
      h('span', {}, h('span', { class: 'sr-only', text: t.direction === 'incoming' ? 'from ' : 'to ' }), agencyName(other)),
      h('span', { class: `state state-${t.state}`, text: stateLabel(t.state) }),
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
      // Anchor: the focused row, the row under the pointer, or the first visible one when the list
      // is scrolled must stay where the operator sees it.
      const focused = list.contains(document.activeElement) ? document.activeElement.closest('li') : null;
      const pointed = hovered[dir]?.isConnected ? hovered[dir] : null;
      const anchor = focused || pointed
        || (list.scrollTop > 0 ? [...list.children].find((c) => c.offsetTop >= list.scrollTop) : null);
      const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
      const anchorIndex = anchor ? [...list.children].indexOf(anchor) : -1;
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
      if (anchor && anchor.isConnected) {
        const shift = anchor.getBoundingClientRect().top - anchorTop;
        if (shift > 0) {
          // Make room to scroll by the shift if the list is too short to, then scroll.
          const pad = parseFloat(getComputedStyle(list).paddingBottom) || 0;
          const content = [...list.children].reduce((sum, c) => sum + c.offsetHeight, 0) + pad;
          const wanted = list.scrollTop + shift + list.clientHeight;
          if (content < wanted) list.style.paddingBottom = `${pad + wanted - content}px`;
          above[dir] += Math.max(0, [...list.children].indexOf(anchor) - anchorIndex);
        }
        list.scrollTop += shift;
      }
      counts[dir].dataset.total = String(want.length);
      showCount(dir);
    }
  }

  function showCount(dir) {
    const n = above[dir];
    counts[dir].textContent = `${counts[dir].dataset.total || 0} shown${n ? ` · ${n} new above ↑` : ''}`;
    counts[dir].classList.toggle('new-above', n > 0);
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
    if (e.key === 'Home') {
      e.preventDefault();
      const first = main.querySelector('a.row');
      first?.focus();
      first?.closest('ul').scrollTo({ top: 0 });
      return;
    }
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
  showOutages();
  return { onEvent: () => { update(); showOutages(); }, onLinks: showOutages, tick, onKey };
}
