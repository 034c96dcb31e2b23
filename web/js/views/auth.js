// Sign-in (with a second factor where the account has one) and activation
// of an invitation.
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { login, loginMfa, activate } from '../api.js';
import { go, query } from '../router.js';
import { field, alertBox, showError, clearBox, markFields } from '../ui.js';

export async function loginView(main, params) {
  const next = params?.next && params.next !== '/login' ? params.next : '/';
  const box = alertBox();
  const email = field(t('login.email'), h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true }));
  const password = field(t('login.password'), h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
  const submit = h('button.primary', { type: 'submit' }, t('login.submit'));
  const form = h('form', { novalidate: true }, box, email.wrap, password.wrap, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (submit.disabled) return;
    clearBox(box);
    submit.disabled = true;
    try {
      const r = await login(email.input.value.trim(), password.input.value);
      if (r.mfa_token) return mfaStep(main, r.mfa_token, next);
      go(next);
    } catch (err) {
      showError(box, err);
      markFields(form, err);
      box.focus();
    } finally {
      submit.disabled = false;
    }
  });
  box.tabIndex = -1;
  replace(main,
    h('h1', t('login.title')),
    form,
    h('p', h('a', { href: '#/activate' }, t('login.have_invitation'))));
}

function mfaStep(main, mfaToken, next) {
  const box = alertBox();
  box.tabIndex = -1;
  const code = field(t('mfa.code'), h('input', { type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true }), t('mfa.hint'));
  const submit = h('button.primary', { type: 'submit' }, t('mfa.submit'));
  const form = h('form', { novalidate: true }, box, code.wrap, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    try {
      await loginMfa(mfaToken, code.input.value.trim());
      go(next);
    } catch (err) {
      showError(box, err);
      box.focus();
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, h('h1', { tabindex: '-1' }, t('mfa.title')), form);
  main.querySelector('h1').focus();
}

export async function activateView(main, params) {
  const box = alertBox();
  box.tabIndex = -1;
  const token = field(t('activate.token'), h('input', { type: 'text', name: 'invitation_token', required: true, autocomplete: 'off', value: params?.token || query().get('token') || '' }));
  const pw = field(t('activate.password'), h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 12, maxlength: 128 }), t('activate.password_hint'));
  const pw2 = field(t('activate.password_again'), h('input', { type: 'password', name: 'password_again', autocomplete: 'new-password', required: true }));
  const submit = h('button.primary', { type: 'submit' }, t('activate.submit'));
  const form = h('form', { novalidate: true }, box, params?.token ? null : token.wrap, pw.wrap, pw2.wrap, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (submit.disabled) return;
    clearBox(box);
    const p = pw.input.value;
    if (p.length < 12 || p.length > 128) {
      pw.input.setAttribute('aria-invalid', 'true');
      showError(box, null);
      replace(box, h('p', t('activate.too_short')));
      box.focus();
      return;
    }
    if (p !== pw2.input.value) {
      pw2.input.setAttribute('aria-invalid', 'true');
      replace(box, h('p', t('activate.mismatch')));
      box.hidden = false;
      box.focus();
      return;
    }
    submit.disabled = true;
    try {
      await activate(token.input.value.trim(), p);
      // The token has been spent: drop it from the address bar and history.
      history.replaceState(null, '', '#/');
      go('/');
    } catch (err) {
      showError(box, err);
      markFields(form, err);
      box.focus();
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, h('h1', t('activate.title')), h('p', t('activate.intro')), form);
}
