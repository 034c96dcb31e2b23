// Entry point: navigation, language switch and the route table.
import { h, replace } from './dom.js';
import { t, setLang, currentLang } from './i18n.js';
import { route, fallback, render, go, onRender, currentPath } from './router.js';
import { onSessionChange, signedIn, hasRole, currentUser, logout } from './api.js';
import { loginView, activateView, accountView } from './views/auth.js';
import { electionsView } from './views/voter.js';
import { boothView } from './views/booth.js';
import { receiptView } from './views/receipt.js';
import { usersView, electionEditView, electionAdminView } from './views/admin.js';
import { resultsView } from './views/results.js';
import { auditView } from './views/audit.js';

/** Wraps a view that needs a session: signed out, it shows the sign-in
 * page and comes back here afterwards. */
function guarded(view) {
  return async (main, params, live) => {
    if (!signedIn()) {
      await loginView(main, { next: currentPath() }, live);
      return;
    }
    await view(main, params, live);
  };
}

route('/', guarded(electionsView));
route('/login', (m, p, l) => (signedIn() ? go('/') : loginView(m, p, l)));
route('/activate', activateView);
route('/activate/:token', activateView);
route('/elections', guarded(electionsView));
route('/account', guarded(accountView));
route('/elections/:id/vote', guarded(boothView));
route('/elections/:id/receipt', guarded(receiptView));
route('/elections/:id/results', guarded(resultsView));
route('/elections/:id/audit', guarded(auditView));
route('/audit', guarded(auditView));
route('/admin/users', guarded(usersView));
route('/admin/elections/new', guarded(electionEditView));
route('/admin/elections/:id/edit', guarded(electionEditView));
route('/admin/elections/:id', guarded(electionAdminView));
fallback((main) => replace(main, h('h1', t('notfound.title')), h('p', h('a', { href: '#/' }, t('nav.home')))));

function link(path, label) {
  const here = currentPath();
  const current = here === path || (path !== '/' && here.startsWith(path));
  return h('a', { href: `#${path}`, 'aria-current': current ? 'page' : null }, label);
}

function drawNav() {
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('nav.label'));
  const items = [];
  if (signedIn()) {
    items.push(link('/elections', t('nav.elections')));
    if (hasRole('admin')) items.push(link('/admin/users', t('nav.users')));
    if (hasRole('admin') || hasRole('auditor')) items.push(link('/audit', t('nav.audit')));
    items.push(link('/account', t('nav.account', { name: currentUser()?.display_name || '' })));
    items.push(h('button.link', { type: 'button', onclick: async () => { await logout(); go('/login'); } }, t('nav.logout')));
  } else {
    items.push(link('/login', t('nav.login')));
  }
  replace(nav, h('ul', items.map((i) => h('li', i))));
  document.getElementById('skip-link').textContent = t('nav.skip');
  document.getElementById('lang-label').textContent = t('nav.language');
  document.getElementById('brand').textContent = t('app.name');
}

onRender(drawNav);
onSessionChange(drawNav);

const select = document.getElementById('lang-select');
select.value = currentLang();
document.documentElement.lang = currentLang();
select.addEventListener('change', () => {
  setLang(select.value);
  render();
});

// The skip link must not become a route: it moves focus, not the address.
document.getElementById('skip-link').addEventListener('click', (e) => {
  e.preventDefault();
  document.getElementById('main').focus();
});

window.addEventListener('hashchange', render);
render();
