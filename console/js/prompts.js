// Phone prompts: "Phone <room> on <number>" for a transfer that stalled, expired or was declined,
// listed in one panel under the header (never stacked over the inbox). Each prompt sounds once
// (a reconnect, a re-render or a replay after signing in does not sound it again), can be logged
// as a call in one click, and can be claimed ("I'm calling them"): the claim is stored by the
// gateway (POST /api/v1/phone-claims) and reaches every console of the room as a phone_claim
// event, so colleagues see who is phoning and do not all phone.
import * as api from './api.js';
import { app, me, agencyName } from './app.js';
import { h, clear, timeOfDay } from './util.js';
import { logCall } from './calls.js';
import { playAlertTone } from './tone.js';
import { sentence } from './failure.js';

const panel = document.getElementById('prompts');
const list = h('ul', { class: 'prompt-list', id: 'prompt-list' });
const count = h('span', { class: 'count' });
const said = h('p', { class: 'sr-only', role: 'status', id: 'prompt-said' });
panel.append(h('h2', { id: 'prompts-title' }, 'Phone prompts ', count), said, list);
panel.setAttribute('aria-labelledby', 'prompts-title');

const claims = new Map(); // prompt key -> claim {by, by_name, at}
let pendingTone = false; // a prompt raised while catching up: sounded once caught up

const DECLINE_WORDS = {
  no_resources: 'no resources available', not_our_remit: 'not their remit', duplicate: 'a duplicate request',
  insufficient_information: 'not enough information', already_attending: 'already attending', other: 'other reasons',
};
const WHY = {
  delivery_overdue: (name) => `Not yet delivered to ${name}: the delivery limit has passed.`,
  decision_overdue: (name) => `No decision yet from ${name}: the decision limit has passed.`,
  expired: (name) => `Expired without reaching ${name}.`,
  declined: (name, d) => `Declined by ${name}${d?.reason ? `: ${DECLINE_WORDS[d.reason] || d.reason}` : ''}${d?.text ? ` (${d.text})` : ''}.`,
};

const soundedKey = () => `bluelink.prompts.sounded.${app.session?.user?.username || ''}`;
function sounded() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(soundedKey()) || '[]'));
  } catch {
    return new Set();
  }
}
function markSounded(key) {
  const s = [...sounded(), key].slice(-300); // bounded: the newest prompts matter
  try {
    sessionStorage.setItem(soundedKey(), JSON.stringify(s));
  } catch {
    // storage unavailable: at worst a prompt sounds again after a reload
  }
}

function refreshCount() {
  const n = list.children.length;
  count.textContent = `(${n})`;
  panel.hidden = n === 0;
  document.body.dataset.prompts = String(n);
}

const keyOf = (transferId, prompt) => `${transferId}:${prompt}`;

function paintClaim(box) {
  const c = claims.get(box.dataset.key);
  const line = box.querySelector('.claim');
  const btn = box.querySelector('.claim-btn');
  if (!c) return;
  box.classList.add('claimed');
  box.dataset.claimedBy = c.by;
  const mine = c.by === app.session?.user?.username;
  line.textContent = `${mine ? 'You are' : `${c.by_name || c.by} is`} calling ${agencyName(box.dataset.other)}${c.at ? ` (since ${timeOfDay(c.at)})` : ''}`;
  btn?.remove();
}

/// A phone_claim event or a claim reply: mark the prompt claimed (on every console of the room).
export function applyClaim(c) {
  if (!c || c.agency !== me()) return;
  const key = keyOf(c.transfer_id, c.prompt);
  claims.set(key, { by: c.by, by_name: c.by_name, at: c.at });
  const box = list.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (box) paintClaim(box);
}

/// One phone line and a one-click "Log this call": used by prompts and by the compose screen when
/// a request cannot be sent. `note` says why the call was made.
export function phoneLine({ other, transferId, emergency, reason, note, onLogged }) {
  const phone = app.agencies.get(other)?.phone || '';
  const say = h('strong', { class: 'say-phone', text: phone ? `Phone ${agencyName(other)} on ${phone}` : `Phone ${agencyName(other)}` });
  const logBtn = h('button', { type: 'button', class: 'btn good log-btn', text: 'Log this call' });
  const done = h('span', { class: 'logged', role: 'status' });
  logBtn.addEventListener('click', async () => {
    logBtn.disabled = true;
    try {
      await logCall({ direction: 'outgoing', other_agency: other, emergency: !!emergency,
        reason: reason || 'other', transfer_id: transferId || '', note });
      done.textContent = `Call to ${agencyName(other)} logged at ${timeOfDay(new Date().toISOString())}${transferId ? ` against ${transferId}` : ''}.`;
      logBtn.remove();
      onLogged?.();
    } catch (e) {
      logBtn.disabled = false;
      done.textContent = `The call was not logged: ${sentence(e)}`;
    }
  });
  return { say, logBtn, done };
}

