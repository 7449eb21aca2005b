// The console's shell: session, hash router, live events, announcements and phone prompts.
// Screens live in their own modules; each render() returns {onEvent?, onLinks?, tick?, destroy?}.
import * as api from './api.js';
import { Live } from './live.js';
import { h, clear, TERMINAL } from './util.js';
import { unlockAudio } from './tone.js';
import { showBanner, hideBanner } from './alerts.js';
import { declineReason } from './words.js';
import { renderLogin } from './login.js';
import { renderInbox } from './inbox.js';
import { renderCompose } from './compose.js';
import { renderDetail } from './detail.js';
import { renderCalls, openCallPanel } from './calls.js';
import { showPrompt, applyClaim, restorePrompts, caughtUp as promptsCaughtUp, clearPrompts } from './prompts.js';
import { hasDraft, clearDraft } from './draft.js';
import { renderLinks } from './links.js';
import { renderTeam } from './team.js';
import { renderAccess } from './access.js';
import { renderSubject } from './subject.js';
import { renderReports } from './reports.js';

export const app = {
  session: null, // GET /api/v1/session reply
  agencies: new Map(), // id -> {id, name, kind, phone}
  transfers: new Map(), // transfer_id -> list row
  links: [],
  view: null,
  live: null,
  initialSync: true,
  loginMessage: '',
  fresh: new Set(), // transfer ids that arrived live and are highlighted once
};

export const me = () => app.session?.user?.agency || '';
export const myRole = () => app.session?.user?.role || '';
// Operators and supervisors act for their agency; its data-protection officer only reads.
export const actsForAgency = () => ['operator', 'supervisor'].includes(myRole());
// The screens a role may use; the first is where it lands after signing in. Managers and admins
// act for no agency, so they have no inbox, compose or call log; an agency's data-protection
// officer reads its access log and its transfers (holds, who has read them) and acts in nothing.
const ROLE_SCREENS = {
  operator: ['inbox', 'compose', 'calls', 'links', 'transfer'],
  supervisor: ['inbox', 'compose', 'calls', 'links', 'team', 'access', 'transfer'],
  manager: ['reports', 'links'],
  admin: ['team', 'reports', 'access', 'subject', 'links'],
  dpo: ['access', 'subject', 'transfer'],
};
export const screens = () => ROLE_SCREENS[myRole()] || [];
const ROLE_LABEL = { operator: 'Operator', supervisor: 'Supervisor', manager: 'Manager', admin: 'Administrator', dpo: 'Data-protection officer' };
export const agencyName = (id) => app.agencies.get(id)?.name || id;

const main = document.getElementById('main');
const conn = document.getElementById('conn');

function setConn(status, backoff) {
  if (status === 'reconnecting' || status === 'store-error') {
    conn.hidden = false;
    conn.dataset.state = 'reconnecting';
    conn.dataset.reason = status;
    conn.textContent = status === 'store-error'
      ? `The gateway cannot read its store: live updates paused, retrying in ${Math.round(backoff / 1000)} s (a store failover may be in progress). Phone partner control rooms about anything urgent.`
      : `Reconnecting to the gateway (retry in ${Math.round(backoff / 1000)} s): live updates paused`;
  } else if (status === 'catching-up') {
    conn.dataset.state = 'catching-up';
    if (!conn.hidden) conn.textContent = 'Reconnected: catching up on missed events';
  } else {
    conn.dataset.state = 'live';
    conn.hidden = true;
  }
  document.body.dataset.conn = status;
}

export function upsertTransfer(row) {
  if (!row?.transfer_id) return;
  const old = app.transfers.get(row.transfer_id);
  // Events can arrive after a REST reload that already had a newer version; never go back.
  if (old && typeof old.version === 'number' && row.version < old.version) return;
  app.transfers.set(row.transfer_id, row);
}

export async function loadTransfers() {
  const data = await api.get('/api/v1/transfers?limit=500');
  app.transfers.clear();
  for (const t of data.transfers || []) upsertTransfer(t);
  app.listCursor = data.last_event;
  app.view?.onEvent?.(null);
}

// The emergency banner (alerts.js): an emergency request arriving, or one of ours declined.
function announce(t) {
  showBanner({ transferId: t.transfer_id, alert: 'arrival',
    lead: `EMERGENCY request from ${agencyName(t.from)}:`, text: t.summary || t.category });
}

