// Hash routes (#/elections/ID/vote): the server serves one page, and an
// invitation token in the fragment never reaches a server log.
import { t } from './i18n.js';

const routes = [];
let notFound = null;

export function route(pattern, view) {
  const names = [];
  const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; })}$`);
  routes.push({ re, names, view });
}

export function fallback(view) { notFound = view; }

export function currentPath() {
  const raw = location.hash.replace(/^#/, '') || '/';
  return raw.split('?')[0];
}

export function query() {
  const raw = location.hash.replace(/^#/, '');
  const i = raw.indexOf('?');
  return new URLSearchParams(i >= 0 ? raw.slice(i + 1) : '');
}

export function go(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = path;
}

let renderHook = null;
export function onRender(fn) { renderHook = fn; }

let generation = 0;
/** Renders the view for the current address into <main>; moves focus to
 * its heading so that screen readers announce the new page. */
export async function render() {
  const path = currentPath();
  const main = document.getElementById('main');
  const my = ++generation;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    if (renderHook) renderHook(path);
    main.setAttribute('aria-busy', 'true');
    try {
      await r.view(main, params, () => my === generation);
    } finally {
      main.removeAttribute('aria-busy');
    }
    if (my === generation) focusHeading(main);
    return;
  }
  if (notFound) await notFound(main);
}

export function focusHeading(main) {
  const h1 = main.querySelector('h1');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: false });
    document.title = `${h1.textContent} · ${t('app.name')}`;
  }
}
