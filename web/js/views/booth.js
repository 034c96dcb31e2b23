// The voting booth: 1 mark the ballot, 2 review it (nothing is cast yet,
// and the page says so in words, colour and the step list), 3 cast it and
// keep the receipt. A cast carries an Idempotency-Key drawn when the review
// opens: a double click, a retry after a lost answer or a second tab with
// the same review sends the same key, and the server casts once.
import { h, replace, newId, download, announce } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { get, post, currentUser, ApiError, onSessionChange } from '../api.js';
import { seededShuffle } from '../crypto.js';
import { stateBadge, loading, failed, alertBox, showError } from '../ui.js';
import { focusHeading } from '../router.js';

/** Receipts of this session, by election (memory only, like the tokens). */
export const receipts = new Map();
// On a shared computer the next person must not find the last one's
// tracking code (after close it leads to the ballot).
onSessionChange((s) => { if (!s) receipts.clear(); });

const RANKED = ['borda', 'irv', 'stv', 'schulze'];

export function kindOf(q) {
  if (RANKED.includes(q.method)) return 'ranked';
  if (q.method === 'approval' || (q.method === 'plurality' && q.seats > 1)) return 'multi';
  return 'single';
}

/** [min, max] selections of a multi-choice question. */
export function limits(q) {
  if (q.method === 'plurality') return [1, q.seats];
  const n = q.options.length;
  return [Math.max(1, q.min_selections ?? 1), Math.min(n, q.max_selections ?? n)];
}

function shuffled(q) {
  return q.shuffle_options === true || q.randomize_options === true
    || q.random_order === true || q.option_order === 'random';
}

export async function boothView(main, { id }, live) {
  loading(main);
  let election;
  let mine;
  try {
    [election, mine] = await Promise.all([get(`/elections/${id}`), get(`/elections/${id}/my-ballot`)]);
  } catch (err) {
    return failed(main, err);
  }
  if (!live()) return;
  if (mine.has_voted) return alreadyVoted(main, election, mine);
  if (election.state !== 'open') {
    return replace(main, h('h1', election.title, ' ', stateBadge(election.state)), h('p', t('booth.not_open')));
  }
  const user = currentUser();
  const questions = [];
  for (const q of election.questions) {
    const opts = q.options.slice().sort((a, b) => a.position - b.position);
    questions.push({ ...q, options: shuffled(q) ? await seededShuffle(opts, `${user.id}:${q.id}`) : opts });
  }
  const answers = new Map(questions.map((q) => [q.id, { blank: false, selected: new Set(), ranking: [] }]));
  markStep(main, election, questions, answers);
}

function steps(current) {
  const names = ['booth.step_mark', 'booth.step_review', 'booth.step_cast'];
  return h('ol.steps', { 'aria-label': t('booth.steps') }, names.map((n, i) => h('li', {
    class: i + 1 === current ? 'current' : (i + 1 < current ? 'past' : ''),
    'aria-current': i + 1 === current ? 'step' : null,
  }, t('booth.step_n', { n: i + 1, name: t(n) }))));
}

function header(election, step) {
  const closes = election.closes_at ? h('p', t('elections.closes', { at: fmtDate(election.closes_at) })) : null;
  return [steps(step), closes];
}

// ---- step 1: mark ----------------------------------------------------

function markStep(main, election, questions, answers) {
  const box = alertBox();
  box.tabIndex = -1;
  const sets = questions.map((q, i) => questionFieldset(q, i, answers.get(q.id)));
  const next = h('button.primary', { type: 'submit' }, t('booth.to_review'));
  const form = h('form.ballot', { novalidate: true }, box, sets.map((s) => s.el), h('div.actions', next));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const problems = [];
    sets.forEach((s) => { const p = s.validate(); if (p) problems.push(p); });
    if (problems.length) {
      box.hidden = false;
      replace(box, h('p', t('booth.fix')), h('ul', problems.map((p) => h('li', h('a', { href: `#${p.anchor}`, onclick: (ev) => { ev.preventDefault(); p.focus(); } }, p.text)))));
      box.focus();
      return;
    }
    reviewStep(main, election, questions, answers);
  });
  replace(main,
    h('h1', t('booth.title', { title: election.title })),
    header(election, 1),
    election.description ? h('p', election.description) : null,
    form);
  focusHeading(main);
}

