// Shared pieces of the pages: labelled fields, error summaries, badges.
import { h, newId, replace } from './dom.js';
import { t } from './i18n.js';
import { ApiError, currentUser } from './api.js';

/** A labelled input: returns {wrap, input}. `hint` is read with it. */
export function field(label, input, hint) {
  const id = input.id || newId('f');
  input.id = id;
  const parts = [h('label', { for: id }, label)];
  if (hint) {
    const hid = newId('hint');
    input.setAttribute('aria-describedby', hid);
    parts.push(h('span.hint', { id: hid }, hint));
  }
  parts.push(input);
  return { wrap: h('div.field', parts), input };
}

/** The message to show for an error, in the reader's language. */
export function problemText(err) {
  if (!(err instanceof ApiError)) return t('error.network');
  const byStatus = {
    400: 'error.400', 401: 'error.401', 403: 'error.403', 404: 'error.404', 409: 'error.409',
    413: 'error.413', 422: 'error.422', 429: 'error.429', 503: 'error.503',
  };
  const base = t(byStatus[err.status] || 'error.other', { status: err.status });
  // The server's own detail is plain text; it is shown as text, never markup.
  return err.problem?.detail ? `${base} ${err.problem.detail}` : base;
}

/** An alert box (role=alert) that a form fills on error. */
export function alertBox() {
  return h('div.alert', { role: 'alert', hidden: true });
}

export function showError(box, err) {
  box.hidden = false;
  const items = (err?.errors || []).map((e) => h('li', `${e.field}: ${e.message}`));
  replace(box, h('p', problemText(err)), items.length ? h('ul', items) : null);
}

export function showMessage(box, text) {
  box.hidden = false;
  replace(box, h('p', text));
}

export function clearBox(box) {
  box.hidden = true;
  replace(box);
}

/** Marks inputs named in a 422 problem as invalid. */
export function markFields(form, err) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const e of err?.errors || []) {
    const el = form.querySelector(`[name="${CSS.escape(e.field)}"]`);
    if (el) el.setAttribute('aria-invalid', 'true');
  }
}

export function stateBadge(state) {
  return h(`span.badge.state-${state}`, t(`state.${state}`));
}

export function loading(main) {
  replace(main, h('h1', t('common.loading')));
}

export function failed(main, err) {
  const user = currentUser();
  // With auth.require_mfa_for_staff (API v2), an admin or auditor without
  // two-step sign-in reaches only their account until they enrol.
  const mustEnrol = err instanceof ApiError && err.status === 403 && user?.mfa === false
    && (user.roles.includes('admin') || user.roles.includes('auditor'));
  replace(main,
    h('h1', t('common.error')),
    h('p.alert', { role: 'alert' }, problemText(err)),
    mustEnrol ? h('p', t('account.enrol_first'), ' ', h('a', { href: '#/account' }, t('account.title'))) : null,
    h('p', h('a', { href: '#/' }, t('nav.home'))));
}

/** A button that runs `fn` once at a time: a double click does nothing more. */
export function actionButton(label, fn, cls = '') {
  const b = h(`button${cls ? `.${cls}` : ''}`, { type: 'button' }, label);
  b.addEventListener('click', async () => {
    if (b.disabled) return;
    b.disabled = true;
    b.setAttribute('aria-busy', 'true');
    try { await fn(b); } finally { b.disabled = false; b.removeAttribute('aria-busy'); }
  });
  return b;
}