function announceDeclined(t, ev) {
  const d = ev.detail || {};
  const phone = app.agencies.get(t.to)?.phone;
  showBanner({ transferId: t.transfer_id, alert: 'declined', persist: true,
    lead: `EMERGENCY request DECLINED by ${agencyName(t.to)}:`,
    text: `${t.summary || t.transfer_id}. ${declineReason(d.reason)}${d.text ? `: ${d.text}` : '.'}${phone ? ` Phone ${agencyName(t.to)} on ${phone}.` : ''}` });
}

function announceStalled(t, ev) {
  const phone = app.agencies.get(t.to)?.phone;
  const what = ev.detail?.alert === 'decision_overdue' ? 'not yet answered by' : 'not yet delivered to';
  showBanner({ transferId: t.transfer_id, alert: 'declined', persist: true,
    lead: `EMERGENCY request ${what} ${agencyName(t.to)}:`,
    text: `${t.summary || t.transfer_id}.${phone ? ` Phone ${agencyName(t.to)} on ${phone}.` : ''}` });
}

// A stalled, expired or declined outgoing transfer: tell the operator to phone (prompts.js).
const PROMPT_OF = { expired: () => 'expired', 'transfer.decline': () => 'declined', phone_fallback: (ev) => ev.detail?.alert };
// A decline replayed at sign-in is still worth a prompt for this long.
const DECLINE_PROMPT_MS = 30 * 60 * 1000;

// For an agency without a CAD on the link the consoles are the receiving system: the gateway
// acknowledges its deliveries once they have been shown on one of its consoles (docs/websocket.md),
// so the sender sees "delivered". The console itself acknowledges nothing.

function onEvent(ev) {
  const before = app.transfers.get(ev.transfer_id);
  if (ev.transfer) upsertTransfer(ev.transfer);
  const t = app.transfers.get(ev.transfer_id);
  const live = !app.initialSync;
  if (live && !before) app.fresh.add(ev.transfer_id);
  if (live && ev.kind === 'transfer.request' && t?.direction === 'incoming' && t.priority === 'emergency' && !before)
    announce(t);
  // A declined emergency alerts like an arrival (banner and tone); every decline, stall or
  // expiry of an outgoing request is also listed as a phone prompt (prompts.js).
  if (live && ev.kind === 'transfer.decline' && t?.direction === 'outgoing' && t.priority === 'emergency')
    announceDeclined(t, ev);
  if (live && ev.kind === 'phone_fallback' && t?.direction === 'outgoing' && t.priority === 'emergency')
    announceStalled(t, ev);
  const prompt = PROMPT_OF[ev.kind]?.(ev);
  if (prompt && t?.direction === 'outgoing') {
    // Alerts replayed at sign-in are only worth a prompt while the transfer is still open (or
    // expired); a decline, while it is recent.
    const recent = Date.now() - Date.parse(ev.at || 0) < DECLINE_PROMPT_MS;
    if (ev.kind === 'transfer.decline' ? live || recent
      : live || !TERMINAL.has(t.state) || t.state === 'expired') showPrompt(t, prompt, ev.detail || {});
  }
  if (ev.kind === 'phone_claim') {
    applyClaim({ agency: ev.actor, transfer_id: ev.transfer_id, prompt: ev.detail?.prompt,
      by: ev.detail?.by, by_name: ev.detail?.user, at: ev.at });
  }
  app.view?.onEvent?.(ev);
}

// `after`: the last_event of the transfers list just loaded (none for a user without an agency,
// or when the list could not be read: events from now on).
function startLive(after) {
  app.live?.stop();
  app.initialSync = true;
  app.live = new Live({
    status: setConn,
    event: onEvent,
    caughtUp: () => {
      app.initialSync = false;
      promptsCaughtUp();
      document.body.dataset.live = 'yes';
    },
    links: (links) => {
      app.links = links;
      app.view?.onLinks?.(links);
    },
    resync: () => loadTransfers().catch(() => {}),
    sessionEnded: () => sessionLost(),
  });
  app.live.start(after);
}

export function signedIn(session) {
  app.session = session;
  api.setCsrf(session.csrf_token);
  app.agencies = new Map((session.agencies || []).map((a) => [a.id, a]));
  const u = session.user;
  const who = document.getElementById('who');
  clear(who).append(h('strong', { text: u.agency ? agencyName(u.agency) : ROLE_LABEL[u.role] || u.role }),
    ` · ${u.display_name || u.username}${u.agency && u.role !== 'operator' ? ` (${ROLE_LABEL[u.role] || u.role})` : ''}`);
  who.title = who.textContent; // the whole of it, when the header cuts it short
  for (const el of document.querySelectorAll('#top [data-roles]'))
    el.hidden = !el.dataset.roles.split(' ').includes(u.role);
  document.getElementById('top').hidden = false;
  // The list first, then the live stream from the list's cursor: no event falls between them.
  if (u.agency) {
    loadTransfers().then(() => {
      startLive(app.listCursor);
      restorePrompts().catch(() => {});
    }, () => startLive());
  }
  else startLive();
  if (!location.hash || location.hash === '#/login') location.hash = `#/${screens()[0] || 'links'}`;
  else route();
}

