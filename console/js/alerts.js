// The emergency banner: an emergency request arriving, or the other room declining one of ours.
// It sits in the page's flow under the header, so it never covers a screen's title or headings;
// it plays the alert tone and has a Dismiss button (keyboard reachable). An arrival's banner goes
// by itself after 15 s (the inbox row stays highlighted); a decline's stays until dismissed or
// opened, because the operator now has to find the help somewhere else.
import { h, clear } from './util.js';
import { playAlertTone } from './tone.js';

const ARRIVAL_MS = 15000;
let timer = null;

export function hideBanner() {
  const box = document.getElementById('announce');
  clearTimeout(timer);
  box.hidden = true;
  clear(box);
  delete box.dataset.transferId;
  delete box.dataset.alert;
}

/// `alert`: 'arrival' or 'declined'; `lead` is read first (bold), `text` after it.
export function showBanner({ transferId, alert, lead, text, persist = false }) {
  const box = document.getElementById('announce');
  clearTimeout(timer);
  const open = h('a', { class: 'btn', id: 'announce-open', href: `#/transfer/${encodeURIComponent(transferId)}`, text: 'Open' });
  const dismiss = h('button', { type: 'button', class: 'btn ghost', id: 'announce-dismiss', text: 'Dismiss' });
  open.addEventListener('click', hideBanner);
  dismiss.addEventListener('click', hideBanner);
  clear(box).append(h('p', { class: 'say' }, h('strong', { text: lead }), ' ', text), open, dismiss);
  box.dataset.transferId = transferId;
  box.dataset.alert = alert;
  box.hidden = false;
  playAlertTone();
  if (!persist) timer = setTimeout(hideBanner, ARRIVAL_MS);
}