function ruleText(q) {
  const k = kindOf(q);
  if (k === 'single') return t('booth.rule_one');
  if (k === 'multi') {
    const [min, max] = limits(q);
    return min === max ? t('booth.rule_exactly', { n: min }) : t('booth.rule_between', { min, max });
  }
  return t('booth.rule_rank');
}

function questionFieldset(q, index, ans) {
  const kind = kindOf(q);
  const errId = newId('err');
  const ruleId = newId('rule');
  const err = h('p.field-error', { id: errId, hidden: true });
  const body = h('div.choices');
  const fs = h('fieldset.question', { id: `q-${q.id}`, 'aria-describedby': `${ruleId} ${errId}` },
    h('legend', h('span.qnum', t('booth.question_n', { n: index + 1 })), ' ', q.prompt),
    h('p.hint', { id: ruleId }, ruleText(q)),
    err, body);
  const draw = () => {
    if (kind === 'ranked') drawRanking(q, ans, body, draw);
    else drawChoices(q, ans, body, kind);
  };
  draw();
  if (q.allow_blank) {
    const cb = h('input', { type: 'checkbox', id: newId('blank'), checked: ans.blank });
    cb.addEventListener('change', () => {
      ans.blank = cb.checked;
      body.classList.toggle('disabled', ans.blank);
      for (const el of body.querySelectorAll('input, button')) el.disabled = ans.blank;
    });
    fs.append(h('div.blank', cb, h('label', { for: cb.id }, t('booth.blank'))));
  }
  const validate = () => {
    let msg = null;
    if (!ans.blank) {
      if (kind === 'single' && ans.selected.size !== 1) msg = t('booth.err_one');
      if (kind === 'multi') {
        const [min, max] = limits(q);
        if (ans.selected.size < min || ans.selected.size > max) msg = t('booth.err_between', { min, max });
      }
      if (kind === 'ranked' && ans.ranking.length < 1) msg = t('booth.err_rank');
    }
    err.hidden = !msg;
    err.textContent = msg || '';
    fs.classList.toggle('invalid', !!msg);
    if (!msg) return null;
    return {
      anchor: `q-${q.id}`,
      text: `${t('booth.question_n', { n: index + 1 })}: ${msg}`,
      focus: () => { const f = fs.querySelector('input:not([disabled]), button:not([disabled])'); if (f) f.focus(); },
    };
  };
  return { el: fs, validate };
}

function drawChoices(q, ans, body, kind) {
  const name = `q-${q.id}`;
  const rows = q.options.map((o) => {
    const input = h('input', {
      type: kind === 'single' ? 'radio' : 'checkbox', name, value: o.id, id: newId('opt'),
      checked: ans.selected.has(o.id), disabled: ans.blank,
    });
    input.addEventListener('change', () => {
      if (kind === 'single') ans.selected = new Set([o.id]);
      else if (input.checked) ans.selected.add(o.id);
      else ans.selected.delete(o.id);
    });
    return h('div.choice', input, h('label', { for: input.id }, o.label));
  });
  replace(body, rows);
}

/** A ranking three ways: drag a row, use its buttons (keyboard), or type
 * its rank number. Every way edits the same list. */
