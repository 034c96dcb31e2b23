// Sign-in (with a second factor where the account has one) and activation
// of an invitation.
import { h, replace, download } from '../dom.js';
import { t } from '../i18n.js';
import { login, loginMfa, activate, logout, currentUser, put, post, del } from '../api.js';
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
      box.hidden = false;
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

// ---- my account: password and two-step sign-in -------------------------

export async function accountView(main) {
  const user = currentUser();
  const pwBox = alertBox();
  pwBox.tabIndex = -1;
  const cur = field(t('account.current'), h('input', { type: 'password', name: 'current_password', autocomplete: 'current-password' }));
  const np = field(t('activate.password'), h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password' }), t('activate.password_hint'));
  const np2 = field(t('activate.password_again'), h('input', { type: 'password', autocomplete: 'new-password' }));
  const pwForm = h('form', { novalidate: true }, pwBox, cur.wrap, np.wrap, np2.wrap, h('button.primary', { type: 'submit' }, t('account.change')));
  pwForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearBox(pwBox);
    if (np.input.value !== np2.input.value) {
      pwBox.hidden = false;
      replace(pwBox, h('p', t('activate.mismatch')));
      pwBox.focus();
      return;
    }
    try {
      await put('/me/password', { current_password: cur.input.value, new_password: np.input.value });
      // The server ends every session of the account: sign in again.
      await logout();
      go('/login');
    } catch (err) {
      showError(pwBox, err);
      markFields(pwForm, err);
      pwBox.focus();
    }
  });
  const mfa = h('div');
  replace(main,
    h('h1', t('account.title')),
    h('p', user.display_name, ' · ', user.email),
    h('section', { 'aria-labelledby': 'pw-h' }, h('h2', { id: 'pw-h' }, t('account.password_title')), pwForm),
    h('section', { 'aria-labelledby': 'mfa-h' }, h('h2', { id: 'mfa-h' }, t('account.mfa_title')), mfa));
  drawMfa(mfa, user);
}

function drawMfa(box, user) {
  const alert = alertBox();
  if (user.mfa === undefined) {
    // A server without TOTP (API v1) has no `mfa` field on users.
    replace(box, h('p', t('account.mfa_unavailable')));
    return;
  }
  if (user.mfa) {
    const code = field(t('mfa.code'), h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', name: 'code' }));
    const form = h('form', { novalidate: true }, alert, h('p', t('account.mfa_on')), code.wrap, h('button.danger', { type: 'submit' }, t('account.mfa_disable')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await del('/me/mfa/totp', { code: code.input.value.trim() });
        user.mfa = false;
        drawMfa(box, user);
      } catch (err) { showError(alert, err); }
    });
    replace(box, form);
    return;
  }
  const start = h('button.primary', { type: 'button' }, t('account.mfa_setup'));
  start.addEventListener('click', async () => {
    let setup;
    try { setup = await post('/me/mfa/totp', {}); } catch (err) { showError(alert, err); return; }
    const code = field(t('account.mfa_confirm_code'), h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', name: 'code' }));
    const form = h('form', { novalidate: true }, alert,
      h('p', t('account.mfa_scan')),
      h('p', h('a', { href: setup.otpauth_uri }, t('account.mfa_link'))),
      h('p', t('account.mfa_secret'), ' ', h('code', setup.secret.replace(/(.{4})/g, '$1 ').trim())),
      code.wrap, h('button.primary', { type: 'submit' }, t('account.mfa_confirm')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const r = await post('/me/mfa/totp/confirm', { code: code.input.value.trim() });
        user.mfa = true;
        replace(box, h('div.success', { role: 'status' }, t('account.mfa_enabled')),
          h('p', t('account.recovery')), h('ul.mono', (r.recovery_codes || []).map((c) => h('li', c))),
          h('button', { type: 'button', onclick: () => download('ballotbox-recovery-codes.txt', new Blob([(r.recovery_codes || []).join('\n')], { type: 'text/plain' })) }, t('account.recovery_download')));
      } catch (err) { showError(alert, err); }
    });
    replace(box, form);
    form.querySelector('input').focus();
  });
  replace(box, alert, h('p', t('account.mfa_off')), start);
}