// Why the sign-in screen is shown, in words (never the API's text about tokens and headers).
function endedMessage(user) {
  return hasDraft(user)
    ? 'Your session ended; sign in again. Your unsent request is kept and will be back on screen.'
    : 'Your session ended; sign in again.';
}

export function sessionLost(message) {
  if (!app.session && location.hash === '#/login') return;
  const user = app.session?.user?.username;
  app.live?.stop();
  app.session = null;
  app.transfers.clear();
  api.setCsrf('');
  app.loginMessage = message || endedMessage(user);
  document.getElementById('top').hidden = true;
  conn.hidden = true;
  clearPrompts();
  hideBanner();
  if (location.hash !== '#/login') {
    app.returnTo = location.hash;
    location.hash = '#/login';
  } else {
    route();
  }
}

function route() {
  app.view?.destroy?.();
  app.view = null;
  const hash = location.hash || '#/inbox';
  const [, name = 'inbox', arg] = hash.match(/^#\/([a-z]+)(?:\/(.+))?$/) || [];
  if (!app.session || name === 'login') {
    if (app.session && name === 'login') {
      location.hash = `#/${screens()[0] || 'links'}`;
      return;
    }
    document.getElementById('top').hidden = true;
    app.view = renderLogin(clear(main), { message: app.loginMessage, onSignedIn: (s) => {
      app.loginMessage = '';
      const back = app.returnTo;
      app.returnTo = '';
      if (back && back !== '#/login') location.hash = back;
      signedIn(s);
    } });
    document.title = 'Sign in · Bluelink';
    return;
  }
  for (const a of document.querySelectorAll('[data-nav]'))
    a.classList.toggle('active', a.dataset.nav === (name === 'transfer' ? 'inbox' : name));
  const views = {
    inbox: () => renderInbox(clear(main)),
    compose: () => renderCompose(clear(main)),
    transfer: () => renderDetail(clear(main), decodeURIComponent(arg || '')),
    calls: () => renderCalls(clear(main)),
    links: () => renderLinks(clear(main)),
    team: () => renderTeam(clear(main)),
    access: () => renderAccess(clear(main), decodeURIComponent(arg || '')),
    subject: () => renderSubject(clear(main)),
    reports: () => renderReports(clear(main)),
  };
  // A screen the role may not use (an old bookmark, say) lands on the role's own first screen.
  if (!views[name] || !screens().includes(name)) {
    location.hash = `#/${screens()[0] || 'links'}`;
    return;
  }
  app.view = views[name]();
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · Bluelink`;
  document.body.dataset.view = name;
}

function isTyping(el) {
  return el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

document.addEventListener('keydown', (e) => {
  unlockAudio();
  if (e.ctrlKey || e.metaKey || e.altKey || !app.session) return;
  if (document.getElementById('call-panel').open || isTyping(e.target)) return;
  const go = document.querySelector(`#top [data-key="${CSS.escape(e.key)}"]:not([hidden])`);
  if (go) {
    e.preventDefault();
    location.hash = go.getAttribute('href');
  } else if (e.key === 'p' && actsForAgency()) {
    e.preventDefault();
    openCallPanel({});
  } else {
    app.view?.onKey?.(e);
  }
});
document.addEventListener('pointerdown', unlockAudio);

document.getElementById('logout').addEventListener('click', async () => {
  const user = app.session?.user?.username;
  try {
    await api.del('/api/v1/session');
  } catch {
    // Signed out already, or the gateway is unreachable: either way the console forgets it.
  }
  // A deliberate sign-out on a shared control-room PC: the next person must not see the draft.
  clearDraft(user);
  sessionLost('You have signed out.');
});
document.getElementById('log-call-open').addEventListener('click', () => openCallPanel({}));

api.onSessionLost(() => sessionLost());
window.addEventListener('hashchange', route);
setInterval(() => app.view?.tick?.(), 1000);

async function boot() {
  try {
    const s = await api.get('/api/v1/session');
    signedIn(s);
  } catch {
    app.loginMessage = '';
    if (location.hash !== '#/login') app.returnTo = location.hash;
    route();
  }
}
boot();
