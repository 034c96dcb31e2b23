// The audit log, with its hash chain checked in the browser, and the signed
// checkpoints (API v2) checked against the published keys where the server
// offers them.
import { h, replace, download } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { get, all, ApiError } from '../api.js';
import { verifyChain, verifyEd25519 } from '../crypto.js';
import { loading, failed } from '../ui.js';

export async function auditView(main, params, live) {
  loading(main);
  const id = params.id;
  let events;
  let election = null;
  try {
    if (id) election = await get(`/elections/${id}`);
    events = await all(id ? `/elections/${id}/audit-log` : '/audit-log', 20000);
  } catch (err) {
    return failed(main, err);
  }
  events.sort((a, b) => a.seq - b.seq);
  const chain = await verifyChain(events);
  const checkpoints = await checkpointStatus(events);
  if (!live()) return;
  const rows = events.slice().reverse().slice(0, 500).map((ev) => h('tr',
    h('td.num', ev.seq), h('td', fmtDate(ev.at)), h('td', ev.action),
    h('td.mono', ev.actor_id || t('audit.system')),
    h('td.mono', ev.redacted ? t('audit.redacted') : JSON.stringify(ev.details)),
    h('td.mono', ev.hash.slice(0, 16))));
  replace(main,
    h('h1', election ? t('audit.title_of', { title: election.title }) : t('audit.title')),
    h(`p.verdict.${chain.ok ? 'ok' : 'bad'}`, { role: 'status' },
      chain.ok ? t('audit.chain_ok', { n: chain.checked }) : t('audit.chain_bad', { seq: chain.brokenAt })),
    checkpoints,
    h('div.actions', h('button', { type: 'button', onclick: () => download(id ? `ballotbox-audit-${id}.json` : 'ballotbox-audit.json', new Blob([JSON.stringify(events, null, 2)], { type: 'application/json' })) }, t('audit.download'))),
    h('div.table-wrap', h('table.log',
      h('caption', t('audit.caption', { n: events.length })),
      h('thead', h('tr', ['audit.seq', 'audit.at', 'audit.action', 'audit.actor', 'audit.details', 'audit.hash'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', rows))));
}

async function checkpointStatus(events) {
  let cps;
  try {
    cps = await all('/audit-log/checkpoints', 5000);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return h('p', t('audit.no_checkpoints'));
    return null;
  }
  if (!cps.length) return h('p', t('audit.no_checkpoints_yet'));
  const { keys } = await get('/keys');
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  let good = 0;
  let bad = 0;
  for (const cp of cps) {
    const key = keys.find((k) => k.kid === cp.kid);
    const { signature, ...body } = cp;
    let ok = false;
    if (key) { try { ok = await verifyEd25519(key.public_key, signature, body); } catch { ok = false; } }
    const ev = bySeq.get(cp.seq);
    if (ev && ev.hash !== cp.hash) ok = false;
    if (ok) good++; else bad++;
  }
  const last = cps.reduce((a, b) => (b.seq > a.seq ? b : a));
  return h(`p.verdict.${bad ? 'bad' : 'ok'}`, bad ? t('audit.cp_bad', { bad, n: cps.length }) : t('audit.cp_ok', { n: good, seq: last.seq, at: fmtDate(last.at) }));
}
