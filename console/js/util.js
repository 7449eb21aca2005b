// Small DOM and formatting helpers shared by every screen. Elements are built with h() so that
// text is always set as text (never parsed as HTML) and no inline style attribute is ever needed.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// crypto.randomUUID exists only in secure contexts; a console on plain http on a LAN address is
// not one, so fall back to building a version 4 UUID from getRandomValues (available everywhere).
export function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export const nowIso = () => new Date().toISOString();

export function two(n) {
  return String(n).padStart(2, '0');
}

// "4:07" or "1:02:09"; the caller adds the sign.
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return hh ? `${hh}:${two(mm)}:${two(s % 60)}` : `${mm}:${two(s % 60)}`;
}

// Age as an operator says it: "45s", "12m", "3h 05m", "2d".
export function age(iso, now = Date.now()) {
  if (!iso) return '';
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d`;
}

export function timeOfDay(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function dateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${two(d.getDate())}/${two(d.getMonth() + 1)} ${timeOfDay(iso)}`;
}

export const TERMINAL = new Set(['declined', 'cancelled', 'closed', 'expired', 'redirected']);

// Which limit the transfer is running against now: delivery until delivered, then decision.
export function dueOf(t) {
  if (TERMINAL.has(t.state) || t.state === 'accepted') return null;
  if (t.state === 'submitted') return t.delivery_due ? { what: 'delivery', at: t.delivery_due } : null;
  return t.decision_due ? { what: 'decision', at: t.decision_due } : null;
}

// Fills a countdown element; its width never changes (tabular digits), so rows do not jump.
export function paintDue(el, t, now = Date.now()) {
  const due = dueOf(t);
  el.classList.remove('due-over', 'due-soon');
  if (!due) {
    el.textContent = '';
    el.removeAttribute('title');
    return;
  }
  const left = (Date.parse(due.at) - now) / 1000;
  el.textContent = left < 0 ? `-${clock(-left)}` : clock(left);
  el.title = `${due.what} limit ${timeOfDay(due.at)}`;
  if (left < 0) el.classList.add('due-over');
  else if (left < 60) el.classList.add('due-soon');
}

export const CATEGORIES = [
  'police.traffic_management',
  'police.scene_security',
  'police.violence_threat',
  'fire.forced_entry',
  'fire.missing_person_search',
  'fire.vehicle_removal_srn',
  'fire.hazardous_materials',
  'fire.rescue',
  'ambulance.casualty_care',
  'info.address_risk',
  'notification',
];

export const CATEGORY_LABEL = {
  'police.traffic_management': 'Police: traffic management',
  'police.scene_security': 'Police: scene security',
  'police.violence_threat': 'Police: violence or threat',
  'fire.forced_entry': 'Fire: forced entry',
  'fire.missing_person_search': 'Fire: missing person search',
  'fire.vehicle_removal_srn': 'Fire: vehicle removal (SRN)',
  'fire.hazardous_materials': 'Fire: hazardous materials',
  'fire.rescue': 'Fire: rescue',
  'ambulance.casualty_care': 'Ambulance: casualty care',
  'info.address_risk': 'Info: address risk',
  notification: 'Notification',
};

export const STATES = ['submitted', 'delivered', 'received', 'accepted', 'deferred', 'declined',
  'cancelled', 'closed', 'expired', 'redirected'];
