// What the browser checks by itself, with WebCrypto only: Ed25519
// signatures over RFC 8785 canonical JSON, SHA-256, RFC 6962 inclusion
// proofs and the audit hash chain. Nothing here trusts the server's word.

const enc = new TextEncoder();

/** RFC 8785 (JCS) canonical JSON. */
export function canonical(v) {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('not canonicalizable');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
}

export function hexToBytes(hex) {
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error('bad hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export function bytesToHex(b) {
  return Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
}

export function b64ToBytes(s) {
  const norm = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(norm + '='.repeat((4 - (norm.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function concat(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

export async function sha256Hex(text) {
  return bytesToHex(await sha256(enc.encode(text)));
}

/** Verifies an Ed25519 signature (base64) over the canonical JSON of `doc`. */
export async function verifyEd25519(publicKeyB64, signatureB64, doc) {
  const key = await crypto.subtle.importKey('raw', b64ToBytes(publicKeyB64), { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, key, b64ToBytes(signatureB64), enc.encode(canonical(doc)));
}

/** The receipt's signed part: everything but `kid` and `signature`. */
export function receiptBody(receipt) {
  const { kid, signature, ...rest } = receipt;
  return rest;
}

/** RFC 6962 leaf: SHA-256(0x00 || tracking code || raw ballot hash). */
export async function leafHash(trackingCode, ballotHashHex) {
  return sha256(concat(new Uint8Array([0]), enc.encode(trackingCode), hexToBytes(ballotHashHex)));
}

async function node(l, r) {
  return sha256(concat(new Uint8Array([1]), l, r));
}

/** RFC 9162 §2.1.3.2 inclusion proof check. */
export async function verifyInclusion(leaf, index, size, proofHex, rootHex) {
  if (!(index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const pHex of proofHex) {
    const p = hexToBytes(pHex);
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesToHex(r) === rootHex.toLowerCase();
}

export const GENESIS = '0'.repeat(64);

/** The hash an audit event must carry: SHA-256(prev_hash || JCS(event
 * without hash)). A server that chains `details_hash` instead of the
 * details (API v2 redaction) is recognised too. */
export async function auditHashes(ev) {
  const { hash, redacted, ...rest } = ev;
  const forms = [];
  if (!redacted && 'details' in rest) forms.push(rest);
  const { details, ...noDetails } = rest;
  const dh = rest.details_hash ?? ('details' in rest ? await sha256Hex(canonical(details)) : undefined);
  if (dh !== undefined) forms.push({ ...noDetails, details_hash: dh });
  const out = [];
  for (const f of forms) out.push(await sha256Hex(ev.prev_hash + canonical(f)));
  return out;
}

/** Checks events in seq order (a whole chain or one election's part):
 * returns {ok, checked, brokenAt}. */
export async function verifyChain(events) {
  let prev = null;
  for (const ev of events) {
    const hashes = await auditHashes(ev);
    if (!hashes.includes(ev.hash)) return { ok: false, checked: events.indexOf(ev), brokenAt: ev.seq };
    if (ev.seq === 1 && ev.prev_hash !== GENESIS) return { ok: false, brokenAt: ev.seq };
    if (prev && (ev.seq <= prev.seq || (ev.seq === prev.seq + 1 && ev.prev_hash !== prev.hash))) {
      return { ok: false, brokenAt: ev.seq };
    }
    prev = ev;
  }
  return { ok: true, checked: events.length };
}

/** A deterministic shuffle seeded by text (a per-voter option order that
 * stays the same across reloads). */
export async function seededShuffle(items, seedText) {
  const out = items.slice();
  let pool = await sha256(enc.encode(seedText));
  let pos = 0;
  const next = async () => {
    if (pos + 4 > pool.length) { pool = await sha256(pool); pos = 0; }
    const v = ((pool[pos] << 24) | (pool[pos + 1] << 16) | (pool[pos + 2] << 8) | pool[pos + 3]) >>> 0;
    pos += 4;
    return v;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = (await next()) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
