// "Check my receipt": the browser itself checks the receipt's Ed25519
// signature with the published key, asks the board for the ballot's
// inclusion proof, recomputes the leaf and the path to the Merkle root, and
// compares that root with the signed results when they exist.
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, ApiError } from '../api.js';
import { verifyEd25519, receiptBody, leafHash, verifyInclusion } from '../crypto.js';
import { receipts } from './booth.js';
import { loading, failed, field, alertBox, showError, stateBadge } from '../ui.js';

export async function receiptView(main, { id }, live) {
  loading(main);
  let election;
  try { election = await get(`/elections/${id}`); } catch (err) { return failed(main, err); }
  if (!live()) return;
  const out = h('div.checks', { 'aria-live': 'polite' });
  const box = alertBox();
  const file = field(t('receipt.file'), h('input', { type: 'file', accept: 'application/json,.json' }));
  const text = field(t('receipt.paste'), h('textarea', { rows: 6, spellcheck: 'false' }));
  const kept = receipts.get(id);
  if (kept) text.input.value = JSON.stringify(kept, null, 2);
  file.input.addEventListener('change', async () => {
    const f = file.input.files[0];
    if (f && f.size < 65536) text.input.value = await f.text();
  });
  const run = h('button.primary', { type: 'button' }, t('receipt.check'));
  run.addEventListener('click', async () => {
    run.disabled = true;
    box.hidden = true;
    try {
      let receipt;
      try { receipt = JSON.parse(text.input.value); } catch { receipt = null; }
      if (!receipt || typeof receipt !== 'object' || typeof receipt.tracking_code !== 'string') {
        box.hidden = false;
        replace(box, h('p', t('receipt.bad_file')));
        return;
      }
      await check(out, election, receipt.receipt || receipt);
    } catch (err) {
      showError(box, err);
    } finally {
      run.disabled = false;
    }
  });
  replace(main,
    h('h1', t('receipt.title'), ' ', stateBadge(election.state)),
    h('p', election.title),
    h('p', t('receipt.intro')),
    election.state === 'open' ? h('p.warning', t('receipt.before_close')) : null,
    box, file.wrap, text.wrap, h('div.actions', run), out);
}

function line(ok, text, detail) {
  const mark = ok === true ? '✓' : ok === false ? '✗' : '–';
  const cls = ok === true ? 'ok' : ok === false ? 'bad' : 'na';
  return h(`li.check.${cls}`, h('span.mark', { 'aria-hidden': 'true' }, mark), h('span.sr-only', t(`receipt.${cls}`)), ' ', text, detail ? h('div.detail', detail) : null);
}

export async function check(out, election, receipt) {
  const items = [];
  const draw = (summary) => replace(out, h('h2', t('receipt.results')), h('ul.checklist', items), summary || null);
  let allOk = true;
  const add = (ok, text, detail) => { if (ok === false) allOk = false; items.push(line(ok, text, detail)); draw(); };

  add(receipt.election_id === election.id, t('receipt.c_election'));
  const { keys } = await get('/keys');
  const key = keys.find((k) => k.kid === receipt.kid);
  let sigOk = false;
  if (key) {
    try { sigOk = await verifyEd25519(key.public_key, receipt.signature, receiptBody(receipt)); } catch { sigOk = false; }
  }
  add(sigOk, t('receipt.c_signature'), key ? `kid ${receipt.kid}` : t('receipt.no_key'));

  let found;
  try {
    found = await get(`/elections/${election.id}/receipts/${encodeURIComponent(receipt.tracking_code)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) { add(false, t('receipt.c_on_board'), receipt.tracking_code); return draw(summary(false)); }
    throw err;
  }
  add(found.included === true && found.ballot_hash === receipt.ballot_hash, t('receipt.c_on_board'), receipt.tracking_code);
  if (!found.inclusion_proof || !found.merkle_root) {
    add(null, t('receipt.c_proof'), t('receipt.after_close'));
    return draw(summary(allOk, true));
  }
  const leaf = await leafHash(receipt.tracking_code, receipt.ballot_hash);
  const size = found.tree_size ?? found.ballot_count;
  const inOk = Number.isInteger(size) && await verifyInclusion(leaf, found.leaf_index, size, found.inclusion_proof, found.merkle_root);
  add(inOk, t('receipt.c_proof'), t('receipt.proof_detail', { index: found.leaf_index, size, root: found.merkle_root }));

  let results = null;
  try { results = await get(`/elections/${election.id}/results`); } catch { /* not tallied, or not published for voters */ }
  if (results) {
    const { signature, ...doc } = results;
    const rkey = keys.find((k) => k.kid === signature?.kid);
    let rOk = false;
    if (rkey) { try { rOk = await verifyEd25519(rkey.public_key, signature.value, doc); } catch { rOk = false; } }
    add(rOk && results.merkle_root === found.merkle_root, t('receipt.c_results'));
  } else {
    add(null, t('receipt.c_results'), t('receipt.no_results'));
  }
  return draw(summary(allOk));
}

function summary(ok, partial) {
  if (!ok) return h('p.verdict.bad', { role: 'alert' }, t('receipt.verdict_bad'));
  return h('p.verdict.ok', { role: 'status' }, partial ? t('receipt.verdict_partial') : t('receipt.verdict_ok'));
}
