// Results for people who would rather look than read: bars for counts and
// points, the round-by-round flow of IRV and STV (who was elected or
// eliminated and where the votes went), and the Schulze pairwise matrix as a
// shaded table. Every figure is also written as text. The signature is
// checked in the browser; the export is downloadable.
import { h, replace, download } from '../dom.js';
import { t, fmtNumber } from '../i18n.js';
import { get, api } from '../api.js';
import { verifyEd25519 } from '../crypto.js';
import { loading, failed, stateBadge, actionButton, alertBox, showError } from '../ui.js';

export async function resultsView(main, { id }, live) {
  loading(main);
  let e;
  let r;
  let keys;
  try {
    [e, r, { keys }] = await Promise.all([get(`/elections/${id}`), get(`/elections/${id}/results`), get('/keys')]);
  } catch (err) {
    return failed(main, err);
  }
  const turnout = await get(`/elections/${id}/turnout`).catch(() => null);
  if (!live()) return;
  const { signature, ...doc } = r;
  const key = keys.find((k) => k.kid === signature?.kid);
  let sigOk = false;
  if (key) { try { sigOk = await verifyEd25519(key.public_key, signature.value, doc); } catch { sigOk = false; } }
  const box = alertBox();
  const exportBtn = (fmt) => actionButton(t('results.export', { fmt: fmt.toUpperCase() }), async () => {
    try {
      const res = await api('GET', `/elections/${id}/export?format=${fmt}`, undefined, { response: true });
      download(`ballotbox-${id}.${fmt}`, await res.blob());
    } catch (err) { showError(box, err); }
  });
  replace(main,
    h('h1', t('results.title_of', { title: e.title }), ' ', stateBadge(e.state)),
    h('p', t('results.counted', { n: r.ballot_count })),
    turnout ? h('p', t('turnout.line', { voted: turnout.voted, eligible: turnout.eligible, pct: turnout.eligible ? Math.round((100 * turnout.voted) / turnout.eligible) : 0 })) : null,
    h(`p.verdict.${sigOk ? 'ok' : 'bad'}`, { role: 'status' }, sigOk ? t('results.sig_ok', { kid: signature.kid }) : t('results.sig_bad')),
    r.quorum_met === false ? h('p.warning', t('results.no_quorum')) : null,
    h('p', t('results.root'), ' ', h('code', r.merkle_root)),
    box,
    h('div.actions', exportBtn('json'), exportBtn('csv'), h('a.button', { href: `#/elections/${id}/audit` }, t('elections.audit'))),
    r.questions.map((qr) => questionResult(e.questions.find((q) => q.id === qr.question_id), qr)));
}

function labeller(q) {
  return (oid) => q?.options.find((o) => o.id === oid)?.label ?? oid;
}

function questionResult(q, qr) {
  const label = labeller(q);
  const winners = qr.winners.map(label);
  let body;
  const tally = qr.tally || {};
  if (qr.method === 'irv' || qr.method === 'stv') body = rounds(qr, label);
  else if (qr.method === 'schulze') body = matrix(q, tally, label, qr.winners);
  else if (tally.points) body = bars(Object.entries(tally.points), label, qr.winners, t('results.points'));
  else body = bars(Object.entries(tally.counts || {}), label, qr.winners, t('results.votes'));
  return h('section.question-result',
    h('h2', q?.prompt ?? qr.question_id),
    h('p', t(`method.${qr.method}`), qr.seats > 1 ? ` · ${t('results.seats', { n: qr.seats })}` : ''),
    h('p.winner', winners.length ? t('results.winners', { names: winners.join(', ') }) : t('results.no_winner')),
    tally.passed !== undefined ? h('p.winner', tally.passed ? t('results.passed') : t('results.rejected')) : null,
    tally.blank ? h('p', t('results.blank', { n: tally.blank })) : null,
    body,
    tieNotes(tally.ties || []));
}

function bars(entries, label, winners, unit) {
  const values = entries.map(([, v]) => Number(v));
  const max = Math.max(1, ...values);
  const sorted = entries.slice().sort((a, b) => Number(b[1]) - Number(a[1]));
  return h('ul.bars', sorted.map(([oid, v]) => {
    const bar = h(`div.bar${winners.includes(oid) ? '.win' : ''}`);
    bar.style.width = `${(100 * Number(v)) / max}%`;
    return h('li',
      h('span', label(oid), winners.includes(oid) ? ` (${t('results.elected')})` : ''),
      h('div', h('div.bar-track', { 'aria-hidden': 'true' }, bar), h('span.bar-value', `${fmtNumber(v)} ${unit}`)));
  }));
}