function drawRanking(q, ans, body, redraw) {
  const label = (id) => q.options.find((o) => o.id === id)?.label ?? id;
  const n = q.options.length;
  const moveTo = (id, pos, focusWhat) => {
    ans.ranking = ans.ranking.filter((x) => x !== id);
    if (pos !== null) {
      const p = Math.max(0, Math.min(pos, ans.ranking.length));
      ans.ranking.splice(p, 0, id);
      announce(t('booth.moved', { label: label(id), rank: p + 1 }));
    } else {
      announce(t('booth.unranked_now', { label: label(id) }));
    }
    redraw();
    const target = body.querySelector(`[data-id="${CSS.escape(id)}"] [data-role="${focusWhat}"]`)
      || body.querySelector(`[data-id="${CSS.escape(id)}"] [data-role="rank"]`);
    if (target && !target.disabled) target.focus();
  };
  const rankInput = (id, value) => {
    const input = h('input.rank', {
      type: 'number', min: 1, max: n, inputmode: 'numeric', 'data-role': 'rank',
      value: value ?? '', 'aria-label': t('booth.rank_of', { label: label(id) }), disabled: ans.blank,
    });
    input.addEventListener('change', () => {
      const v = parseInt(input.value, 10);
      moveTo(id, Number.isFinite(v) && v >= 1 ? v - 1 : null, 'rank');
    });
    return input;
  };
  const dragStart = (id) => (e) => { e.dataTransfer.setData('text/plain', id); e.dataTransfer.effectAllowed = 'move'; };
  const dropOn = (pos) => (e) => {
    e.preventDefault();
    // A row's drop must not also reach the list's "drop at the end".
    e.stopPropagation();
    const id = e.dataTransfer.getData('text/plain');
    if (q.options.some((o) => o.id === id)) moveTo(id, pos === 'end' ? ans.ranking.length : pos, 'rank');
  };
  const over = (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; };
  const ranked = ans.ranking.map((id, i) => {
    const b = (role, text, aria, fn, dis) => h('button.small', { type: 'button', 'data-role': role, 'aria-label': aria, disabled: dis || ans.blank, onclick: fn }, text);
    return h('li.ranked', { draggable: 'true', 'data-id': id, ondragstart: dragStart(id), ondragover: over, ondrop: dropOn(i) },
      rankInput(id, i + 1),
      h('span.label', label(id)),
      h('span.tools',
        b('up', '↑', t('booth.move_up', { label: label(id) }), () => moveTo(id, i - 1, 'up'), i === 0),
        b('down', '↓', t('booth.move_down', { label: label(id) }), () => moveTo(id, i + 1, 'down'), i === ans.ranking.length - 1),
        b('remove', t('booth.remove'), t('booth.remove_label', { label: label(id) }), () => moveTo(id, null, 'add'))));
  });
  const unranked = q.options.filter((o) => !ans.ranking.includes(o.id)).map((o) => h('li.unranked', { draggable: 'true', 'data-id': o.id, ondragstart: dragStart(o.id) },
    rankInput(o.id, null),
    h('span.label', o.label),
    h('span.tools', h('button.small', { type: 'button', 'data-role': 'add', disabled: ans.blank, 'aria-label': t('booth.add_label', { label: o.label }), onclick: () => moveTo(o.id, ans.ranking.length, 'up') }, t('booth.add')))));
  const rankedHead = newId('rh');
  const unrankedHead = newId('uh');
  replace(body,
    h('h3', { id: rankedHead }, t('booth.your_ranking')),
    ranked.length
      ? h('ol.ranking', { 'aria-labelledby': rankedHead, ondragover: over, ondrop: dropOn('end') }, ranked)
      : h('p.dropzone', { ondragover: over, ondrop: dropOn('end') }, t('booth.ranking_empty')),
    unranked.length ? [h('h3', { id: unrankedHead }, t('booth.not_ranked')), h('ul.ranking', { 'aria-labelledby': unrankedHead }, unranked)] : null);
}

// ---- step 2: review --------------------------------------------------

function payload(questions, answers) {
  return {
    answers: questions.map((q) => {
      const a = answers.get(q.id);
      let selections = [];
      if (!a.blank) selections = kindOf(q) === 'ranked' ? a.ranking.slice() : q.options.filter((o) => a.selected.has(o.id)).map((o) => o.id);
      return { question_id: q.id, selections };
    }),
  };
}

