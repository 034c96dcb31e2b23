#!/usr/bin/env python3
"""An independent verifier of ballotbox JSON exports (docs/export-format.md).

Written from the format description alone, with none of the service's Rust
code: Python's standard library plus the `cryptography` package (Ed25519).
It checks ballot hashes, each plurality/approval ballot against its
question's rules, the Merkle root, the ballot count, a recount of the
plurality and approval questions, the election digest, the results
signature, the audit chain and its redactions, the export's signed
checkpoint and, with --checkpoints, checkpoints kept earlier.

Usage: verify.py EXPORT.json [--public-key B64] [--checkpoints FILE]
Prints `ok   <check>`, `FAIL <check>: why` or `skip <check>: why` per check.
Exit status: 0 all hold; 2 unreadable input; otherwise 1, plus 4 for a
ballot check, 8 for a results check, 16 for an audit check.
"""

import argparse
import base64
import decimal
import hashlib
import json
import math
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "ballotbox-export/2"
GENESIS = "0" * 64
REDACTABLE = {"roll.added", "roll.removed", "user.created", "user.updated", "users.imported"}
BALLOTS, RESULTS, AUDIT = 4, 8, 16


# --- RFC 8785 (JCS) -------------------------------------------------------

def _number(x):
    if isinstance(x, bool):
        raise TypeError("bool is not a number")
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        raise ValueError("JCS has no NaN or infinity")
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    # ECMAScript Number.prototype.toString from the shortest round-trip digits.
    sign = "-" if x < 0 else ""
    # repr gives the shortest digits that round-trip, as ECMAScript does.
    _, ds, exp = decimal.Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, ds))
    n = len(digits) + exp  # value = 0.digits * 10**n
    k = len(digits)
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        s = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + s


def jcs(v):
    """The canonical UTF-8 bytes of a JSON value."""
    return _jcs(v).encode("utf-8")