function rounds(qr, label) {
  const rs = qr.rounds?.length ? qr.rounds : (qr.tally?.rounds || []);
  const out = [];
  if (qr.tally?.quota !== undefined) out.push(h('p', t('results.quota', { q: fmtNumber(qr.tally.quota) })));
  let max = 1;
  for (const r of rs) for (const v of Object.values(r.votes || {})) max = Math.max(max, Number(v));
  const gone = new Set();
  for (const r of rs) {
    const elected = r.elected || [];
    const eliminated = r.eliminated || [];
    const votes = Object.entries(r.votes || {}).sort((a, b) => Number(b[1]) - Number(a[1]));
    const items = votes.map(([oid, v]) => {
      const bar = h(`div.bar${elected.includes(oid) ? '.win' : eliminated.includes(oid) ? '.out' : ''}`);
      bar.style.width = `${(100 * Number(v)) / max}%`;
      const note = elected.includes(oid) ? ` (${t('results.elected')})` : eliminated.includes(oid) ? ` (${t('results.eliminated')})` : '';
      return h('li', h('span', label(oid), note), h('div', h('div.bar-track', { 'aria-hidden': 'true' }, bar), h('span.bar-value', fmtNumber(v))));
    });
    const flows = [];
    const tr = r.transfers;
    if (tr) {
      const to = Object.entries(tr.to || {}).filter(([, v]) => Number(v) > 0).map(([oid, v]) => t('results.to', { label: label(oid), n: fmtNumber(v) }));
      flows.push(h('p.flow', t('results.transfer', { from: label(tr.from), to: to.join(', ') || t('common.none') }),
        Number(tr.exhausted) ? ` ${t('results.exhausted_n', { n: fmtNumber(tr.exhausted) })}` : ''));
    }
    for (const x of [...elected, ...eliminated]) gone.add(x);
    out.push(h('div.round',
      h('h3', t('results.round', { n: r.round }), r.action ? ` · ${t(`results.action_${r.action}`) ?? r.action}` : ''),
      elected.length ? h('p.winner', t('results.elected_list', { names: elected.map(label).join(', ') })) : null,
      eliminated.length ? h('p', t('results.eliminated_list', { names: eliminated.map(label).join(', ') })) : null,
      flows,
      h('ul.bars', items),
      Number(r.exhausted) ? h('p', t('results.exhausted', { n: fmtNumber(r.exhausted) })) : null));
  }
  return out;
}

function matrix(q, tally, label, winners) {
  const pw = tally.pairwise || {};
  const ids = Object.keys(pw);
  let max = 1;
  for (const a of ids) for (const b of ids) if (a !== b) max = Math.max(max, Number(pw[a]?.[b] ?? 0));
  const ranking = (tally.ranking || []).map((tier) => tier.map(label).join(' = '));
  return [
    h('p', t('results.matrix_intro')),
    h('div.table-wrap', h('table.matrix',
      h('caption', t('results.matrix')),
      h('thead', h('tr', h('td'), ids.map((b) => h('th', { scope: 'col' }, label(b))))),
      h('tbody', ids.map((a) => h('tr', h('th', { scope: 'row' }, label(a)), ids.map((b) => {
        if (a === b) return h('td.diag', '—');
        const v = Number(pw[a]?.[b] ?? 0);
        const beats = v > Number(pw[b]?.[a] ?? 0);
        const cell = h('td.cell.num', beats ? h('strong', fmtNumber(v)) : fmtNumber(v));
        // Lighter = fewer; black text stays above 4.5:1 down to 62% lightness.
        cell.style.setProperty('--l', `${96 - Math.round((34 * v) / max)}%`);
        return cell;
    })))))),
    ranking.length ? [h('h3', t('results.ranking')), h('ol', ranking.map((r) => h('li', r)))] : null,
  ];
}

function tieNotes(ties) {
  if (!ties.length) return null;
  return h('details', h('summary', t('results.ties', { n: ties.length })),
    h('pre.mono', JSON.stringify(ties, null, 2)));
}