/// Adds a prompt unless it is already listed. `prompt`: delivery_overdue, decision_overdue,
/// expired or declined; `detail`: the event's detail (phone, text, reason).
export function showPrompt(t, prompt, detail = {}) {
  const key = keyOf(t.transfer_id, prompt);
  if (list.querySelector(`[data-key="${CSS.escape(key)}"]`)) return;
  const other = t.direction === 'incoming' ? t.from : t.to;
  const name = agencyName(other);
  const { say, logBtn, done } = phoneLine({ other, transferId: t.transfer_id, emergency: t.priority === 'emergency',
    reason: t.category, note: `Phone fallback: ${(WHY[prompt] || WHY.decision_overdue)(name, detail)}`,
    onLogged: () => box.classList.add('done') });
  if (detail.phone && !app.agencies.get(other)?.phone) say.textContent = `Phone ${name} on ${detail.phone}`;
  const claimBtn = h('button', { type: 'button', class: 'btn warn claim-btn', text: "I'm calling them" });
  const dismiss = h('button', { type: 'button', class: 'btn ghost', text: 'Dismiss', 'aria-label': `Dismiss the prompt about ${t.transfer_id}` });
  const box = h('li', { class: `prompt${t.priority === 'emergency' ? ' emergency' : ''}`, 'data-key': key,
    'data-transfer-id': t.transfer_id, 'data-prompt': prompt, 'data-other': other },
  h('div', { class: 'say' }, say,
    h('span', { class: 'sub' },
      h('a', { href: `#/transfer/${encodeURIComponent(t.transfer_id)}`, text: t.transfer_id }),
      ` ${t.priority === 'emergency' ? 'EMERGENCY · ' : ''}${(WHY[prompt] || WHY.decision_overdue)(name, detail)}`),
    h('span', { class: 'claim', role: 'status' }), done),
  claimBtn, logBtn, dismiss);
  claimBtn.addEventListener('click', async () => {
    claimBtn.disabled = true;
    try {
      const r = await api.post('/api/v1/phone-claims', { transfer_id: t.transfer_id, prompt });
      const c = r.claim;
      applyClaim({ ...c, at: c.claimed_at });
    } catch (e) {
      claimBtn.disabled = false;
      box.querySelector('.claim').textContent = `Not claimed: ${sentence(e)}`;
    }
  });
  dismiss.addEventListener('click', () => {
    box.remove();
    refreshCount();
    document.getElementById('main')?.focus();
  });
  // Newest first: the prompt just raised is the one to act on.
  list.prepend(box);
  refreshCount();
  paintClaim(box);
  said.textContent = `${say.textContent}: ${t.transfer_id}`;
  // Once per prompt: not again after a reconnect, a re-render or a replay after signing in.
  if (!sounded().has(key) && !claims.has(key)) {
    markSounded(key);
    if (app.initialSync) pendingTone = true;
    else playAlertTone();
  }
}

// A console signed in after a prompt was raised still shows it (and who claimed it): the live
// stream starts at the list's cursor, so the prompts of the room's open stalled transfers, and
// of the last half hour's declines and expiries, are read from their timelines. Bounded: the
// newest 20 such transfers.
const RESTORE_MAX = 20;
const RECENT_MS = 30 * 60 * 1000;
export async function restorePrompts() {
  const now = Date.now();
  const due = [...app.transfers.values()]
    .filter((t) => t.direction === 'outgoing' && (
      (t.phone_fallback && !['declined', 'cancelled', 'closed', 'expired', 'redirected', 'accepted'].includes(t.state))
      || (['declined', 'expired'].includes(t.state) && now - Date.parse(t.updated_at || 0) < RECENT_MS)))
    .sort((a, b) => (b.updated_at || '').localeCompare(a.updated_at || ''))
    .slice(0, RESTORE_MAX);
  for (const row of due) {
    let detail;
    try {
      detail = (await api.get(`/api/v1/transfers/${encodeURIComponent(row.transfer_id)}`)).transfer;
    } catch {
      continue; // a prompt not restored is still in the transfer's timeline and the inbox's limit
    }
    const t = app.transfers.get(row.transfer_id) || row;
    // Claims first, so that a prompt someone is already phoning about does not sound.
    for (const ev of detail?.timeline || []) {
      if (ev.kind === 'phone_claim') {
        applyClaim({ agency: ev.actor, transfer_id: t.transfer_id, prompt: ev.detail?.prompt,
          by: ev.detail?.by, by_name: ev.detail?.user, at: ev.at });
      }
    }
    for (const ev of detail?.timeline || []) {
      if (ev.kind === 'phone_fallback' && ev.detail?.alert) {
        // Only the latest alert matters while the transfer is still waiting for it.
        if (ev.detail.alert === 'delivery_overdue' && !['submitted'].includes(t.state)) continue;
        showPrompt(t, ev.detail.alert, ev.detail);
      } else if (ev.kind === 'expired' && t.state === 'expired') {
        showPrompt(t, 'expired', ev.detail || {});
      } else if (ev.kind === 'transfer.decline' && t.state === 'declined') {
        showPrompt(t, 'declined', ev.detail || {});
      }
    }
  }
}

/// Caught up after (re)connecting: one tone for the prompts raised meanwhile that nobody claimed.
export function caughtUp() {
  if (!pendingTone) return;
  pendingTone = false;
  if ([...list.children].some((b) => !b.classList.contains('claimed'))) playAlertTone();
}

export function clearPrompts() {
  clear(list);
  claims.clear();
  pendingTone = false;
  refreshCount();
}

refreshCount();
