// Team: console accounts. A supervisor sees their agency's accounts and adds, disables, re-enables
// and resets the passwords of its operators; an admin does the same for every account and role.
// A generated password is shown once, in the row it belongs to, until the screen is left.
import * as api from './api.js';
import { app, agencyName } from './app.js';
import { h, clear, dateTime } from './util.js';

// The roles that belong to one agency (the gateway refuses the others with one).
const AGENCY_ROLES = ['operator', 'supervisor', 'dpo'];
const ROLE_LABEL = { operator: 'Operator', supervisor: 'Supervisor', manager: 'Manager', admin: 'Admin', dpo: 'Data-protection officer' };

export function renderTeam(main) {
  const admin = app.session.user.role === 'admin';
  const tbody = h('tbody', { id: 'team-body' });
  const msg = h('p', { class: 'muted', role: 'status', id: 'team-status' });
  const shown = new Map(); // username -> password generated in this visit

  const username = h('input', { id: 'u-username', name: 'username', required: true, minlength: 3, maxlength: 64, autocomplete: 'off' });
  const display = h('input', { id: 'u-name', name: 'display_name', required: true, maxlength: 200, autocomplete: 'off' });
  const roleSel = h('select', { id: 'u-role', name: 'role' },
    (admin ? ['operator', 'supervisor', 'dpo', 'manager', 'admin'] : ['operator'])
      .map((r) => h('option', { value: r, text: ROLE_LABEL[r] })));
  const agencySel = h('select', { id: 'u-agency', name: 'agency' },
    [...app.agencies.values()].map((a) => h('option', { value: a.id, text: a.name })));
  const formError = h('p', { class: 'error-text', role: 'alert', id: 'u-error' });
  const add = h('button', { type: 'submit', class: 'btn good', id: 'u-add', text: admin ? 'Add user' : 'Add operator' });
  const form = h('form', { id: 'team-form', class: 'team-form' },
    h('div', {}, h('label', { for: 'u-username', text: 'Username' }), username),
    h('div', {}, h('label', { for: 'u-name', text: 'Name' }), display),
    admin ? h('div', {}, h('label', { for: 'u-role', text: 'Role' }), roleSel) : null,
    admin ? h('div', { id: 'u-agency-box' }, h('label', { for: 'u-agency', text: 'Agency' }), agencySel) : null,
    h('div', { class: 'team-add' }, add),
    formError);
  const syncAgency = () => {
    const box = form.querySelector('#u-agency-box');
    if (box) box.hidden = !AGENCY_ROLES.includes(roleSel.value);
  };
  roleSel.addEventListener('change', syncAgency);
  syncAgency();

  main.append(
    h('h1', { text: admin ? 'Users' : `Team · ${agencyName(app.session.user.agency)}` }),
    h('p', { class: 'muted', text: admin
      ? 'Every console account. A new account gets a generated password, shown here once: give it to the user in person.'
      : 'Your agency\'s console accounts. You can add operators, disable or re-enable them and give them a new password (shown here once).' }),
    form, msg,
    h('table', { class: 'grid', id: 'team-table' },
      h('thead', {}, h('tr', {}, ['Username', 'Name', 'Role', 'Agency', 'Status', 'Since', 'Actions'].map((c) => h('th', { text: c })))),
      tbody));

  const mine = (u) => admin || (u.role === 'operator' && u.agency === app.session.user.agency);
  const self = (u) => u.username.toLowerCase() === app.session.user.username.toLowerCase();

  async function change(u, body, what) {
    msg.textContent = '';
    try {
      const r = await api.patch(`/api/v1/users/${encodeURIComponent(u.username)}`, body);
      if (r.password) shown.set(u.username, r.password);
      msg.textContent = `${u.username}: ${what}.`;
      await load(u.username);
    } catch (err) {
      msg.textContent = `${u.username}: ${err.message}`;
    }
  }

  // Disable and New password end the user's access at once (every session of theirs ends): each
  // asks first, in the row, naming the user and what will happen. Cancel is focused, so a stray
  // Enter changes nothing.
  const confirmIn = (actions, u, question, yes, body, what) => {
    const buttons = [...actions.children];
    const cancel = h('button', { type: 'button', class: 'btn ghost', 'data-user-action': 'cancel', text: 'Cancel' });
    const box = h('div', { class: 'confirm', role: 'group', 'aria-label': `Confirm: ${yes} for ${u.username}` },
      h('p', { text: question }),
      h('button', { type: 'button', class: 'btn danger', 'data-user-action': 'confirm', text: yes,
        onclick: () => change(u, body, what) }),
      cancel);
    cancel.addEventListener('click', () => {
      box.replaceWith(...buttons);
      buttons[0]?.focus();
    });
    actions.replaceChildren(box);
    cancel.focus();
  };

  const row = (u) => {
    const actions = h('td', { class: 'actions' });
    if (mine(u) && !self(u)) {
      actions.append(
        u.disabled
          ? h('button', { type: 'button', class: 'btn', 'data-user-action': 'enable', text: 'Enable', onclick: () => change(u, { disabled: false }, 'enabled') })
          : h('button', { type: 'button', class: 'btn danger', 'data-user-action': 'disable', text: 'Disable',
            onclick: () => confirmIn(actions, u, `Disable ${u.username} (${u.display_name})? They are signed out everywhere at once and cannot sign in until enabled again.`,
              `Disable ${u.username}`, { disabled: true }, 'disabled; their sessions have ended') }),
        h('button', { type: 'button', class: 'btn ghost', 'data-user-action': 'password', text: 'New password',
          onclick: () => confirmIn(actions, u, `Give ${u.username} (${u.display_name}) a new password? Their current password stops working and they are signed out everywhere at once.`,
            'Set new password', { new_password: true }, 'new password set; their sessions have ended') }));
    } else if (self(u)) {
      actions.append(h('span', { class: 'muted', text: 'you' }));
    }
    const pw = shown.get(u.username);
    if (pw) actions.append(h('div', { class: 'secret' }, 'Password: ', h('code', { class: 'new-password', text: pw })));
    return h('tr', { 'data-username': u.username, 'data-disabled': u.disabled ? 'yes' : 'no' },
      h('td', {}, h('strong', { text: u.username })),
      h('td', { text: u.display_name }),
      h('td', { text: ROLE_LABEL[u.role] || u.role }),
      h('td', { text: u.agency ? agencyName(u.agency) : '—' }),
      h('td', {}, h('span', { class: u.disabled ? 'down' : 'up', text: u.disabled ? 'disabled' : 'active' })),
      h('td', { text: dateTime(u.created_at) }),
      actions);
  };

  async function load(focusUser) {
    try {
      const data = await api.get('/api/v1/users');
      clear(tbody).append(...(data.users || []).map(row));
      if (focusUser) tbody.querySelector(`tr[data-username="${CSS.escape(focusUser)}"] button`)?.focus();
    } catch (err) {
      if (err.status !== 401) msg.textContent = `Accounts could not be loaded: ${err.message}`;
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    const body = { username: username.value.trim(), display_name: display.value.trim(), role: admin ? roleSel.value : 'operator' };
    if (admin && AGENCY_ROLES.includes(body.role)) body.agency = agencySel.value;
    add.disabled = true;
    try {
      const r = await api.post('/api/v1/users', body);
      shown.set(r.user.username, r.password);
      msg.textContent = `${r.user.username} added. Their password is shown in their row, once.`;
      form.reset();
      syncAgency();
      await load(r.user.username);
    } catch (err) {
      formError.textContent = err.message;
      const field = { '/username': username, '/display_name': display, '/role': roleSel, '/agency': agencySel }[err.pointer];
      field?.focus();
    } finally {
      add.disabled = false;
    }
  });

  load();
  return {};
}
