// The message catalogue: every string the app shows comes from here.
import en from '../i18n/en.js';
import fr from '../i18n/fr.js';

export const catalogues = { en, fr };
const STORE = 'ballotbox.lang';
let lang = pick();

function pick() {
  let saved = null;
  try { saved = localStorage.getItem(STORE); } catch { /* private mode */ }
  if (saved && catalogues[saved]) return saved;
  const nav = (navigator.language || 'en').slice(0, 2);
  return catalogues[nav] ? nav : 'en';
}

export function currentLang() { return lang; }

export function setLang(l) {
  if (!catalogues[l]) return;
  lang = l;
  try { localStorage.setItem(STORE, l); } catch { /* private mode */ }
  document.documentElement.lang = l;
}

/** t('key', {n: 3}) → the message with {n} filled in. */
export function t(key, params) {
  let s = catalogues[lang][key] ?? catalogues.en[key];
  if (s === undefined) {
    console.warn('missing message', key);
    s = key;
  }
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

/** A date and time in the reader's language and time zone. */
export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function fmtNumber(n) {
  const x = typeof n === 'string' ? Number(n) : n;
  if (!Number.isFinite(x)) return String(n);
  return new Intl.NumberFormat(lang, { maximumFractionDigits: 5 }).format(x);
}