function reviewStep(main, election, questions, answers) {
  const body = payload(questions, answers);
  // One key per reviewed ballot: changing the answers draws a new one.
  const key = crypto.randomUUID();
  const box = alertBox();
  box.tabIndex = -1;
  const items = questions.map((q, i) => {
    const sel = body.answers[i].selections;
    const label = (id) => q.options.find((o) => o.id === id)?.label ?? id;
    let shown;
    if (!sel.length) shown = h('p', h('em', t('booth.blank_answer')));
    else if (kindOf(q) === 'ranked') shown = h('ol', sel.map((id) => h('li', label(id))));
    else shown = h('ul', sel.map((id) => h('li', label(id))));
    return h('li', h('h3', q.prompt), shown);
  });
  const back = h('button', { type: 'button' }, t('booth.change'));
  back.addEventListener('click', () => markStep(main, election, questions, answers));
  const cast = h('button.primary.cast', { type: 'button' }, t('booth.cast'));
  let inFlight = false;
  cast.addEventListener('click', async () => {
    if (inFlight) return;
    inFlight = true;
    cast.disabled = true;
    back.disabled = true;
    cast.textContent = t('booth.casting');
    try {
      const res = await post(`/elections/${election.id}/ballots`, body, { headers: { 'Idempotency-Key': key } });
      receipts.set(election.id, res.receipt);
      doneStep(main, election, res.receipt);
    } catch (err) {
      inFlight = false;
      cast.disabled = false;
      back.disabled = false;
      cast.textContent = t('booth.cast_retry');
      if (err instanceof ApiError && err.status === 409) {
        // Already in (perhaps a lost answer to an earlier try) or closed.
        try {
          const mine = await get(`/elections/${election.id}/my-ballot`);
          if (mine.has_voted) return alreadyVoted(main, election, mine);
        } catch { /* fall through to the message */ }
      }
      showError(box, err);
      box.focus();
    }
  });
  replace(main,
    h('h1', t('booth.review_title')),
    header(election, 2),
    h('div.warning', { role: 'note' }, h('strong', t('booth.not_cast_yet')), ' ', t('booth.review_intro')),
    box,
    h('ol.review', items),
    h('div.actions', back, cast));
  focusHeading(main);
}

// ---- step 3: done ----------------------------------------------------

function receiptFile(receipt) {
  return new Blob([JSON.stringify(receipt, null, 2)], { type: 'application/json' });
}

function doneStep(main, election, receipt) {
  replace(main,
    h('h1', t('booth.done_title')),
    header(election, 3),
    h('div.success', { role: 'status' }, t('booth.done_intro')),
    h('p', t('booth.tracking_code')),
    h('p.tracking', { 'aria-label': t('booth.tracking_code') }, receipt.tracking_code),
    h('p', t('booth.keep_receipt')),
    h('div.actions',
      h('button.primary', { type: 'button', onclick: () => download(`ballotbox-receipt-${receipt.tracking_code}.json`, receiptFile(receipt)) }, t('booth.download_receipt')),
      h('a.button', { href: `#/elections/${election.id}/receipt` }, t('elections.check_receipt')),
      h('a.button', { href: '#/elections' }, t('booth.back_to_list'))));
  focusHeading(main);
}

function alreadyVoted(main, election, mine) {
  const r = receipts.get(election.id);
  replace(main,
    h('h1', election.title, ' ', stateBadge(election.state)),
    h('div.success', { role: 'status' }, t('booth.already', { at: fmtDate(mine.cast_at) })),
    r ? h('p', t('booth.tracking_code'), ' ', h('span.tracking', r.tracking_code)) : h('p', t('booth.no_receipt_here')),
    h('div.actions',
      r ? h('button', { type: 'button', onclick: () => download(`ballotbox-receipt-${r.tracking_code}.json`, receiptFile(r)) }, t('booth.download_receipt')) : null,
      h('a.button', { href: `#/elections/${election.id}/receipt` }, t('elections.check_receipt')),
      h('a.button', { href: '#/elections' }, t('booth.back_to_list'))));
  focusHeading(main);
}

