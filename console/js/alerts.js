// The emergency banner: an emergency request arriving, or the other room declining one of ours.
// It sits in the page's flow under the header, so it never covers a screen's title or headings.
// Each alert is a line of its own with Open and Dismiss buttons (keyboard reachable) and plays
// the alert tone; a new alert never hides an older one. An arrival's line goes by itself after
// 15 s (the inbox row stays highlighted); a decline's stays until dismissed or opened, because
// the operator now has to find the help somewhere else. At most MAX lines are kept: beyond that
// the oldest arrival (or, failing one, the oldest line) goes first.
import { h } from './util.js';
import { playAlertTone } from './tone.js';

const ARRIVAL_MS = 15000;
const MAX = 3;

const box = () => document.getElementById('announce');

// The banner's own data attributes name its newest alert (what a glance at it shows first).
function settle() {
  const el = box();
  const items = [...el.querySelectorAll('.alert-item')];
  const newest = items[0];
  el.hidden = !newest;
  if (newest) {
    el.dataset.transferId = newest.dataset.transferId;
    el.dataset.alert = newest.dataset.alert;
  } else {
    delete el.dataset.transferId;
    delete el.dataset.alert;
  }
}

function remove(item) {
  clearTimeout(item.timer);
  item.remove();
  settle();
}

export function hideBanner() {
  for (const item of box().querySelectorAll('.alert-item')) clearTimeout(item.timer);
  box().replaceChildren();
  settle();
}

/// `alert`: 'arrival' or 'declined'; `lead` is read first (bold), `text` after it.
export function showBanner({ transferId, alert, lead, text, persist = false }) {
  const el = box();
  // The same alert again (a replayed event) replaces its line rather than adding one.
  const same = el.querySelector(`.alert-item[data-transfer-id="${CSS.escape(transferId)}"][data-alert="${CSS.escape(alert)}"]`);
  if (same) remove(same);
  const item = h('div', { class: 'alert-item', 'data-transfer-id': transferId, 'data-alert': alert });
  const open = h('a', { class: 'btn open', href: `#/transfer/${encodeURIComponent(transferId)}`, text: 'Open' });
  const dismiss = h('button', { type: 'button', class: 'btn ghost dismiss', text: 'Dismiss',
    'aria-label': `Dismiss: ${lead} ${text}` });
  open.addEventListener('click', () => remove(item));
  dismiss.addEventListener('click', () => remove(item));
  item.append(h('p', { class: 'say' }, h('strong', { text: lead }), ' ', text), open, dismiss);
  el.prepend(item);
  const items = [...el.querySelectorAll('.alert-item')];
  if (items.length > MAX) remove(items.slice(1).reverse().find((i) => i.dataset.alert === 'arrival') || items[items.length - 1]);
  if (!persist) item.timer = setTimeout(() => remove(item), ARRIVAL_MS);
  settle();
  playAlertTone();
}
