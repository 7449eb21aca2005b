// Sign-in screen. The gateway sets an HttpOnly session cookie; the reply carries the anti-forgery
// token that every later POST/DELETE must send.
import * as api from './api.js';
import { h } from './util.js';
import { explain } from './failure.js';

export function renderLogin(main, { message, onSignedIn }) {
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('p', { class: message ? 'notice' : '', id: 'login-message', role: 'alert', text: message || '' });
  const btn = h('button', { type: 'submit', class: 'btn', text: 'Sign in' });
  const form = h('form', { class: 'login', id: 'login-form', novalidate: true },
    h('h1', { text: 'Bluelink console' }),
    msg,
    h('label', { for: 'login-username', text: 'Username' }), user,
    h('label', { for: 'login-password', text: 'Password' }), pass,
    btn);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!user.value || !pass.value) {
      msg.className = 'notice';
      msg.textContent = 'Enter your username and password.';
      return;
    }
    btn.disabled = true;
    try {
      const s = await api.post('/api/v1/session', { username: user.value, password: pass.value });
      pass.value = '';
      onSignedIn(s);
    } catch (err) {
      msg.className = 'notice';
      // In words, never the API's own text (which speaks of tokens and headers).
      msg.textContent = err.code === 'bl.auth.login_failed'
        ? 'Username or password not recognised.'
        : `Not signed in: ${explain(err).what}`;
      pass.select();
    } finally {
      btn.disabled = false;
    }
  });
  main.append(form);
  user.focus();
  return {};
}