def _jcs(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return _number(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(_jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _jcs(v[k]) for k in keys) + "}"
    raise TypeError(f"not JSON: {type(v)}")


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


# --- checks -------------------------------------------------------------

class Report:
    def __init__(self):
        self.status = 0

    def check(self, group, name, ok, note):
        if ok:
            print(f"ok   {name}" + (f": {note}" if note else ""))
        else:
            self.status |= 1 | group
            print(f"FAIL {name}: {note}")

    def skip(self, name, why):
        print(f"skip {name}: {why}")


def ed25519_ok(public_key_b64, message, signature_b64):
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def ballot_hash(election_id, answers, salt=""):
    ordered = sorted(answers, key=lambda a: a["question_id"])
    doc = {"election_id": election_id, "answers": ordered}
    # v2: a 32-hex salt per ballot; '' (or absent) for ballots cast before v2.
    if salt:
        doc["salt"] = salt
    return sha256_hex(jcs(doc))


def merkle_root(leaves):
    """RFC 6962 Merkle tree hash."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def leaf(code, hash_hex):
    return hashlib.sha256(b"\x00" + code.encode("ascii") + bytes.fromhex(hash_hex)).digest()


def election_digest(e):
    questions = []
    for q in e["questions"]:
        options = sorted(q["options"], key=lambda o: o["position"])
        questions.append({
            "id": q["id"], "prompt": q["prompt"], "method": q["method"], "seats": q["seats"],
            "min_selections": q["min_selections"], "max_selections": q["max_selections"],
            "allow_blank": q["allow_blank"],
            "options": [{"id": o["id"], "label": o["label"], "position": o["position"]} for o in options],
        })
    doc = {"id": e["id"], "title": e["title"], "description": e["description"], "questions": questions}
    return sha256_hex(jcs(doc))


def rule_error(q, selections):
    """Why a plurality/approval answer breaks its question's rules, or None."""
    ids = [o["id"] for o in q["options"]]
    if not selections:
        return None if q["allow_blank"] else "a blank answer is not allowed"
    if len(set(selections)) != len(selections):
        return "an option is selected twice"
    if any(s not in ids for s in selections):
        return "an option of another question"
    n = len(selections)
    if q["method"] == "plurality":
        if q["seats"] <= 1 and n != 1:
            return "plurality takes exactly one selection"
        if n > q["seats"]:
            return "plurality takes more selections than seats"
        return None
    lo, hi = max(q["min_selections"], 1), q["max_selections"]
    if not lo <= n <= hi:
        return f"takes between {lo} and {hi} selections, got {n}"
    return None


def event_hash(ev):
    """The hash a published event (whole or redacted) must carry."""
    if ev.get("redacted") is True:
        dh = ev["details_hash"]
    else:
        dh = sha256_hex(jcs(ev["details"]))
    form = {k: ev[k] for k in ("seq", "at", "actor_id", "action")}
    if ev.get("election_id") is not None:
        form["election_id"] = ev["election_id"]
    form["details_hash"] = dh
    form["prev_hash"] = ev["prev_hash"]
    return sha256_hex(ev["prev_hash"].encode("ascii") + jcs(form))


def checkpoint_ok(key, cp):
    message = jcs({"seq": cp["seq"], "hash": cp["hash"], "at": cp["at"], "kid": cp["kid"]})
    return key is not None and ed25519_ok(key, message, cp["signature"])


def verify(x, key, kept, r):
    r.check(0, "export format", x.get("format") == FORMAT, x.get("format"))
    e = x["election"]
    eid = e["id"]
    ballots = x["ballots"]
    questions = {q["id"]: q for q in e["questions"]}

    bad = [b["tracking_code"] for b in ballots if ballot_hash(eid, b["answers"], b.get("salt") or "") != b["ballot_hash"]]
    r.check(BALLOTS, "ballot hashes", not bad, f"{len(ballots)} ballots" if not bad else f"tracking codes {bad[:5]}")

    invalid = []
    for b in ballots:
        seen = [a["question_id"] for a in b["answers"]]
        if sorted(seen) != sorted(questions):
            invalid.append((b["tracking_code"], "not one answer per question"))
            continue
        for a in b["answers"]:
            q = questions[a["question_id"]]
            if q["method"] in ("plurality", "approval"):
                why = rule_error(q, a["selections"])
                if why:
                    invalid.append((b["tracking_code"], why))
    r.check(BALLOTS, "ballot validity", not invalid,
            "plurality and approval answers follow their rules" if not invalid else f"{invalid[:3]}")

    codes = [b["tracking_code"] for b in ballots]
    root = merkle_root([leaf(b["tracking_code"], b["ballot_hash"]) for b in ballots]).hex()
    results = x.get("results")
    stated = {x.get("merkle_root"), (results or {}).get("merkle_root", x.get("merkle_root"))}
    in_order = all(a < b for a, b in zip(codes, codes[1:]))
    r.check(BALLOTS, "merkle root", in_order and stated == {root},
            root if in_order else "ballots are not in tracking-code order")
    counts = {x.get("ballot_count", len(ballots)), (results or {}).get("ballot_count", len(ballots))}
    r.check(BALLOTS, "ballot count", counts == {len(ballots)}, str(len(ballots)))

    if results is None:
        for name in ("recount", "election digest", "results signature"):
            r.skip(name, "the election is not tallied")
    else:
        valid = {code for code, _ in invalid}
        problems, checked = [], 0
        by_id = {q["question_id"]: q for q in results["questions"]}
        for q in e["questions"]:
            if q["method"] not in ("plurality", "approval"):
                continue
            checked += 1
            mine = {o["id"]: 0 for o in q["options"]}
            for b in ballots:
                if b["tracking_code"] in valid:
                    continue
                for a in b["answers"]:
                    if a["question_id"] == q["id"]:
                        for s in a["selections"]:
                            mine[s] += b.get("weight", 1)
            theirs = by_id.get(q["id"], {}).get("tally", {}).get("counts")
            if theirs != mine:
                problems.append(f"question {q['id']} counts differ")
                continue
            winners = by_id[q["id"]].get("winners", [])
            losers = [o for o in mine if o not in winners]
            if winners and losers and min(mine[w] for w in winners) < max(mine[o] for o in losers):
                problems.append(f"question {q['id']}: a winner has fewer votes than a loser")
        r.check(RESULTS, "recount", not problems,
                f"{checked} plurality/approval questions match" if not problems else "; ".join(problems))
        digest = election_digest(e)
        r.check(RESULTS, "election digest", results.get("election_digest") == digest,
                digest if results.get("election_digest") == digest else
                f"the election hashes to {digest}, the results say {results.get('election_digest')}")
        unsigned = {k: v for k, v in results.items() if k != "signature"}
        sig = (results.get("signature") or {}).get("value")
        r.check(RESULTS, "results signature", bool(sig) and key is not None and ed25519_ok(key, jcs(unsigned), sig),
                "Ed25519" if sig else "no signature")

    events = x.get("audit_events", [])
    broken = None
    prev = None
    for ev in events:
        try:
            good = event_hash(ev) == ev["hash"]
        except (KeyError, TypeError, AttributeError):
            good = False
        if not good or (ev["seq"] == 1 and ev["prev_hash"] != GENESIS) or (
                prev is not None and (ev["seq"] <= prev["seq"] or
                                      (ev["seq"] == prev["seq"] + 1 and ev["prev_hash"] != prev["hash"]))):
            broken = ev.get("seq")
            break
        prev = ev
    r.check(AUDIT, "audit chain", broken is None,
            f"{len(events)} events" if broken is None else f"event {broken} does not match or link")
    wrong = [f"{ev.get('seq')} ({ev.get('action')})" for ev in events
             if ev.get("redacted") is True and ev.get("action") not in REDACTABLE]
    r.check(AUDIT, "audit redactions", not wrong, "only redactable actions" if not wrong else ", ".join(wrong))
    closed = [ev for ev in events if ev.get("action") == "election.closed" and not ev.get("redacted")]
    r.check(AUDIT, "audit lifecycle",
            bool(closed) and closed[-1]["details"].get("merkle_root") == x.get("merkle_root"),
            "election.closed fixed this Merkle root" if closed else "no election.closed event")

    cp = x.get("checkpoint")
    cp_good = bool(cp) and bool(events) and checkpoint_ok(key, cp) and \
        events[-1]["seq"] == cp["seq"] and events[-1]["hash"] == cp["hash"]
    r.check(AUDIT, "audit checkpoint", cp_good,
            f"seq {cp['seq']}" if cp_good else "missing, badly signed, or not at the last event")

    if kept is None:
        r.skip("kept checkpoints", "pass --checkpoints FILE")
        return
    hashes = {ev["seq"]: ev["hash"] for ev in events}
    problems = []
    for k in kept:
        if not checkpoint_ok(key, k):
            problems.append(f"seq {k['seq']}: signature does not verify")
        elif k["seq"] in hashes and hashes[k["seq"]] != k["hash"]:
            problems.append(f"seq {k['seq']}: the export's event differs (the chain was rewritten)")
    r.check(AUDIT, "kept checkpoints", not problems, f"{len(kept)} kept" if not problems else "; ".join(problems))


def main(argv):
    p = argparse.ArgumentParser(description="Verify a ballotbox JSON export independently.")
    p.add_argument("export")
    p.add_argument("--public-key", help="the results signing key, base64 (GET /api/v1/keys)")
    p.add_argument("--checkpoints", help="checkpoints kept earlier (GET /api/v1/audit-log/checkpoints)")
    args = p.parse_args(argv)
    try:
        with open(args.export, "rb") as f:
            x = json.load(f)
        kept = None
        if args.checkpoints:
            with open(args.checkpoints, "rb") as f:
                kept = json.load(f)
            if isinstance(kept, dict):
                kept = kept["items"]
        if not isinstance(x, dict) or "election" not in x or "ballots" not in x:
            raise ValueError("not a ballotbox JSON export")
    except (OSError, ValueError, KeyError) as err:
        print(f"verify.py: error: {err}", file=sys.stderr)
        return 2
    key = args.public_key or (x.get("public_key") or {}).get("public_key")
    r = Report()
    try:
        verify(x, key, kept, r)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        print(f"FAIL export structure: {err!r}")
        r.status |= 1 | BALLOTS
    return r.status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
