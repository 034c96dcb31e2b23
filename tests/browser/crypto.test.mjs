// The browser's own checks (web/js/crypto.js), run under Node's WebCrypto:
// RFC 8785 canonical JSON, RFC 6962 inclusion proofs against trees built
// independently here (the recursive definition of the RFC, not the
// server's bottom-up builder), the audit chain, Ed25519, and the seeded
// shuffle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonical, leafHash, verifyInclusion, bytesToHex, sha256, verifyChain, auditHashes, sha256Hex,
  verifyEd25519, receiptBody, seededShuffle, GENESIS,
} from '../../web/js/crypto.js';

const node = async (l, r) => sha256(new Uint8Array([1, ...l, ...r]));

/** RFC 6962 §2.1: MTH over leaves[lo, hi). */
async function mth(leaves) {
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return node(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}

/** RFC 6962 §2.1.1: PATH(m, D[n]). */
async function path(m, leaves) {
  if (leaves.length === 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  if (m < k) return [...(await path(m, leaves.slice(0, k))), await mth(leaves.slice(k))];
  return [...(await path(m - k, leaves.slice(k))), await mth(leaves.slice(0, k))];
}

test('canonical JSON sorts keys, keeps arrays and writes numbers and strings as RFC 8785 does', () => {
  assert.equal(canonical({ b: 1, a: [3, { d: null, c: 'é\n"' }], e: true }), '{"a":[3,{"c":"é\\n\\"","d":null}],"b":1,"e":true}');
  assert.equal(canonical({ n: 1e21, m: 0.000001, z: -0 }), '{"m":0.000001,"n":1e+21,"z":0}');
  // Keys sort by UTF-16 code units, as RFC 8785 §3.2.3 says.
  assert.equal(canonical({ '\u00e9': 1, z: 2, '\ud83d\ude00': 3 }), '{"z":2,"é":1,"😀":3}');
});

test('inclusion proofs verify for every leaf of trees of 1 to 13 ballots, and fail when anything changes', async () => {
  for (let n = 1; n <= 13; n++) {
    const codes = Array.from({ length: n }, (_, i) => `CODE${String(i).padStart(4, '0')}`);
    const hashes = await Promise.all(codes.map((c) => sha256Hex(`ballot ${c}`)));
    const leaves = await Promise.all(codes.map((c, i) => leafHash(c, hashes[i])));
    const root = bytesToHex(await mth(leaves));
    for (let m = 0; m < n; m++) {
      const proof = (await path(m, leaves)).map(bytesToHex);
      assert.ok(await verifyInclusion(leaves[m], m, n, proof, root), `n=${n} m=${m}`);
      if (n > 1) {
        assert.ok(!(await verifyInclusion(leaves[m], (m + 1) % n, n, proof, root)), `wrong index n=${n} m=${m}`);
        const other = await leafHash(codes[m], await sha256Hex('another ballot'));
        assert.ok(!(await verifyInclusion(other, m, n, proof, root)), `wrong ballot n=${n} m=${m}`);
        assert.ok(!(await verifyInclusion(leaves[m], m, n, proof.slice(1), root)), `short proof n=${n} m=${m}`);
      }
      assert.ok(!(await verifyInclusion(leaves[m], m, n, proof, GENESIS)), `wrong root n=${n} m=${m}`);
    }
  }
});

async function chain(n) {
  const events = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const ev = { seq, at: '2026-12-01T10:00:00.000000Z', actor_id: null, action: `a${seq}`, details: { n: seq, who: 'é' }, prev_hash: prev };
    ev.hash = await sha256Hex(prev + canonical(ev));
    events.push(ev);
    prev = ev.hash;
  }
  return events;
}

test('the audit chain check finds an edited, reordered or relinked event', async () => {
  const events = await chain(6);
  assert.deepEqual(await verifyChain(events), { ok: true, checked: 6 });
  // One election's part: gaps in seq are fine.
  assert.equal((await verifyChain([events[0], events[2], events[3], events[5]])).ok, true);
  const edited = events.map((e) => ({ ...e }));
  edited[3].details = { n: 99, who: 'é' };
  assert.deepEqual(await verifyChain(edited), { ok: false, checked: 3, brokenAt: 4 });
  assert.equal((await verifyChain([events[0], events[2], events[1]])).ok, false);
  const relinked = events.map((e) => ({ ...e }));
  relinked[4].prev_hash = GENESIS;
  relinked[4].hash = await sha256Hex(GENESIS + canonical((({ hash, ...r }) => r)(relinked[4])));
  assert.equal((await verifyChain(relinked)).brokenAt, 5);
});

test('a redacted event (details_hash instead of details) still chains', async () => {
  const details = { voter: 'someone@example.org' };
  const base = { seq: 1, at: '2026-12-01T10:00:00.000000Z', actor_id: null, action: 'roll.added', prev_hash: GENESIS };
  const dh = await sha256Hex(canonical(details));
  const hash = await sha256Hex(GENESIS + canonical({ ...base, details_hash: dh }));
  assert.ok((await auditHashes({ ...base, details, hash })).includes(hash), 'published with details');
  assert.ok((await auditHashes({ ...base, details_hash: dh, redacted: true, hash })).includes(hash), 'redacted');
  assert.equal((await verifyChain([{ ...base, details_hash: dh, redacted: true, hash }])).ok, true);
});

test('a receipt signature verifies with Ed25519 over the receipt without kid and signature', async () => {
  const { publicKey, privateKey } = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const pub = Buffer.from(await crypto.subtle.exportKey('raw', publicKey)).toString('base64');
  const receipt = { election_id: 'e1', tracking_code: 'ABCD', ballot_hash: 'ff'.repeat(32), cast_at: '2026-12-01T10:00:00Z', kid: 'k1' };
  const sig = await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, new TextEncoder().encode(canonical(receiptBody(receipt))));
  receipt.signature = Buffer.from(sig).toString('base64');
  assert.equal(await verifyEd25519(pub, receipt.signature, receiptBody(receipt)), true);
  assert.equal(await verifyEd25519(pub, receipt.signature, receiptBody({ ...receipt, tracking_code: 'ABCE' })), false);
});

test('the per-voter option order is a permutation, stable for one seed and different across voters', async () => {
  const items = Array.from({ length: 20 }, (_, i) => i);
  const a = await seededShuffle(items, 'voter-a:q1');
  assert.deepEqual([...a].sort((x, y) => x - y), items);
  assert.deepEqual(await seededShuffle(items, 'voter-a:q1'), a);
  assert.notDeepEqual(await seededShuffle(items, 'voter-b:q1'), a);
});
