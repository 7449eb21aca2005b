// An agency's own outage (issue 16): a room with no CAD link up and no console signed in on any
// gateway node for longer than its configured time is "out". The gateway says so in the live
// link status (GET /api/v1/links and the WebSocket's "links" frames: `outage` with since, for_s,
// phone and the room's fallback). Senders see it at once: on compose when they choose that room,
// and on their pending transfers to it, with a one-action redirect to the fallback (buddy) room
// (POST /api/v1/redirects).
import * as api from './api.js';
import { app, agencyName } from './app.js';
import { h } from './util.js';
import { sentence } from './failure.js';

// Sent and not yet answered: what may still be redirected.
export const PENDING = new Set(['submitted', 'delivered', 'received', 'deferred']);

/// The room's outage as the gateway last said, or null while it is not out.
export function outageOf(agency) {
  return (app.links || []).find((l) => l.agency === agency)?.outage || null;
}

function howLong(o) {
  const s = o.for_s || 0;
  return s < 60 ? 'under a minute' : `${Math.floor(s / 60)} min`;
}

/// "<Agency> has had no CAD or console connected for N min — phone <phone> or send to <buddy>".
export function outageText(agency, o) {
  const fb = o.fallback;
  const phone = o.phone ? `phone ${o.phone}` : 'phone them';
  return `${agencyName(agency)} has had no CAD or console connected for ${howLong(o)} — ${phone}`
    + (fb ? ` or send to ${fb.name}` : '');
}

/// A banner for `agency`'s outage (null while it is not out): the text, the fallback's note and
/// number, and `button` (made by the caller from the fallback) when there is a fallback.
export function outageBanner(agency, id, button) {
  const o = outageOf(agency);
  if (!o) return null;
  const fb = o.fallback;
  return h('div', { class: 'outage-banner', id, role: 'alert', 'data-agency': agency },
    h('strong', { class: 'outage-text', text: outageText(agency, o) }),
    fb?.note ? h('p', { class: 'muted', text: fb.note }) : '',
    fb?.phone ? h('p', { class: 'muted', text: `${fb.name}: ☎ ${fb.phone}` }) : '',
    fb && button ? button(fb) : '');
}

/// Redirects our pending transfer to its recipient's fallback room; resolves with the gateway's
/// answer ({transfer_id, new_transfer_id, to, already_redirected}).
export function redirect(transferId, reason) {
  const body = { transfer_id: transferId };
  if (reason) body.reason = reason;
  return api.post('/api/v1/redirects', body);
}

/// The one-action redirect of our pending transfer `transferId` to the fallback room `fb`: a button
/// (with `attrs`) and its status line, which says what happened. `after` runs once it is sent.
export function redirectControl(transferId, fb, attrs = {}, statusId = undefined, after = undefined) {
  const said = h('span', { class: 'muted', role: 'status', ...(statusId ? { id: statusId } : {}) });
  const btn = h('button', { type: 'button', class: 'btn good', ...attrs,
    onclick: async () => {
      btn.disabled = true;
      said.textContent = 'Redirecting…';
      try {
        const r = await redirect(transferId);
        said.textContent = `Sent to ${fb.name} as ${r.new_transfer_id}`;
        if (after) await after(r);
      } catch (err) {
        btn.disabled = false;
        said.textContent = `Not redirected: ${sentence(err)}`;
      }
    } }, `Redirect to ${fb.name}`);
  return [btn, said];
}
