// Admin pages: users (create, CSV import, roles, disable), elections
// (create and edit questions, roll, schedule, open, close, tally, publish),
// turnout, and mail status where the server sends mail.
import { h, replace, newId, announce } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { get, post, patch, del, all, ApiError, hasRole, currentUser } from '../api.js';
import { go } from '../router.js';
import { field, alertBox, showError, showMessage, clearBox, markFields, stateBadge, loading, failed, actionButton } from '../ui.js';

const ROLES = ['voter', 'admin', 'auditor'];
const METHODS = ['plurality', 'approval', 'borda', 'irv', 'stv', 'schulze'];

function needAdmin(main) {
  if (hasRole('admin')) return false;
  replace(main, h('h1', t('error.403')), h('p', h('a', { href: '#/' }, t('nav.home'))));
  return true;
}

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); cell = '';
      if (row.some((x) => x.trim() !== '')) rows.push(row);
      row = [];
    } else cell += c;
  }
  row.push(cell);
  if (row.some((x) => x.trim() !== '')) rows.push(row);
  return rows.map((r) => r.map((x) => x.trim()));
}

function inviteLink(token) {
  return `${location.origin}/#/activate/${encodeURIComponent(token)}`;
}

function rolesBoxes(selected, legend) {
  const boxes = ROLES.map((r) => {
    const cb = h('input', { type: 'checkbox', value: r, id: newId('role'), checked: selected.includes(r) });
    return h('span.choice', cb, h('label', { for: cb.id }, t(`role.${r}`)));
  });
  const fs = h('fieldset.roles', h('legend', legend), boxes);
  fs.value = () => [...fs.querySelectorAll('input:checked')].map((c) => c.value);
  return fs;
}

// ---- users -----------------------------------------------------------

export async function usersView(main, _p, live) {
  if (needAdmin(main)) return;
  const listBox = h('div');
  const createBox = alertBox();
  const email = field(t('users.email'), h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' }));
  const name = field(t('users.display_name'), h('input', { type: 'text', name: 'display_name', required: true, autocomplete: 'off' }));
  const roles = rolesBoxes(['voter'], t('users.roles'));
  const pw = field(t('users.password_optional'), h('input', { type: 'password', name: 'password', autocomplete: 'new-password' }), t('users.password_hint'));
  const createForm = h('form', { novalidate: true }, createBox, email.wrap, name.wrap, roles, pw.wrap, h('button.primary', { type: 'submit' }, t('users.create')));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearBox(createBox);
    const body = { email: email.input.value.trim(), display_name: name.input.value.trim(), roles: roles.value() };
    if (pw.input.value) body.password = pw.input.value;
    try {
      const res = await post('/users', body);
      createForm.reset();
      createBox.hidden = false;
      createBox.className = 'success';
      replace(createBox, h('p', t('users.created', { email: res.user.email })),
        res.invitation_token ? invitation(res.invitation_token) : null);
      await drawList();
    } catch (err) {
      createBox.className = 'alert';
      showError(createBox, err);
      markFields(createForm, err);
    }
  });

  const importBox = alertBox();
  const csvFile = field(t('users.csv_file'), h('input', { type: 'file', accept: '.csv,text/csv' }));
  const csvText = field(t('users.csv_text'), h('textarea', { rows: 5, spellcheck: 'false', name: 'csv' }), t('users.csv_hint'));
  csvFile.input.addEventListener('change', async () => {
    const f = csvFile.input.files[0];
    if (f) csvText.input.value = await f.text();
  });
  const importForm = h('form', { novalidate: true }, importBox, csvFile.wrap, csvText.wrap, h('button.primary', { type: 'submit' }, t('users.import')));
  importForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearBox(importBox);
    let rows = parseCsv(csvText.input.value);
    if (rows.length && rows[0][0].toLowerCase() === 'email') rows = rows.slice(1);
    const users = rows.map((r) => {
      const u = { email: r[0] || '', display_name: r[1] || r[0] || '' };
      if (r[2]) u.roles = r[2].split(/[|; ]+/).filter(Boolean);
      return u;
    });
    if (!users.length) { showMessage(importBox, t('users.csv_empty')); return; }
    try {
      const rep = await post('/users/import', { users });
      importBox.hidden = false;
      importBox.className = rep.errors.length ? 'alert' : 'success';
      replace(importBox,
        h('p', t('users.import_report', { created: rep.created.length, existing: rep.existing.length, errors: rep.errors.length })),
        rep.created.length ? h('div.table-wrap', h('table',
          h('caption', t('users.invitations')),
          h('thead', h('tr', h('th', { scope: 'col' }, t('users.email')), h('th', { scope: 'col' }, t('users.invitation_link')))),
          h('tbody', rep.created.map((c) => h('tr', h('td', c.user.email), h('td.mono', inviteLink(c.invitation_token))))))) : null,
        rep.existing.length ? h('p', t('users.existing'), ' ', rep.existing.join(', ')) : null,
        rep.errors.length ? h('ul', rep.errors.map((er) => h('li', t('users.row_error', { row: er.index + 1, message: er.message })))) : null);
      await drawList();
    } catch (err) {
      importBox.className = 'alert';
      showError(importBox, err);
    }
  });

  const q = h('input', { type: 'search', id: newId('q'), name: 'q' });
  const roleFilter = h('select', { id: newId('rf') }, h('option', { value: '' }, t('users.any_role')), ROLES.map((r) => h('option', { value: r }, t(`role.${r}`))));
  const search = h('form.actions', { role: 'search' },
    h('label', { for: q.id }, t('users.search')), q,
    h('label', { for: roleFilter.id }, t('users.roles')), roleFilter,
    h('button', { type: 'submit' }, t('users.search_go')));
  search.addEventListener('submit', (e) => { e.preventDefault(); drawList(); });

  async function drawList(cursor, append) {
    const params = new URLSearchParams({ limit: '50' });
    if (q.value.trim()) params.set('q', q.value.trim());
    if (roleFilter.value) params.set('role', roleFilter.value);
    if (cursor) params.set('cursor', cursor);
    let page;
    try { page = await get(`/users?${params}`); } catch (err) { replace(listBox, h('p.alert', { role: 'alert' }, String(err.message))); return; }
    const rows = page.items.map(userRow);
    let tbody = listBox.querySelector('tbody');
    if (!append || !tbody) {
      tbody = h('tbody');
      replace(listBox, h('div.table-wrap', h('table',
        h('caption', t('users.list')),
        h('thead', h('tr', ['users.display_name', 'users.email', 'users.roles', 'users.status', 'users.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
        tbody)));
    }
    tbody.append(...rows);
    listBox.querySelector('.more')?.remove();
    if (page.next_cursor) {
      listBox.append(h('button.more', { type: 'button', onclick: () => drawList(page.next_cursor, true) }, t('common.more')));
    }
  }

  function userRow(u) {
    const self = u.id === currentUser()?.id;
    const roleSet = rolesBoxes(u.roles, t('users.roles_of', { name: u.display_name }));
    const box = h('div.alert', { role: 'alert', hidden: true });
    const save = actionButton(t('users.save_roles'), async () => {
      try { await patch(`/users/${u.id}`, { roles: roleSet.value() }); announce(t('users.saved')); box.hidden = true; } catch (err) { showError(box, err); }
    }, 'small');
    const toggle = actionButton(u.disabled ? t('users.enable') : t('users.disable'), async () => {
      try { await patch(`/users/${u.id}`, { disabled: !u.disabled }); await drawList(); } catch (err) { showError(box, err); }
    }, u.disabled ? 'small' : 'small.danger');
    if (self) toggle.disabled = true;
    return h('tr',
      h('td', u.display_name), h('td', u.email), h('td', roleSet),
      h('td', u.disabled ? t('users.disabled') : t('users.active'), u.mfa ? ` · ${t('users.mfa_on')}` : ''),
      h('td', h('div.actions', save, toggle), box));
  }

  replace(main,
    h('h1', t('users.title')),
    h('section', { 'aria-labelledby': 'create-h' }, h('h2', { id: 'create-h' }, t('users.create_title')), createForm),
    h('section', { 'aria-labelledby': 'import-h' }, h('h2', { id: 'import-h' }, t('users.import_title')), importForm),
    h('section', { 'aria-labelledby': 'list-h' }, h('h2', { id: 'list-h' }, t('users.list')), search, listBox));
  await drawList();
}

function invitation(token) {
  const id = newId('inv');
  return h('div.field', h('label', { for: id }, t('users.invitation_link')),
    h('input', { type: 'text', id, readonly: true, value: inviteLink(token), class: 'mono' }),
    h('span.hint', t('users.invitation_hint')));
}

// ---- election editor -------------------------------------------------

function toLocal(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocal(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function questionEditor(q, index, onRemove) {
  const prompt = field(t('editor.prompt'), h('input', { type: 'text', name: `questions[${index}].prompt`, value: q?.prompt || '', required: true }));
  const method = field(t('editor.method'), h('select', { name: `questions[${index}].method` }, METHODS.map((m) => h('option', { value: m }, t(`method.${m}`)))));
  method.input.value = q?.method || 'plurality';
  const seats = field(t('editor.seats'), h('input', { type: 'number', min: 1, name: `questions[${index}].seats`, value: q?.seats ?? 1 }), t('editor.seats_hint'));
  const min = field(t('editor.min'), h('input', { type: 'number', min: 0, name: `questions[${index}].min_selections`, value: q?.min_selections ?? '' }), t('editor.minmax_hint'));
  const max = field(t('editor.max'), h('input', { type: 'number', min: 1, name: `questions[${index}].max_selections`, value: q?.max_selections ?? '' }));
  const blank = h('input', { type: 'checkbox', id: newId('ab'), checked: !!q?.allow_blank });
  const options = field(t('editor.options'), h('textarea', { rows: 5, name: `questions[${index}].options`, value: (q?.options || []).slice().sort((a, b) => a.position - b.position).map((o) => o.label).join('\n') }), t('editor.options_hint'));
  const fs = h('fieldset.question',
    h('legend', t('booth.question_n', { n: index + 1 })),
    prompt.wrap, method.wrap, seats.wrap, min.wrap, max.wrap,
    h('div.blank', blank, h('label', { for: blank.id }, t('editor.allow_blank'))),
    options.wrap,
    h('button.small.danger', { type: 'button', onclick: onRemove }, t('editor.remove_question')));
  fs.value = () => {
    const out = {
      prompt: prompt.input.value.trim(),
      method: method.input.value,
      allow_blank: blank.checked,
      options: options.input.value.split('\n').map((s) => s.trim()).filter(Boolean).map((label) => ({ label })),
    };
    const num = (el) => (el.value === '' ? undefined : parseInt(el.value, 10));
    if (num(seats.input) !== undefined) out.seats = num(seats.input);
    if (num(min.input) !== undefined) out.min_selections = num(min.input);
    if (num(max.input) !== undefined) out.max_selections = num(max.input);
    return out;
  };
  return fs;
}

export async function electionEditView(main, params, live) {
  if (needAdmin(main)) return;
  let e = null;
  if (params.id) {
    try { e = await get(`/elections/${params.id}`); } catch (err) { return failed(main, err); }
    if (!live()) return;
  }
  const box = alertBox();
  box.tabIndex = -1;
  const title = field(t('editor.title'), h('input', { type: 'text', name: 'title', required: true, value: e?.title || '' }));
  const desc = field(t('editor.description'), h('textarea', { name: 'description', rows: 3, value: e?.description || '' }));
  const elig = field(t('editor.eligibility'), h('select', { name: 'eligibility' },
    h('option', { value: 'roll' }, t('editor.elig_roll')), h('option', { value: 'all_voters' }, t('editor.elig_all'))));
  elig.input.value = e?.eligibility || 'roll';
  const opens = field(t('editor.opens_at'), h('input', { type: 'datetime-local', name: 'opens_at', value: toLocal(e?.opens_at) }), t('editor.time_hint'));
  const closes = field(t('editor.closes_at'), h('input', { type: 'datetime-local', name: 'closes_at', value: toLocal(e?.closes_at) }));
  const qWrap = h('div');
  let editors = [];
  const drawQuestions = (qs) => {
    editors = qs.map((q, i) => questionEditor(q, i, () => { drawQuestions(editors.map((ed) => ed.value()).filter((_, j) => j !== i)); }));
    replace(qWrap, editors);
  };
  drawQuestions(e?.questions?.length ? e.questions : [null]);
  const addQ = h('button', { type: 'button', onclick: () => { drawQuestions([...editors.map((ed) => ed.value()), null]); editors.at(-1).querySelector('input').focus(); } }, t('editor.add_question'));
  const save = h('button.primary', { type: 'submit' }, t('common.save'));
  const form = h('form', { novalidate: true }, box, title.wrap, desc.wrap, elig.wrap, opens.wrap, closes.wrap,
    h('h2', t('editor.questions')), qWrap, h('div.actions', addQ), h('div.actions', save));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (save.disabled) return;
    clearBox(box);
    const body = {
      title: title.input.value.trim(),
      description: desc.input.value.trim(),
      eligibility: elig.input.value,
      questions: editors.map((ed) => ed.value()),
    };
    const o = fromLocal(opens.input.value);
    const c = fromLocal(closes.input.value);
    if (e) { body.opens_at = o; body.closes_at = c; } else { if (o) body.opens_at = o; if (c) body.closes_at = c; }
    save.disabled = true;
    try {
      const saved = e ? await patch(`/elections/${e.id}`, body) : await post('/elections', body);
      go(`/admin/elections/${saved.id}`);
    } catch (err) {
      showError(box, err);
      markFields(form, err);
      box.focus();
    } finally {
      save.disabled = false;
    }
  });
  replace(main, h('h1', e ? t('editor.edit_title', { title: e.title }) : t('admin.new_election')), form);
}

// ---- one election ----------------------------------------------------

const NEXT = {
  draft: ['open', 'schedule'],
  open: ['close'],
  closed: ['tally'],
  tallied: ['publish'],
  published: [],
};

export async function electionAdminView(main, { id }, live) {
  if (needAdmin(main)) return;
  loading(main);
  let e;
  let turnout = null;
  try {
    e = await get(`/elections/${id}`);
    turnout = await get(`/elections/${id}/turnout`).catch(() => null);
  } catch (err) {
    return failed(main, err);
  }
  if (!live()) return;
  const box = alertBox();
  box.tabIndex = -1;
  const redraw = () => electionAdminView(main, { id }, live);

  const lifecycle = NEXT[e.state].filter((a) => a !== 'schedule' || (e.opens_at && new Date(e.opens_at) > new Date())).map((action) => actionButton(t(`lifecycle.${action}`), async () => {
    if (['close', 'tally', 'publish'].includes(action) && !window.confirm(t(`lifecycle.confirm_${action}`))) return;
    try {
      await post(`/elections/${id}/${action}`);
      announce(t('lifecycle.done', { action: t(`lifecycle.${action}`) }));
      await redraw();
    } catch (err) { showError(box, err); box.focus(); }
  }, action === 'open' || action === 'publish' ? 'primary' : ''));
  if (e.state === 'draft') {
    lifecycle.push(h('a.button', { href: `#/admin/elections/${id}/edit` }, t('lifecycle.edit')));
    lifecycle.push(actionButton(t('lifecycle.delete'), async () => {
      if (!window.confirm(t('common.confirm'))) return;
      try { await del(`/elections/${id}`); go('/elections'); } catch (err) { showError(box, err); }
    }, 'danger'));
  }
  if (['tallied', 'published'].includes(e.state)) lifecycle.push(h('a.button', { href: `#/elections/${id}/results` }, t('elections.results')));
  lifecycle.push(h('a.button', { href: `#/elections/${id}/audit` }, t('elections.audit')));

  const summary = h('dl.summary',
    h('dt', t('editor.eligibility')), h('dd', e.eligibility === 'roll' ? t('editor.elig_roll') : t('editor.elig_all')),
    e.opens_at ? [h('dt', t('editor.opens_at')), h('dd', fmtDate(e.opens_at))] : null,
    e.closes_at ? [h('dt', t('editor.closes_at')), h('dd', fmtDate(e.closes_at))] : null,
    h('dt', t('editor.questions')), h('dd', h('ol', e.questions.map((q) => h('li', `${q.prompt} (${t(`method.${q.method}`)}, ${q.options.length} ${t('editor.options_count')})`)))));

  const turnoutEl = turnout ? h('section', { 'aria-labelledby': 'turnout-h' },
    h('h2', { id: 'turnout-h' }, t('turnout.title')),
    h('p', t('turnout.line', { voted: turnout.voted, eligible: turnout.eligible, pct: turnout.eligible ? Math.round((100 * turnout.voted) / turnout.eligible) : 0 })),
    turnout.weight_eligible !== undefined ? h('p', t('turnout.weight', { voted: turnout.weight_voted, eligible: turnout.weight_eligible })) : null,
    h('progress', { max: Math.max(1, turnout.eligible), value: turnout.voted, 'aria-labelledby': 'turnout-h' })) : null;

  replace(main,
    h('h1', e.title, ' ', stateBadge(e.state)),
    box,
    h('div.actions', lifecycle),
    summary,
    turnoutEl,
    e.eligibility === 'roll' ? await rollSection(e, redraw) : null,
    await mailSection(e));
}

async function rollSection(e, redraw) {
  const box = alertBox();
  let roll = [];
  try { roll = await all(`/elections/${e.id}/voters`); } catch (err) { showError(box, err); }
  const canAdd = ['draft', 'open'].includes(e.state);
  const emails = field(t('roll.emails'), h('textarea', { rows: 4, name: 'emails', spellcheck: 'false' }), t('roll.emails_hint'));
  const file = field(t('roll.csv_file'), h('input', { type: 'file', accept: '.csv,text/csv,text/plain' }));
  file.input.addEventListener('change', async () => {
    const f = file.input.files[0];
    if (f) emails.input.value = parseCsv(await f.text()).map((r) => r[0]).filter((x) => x.includes('@')).join('\n');
  });
  const form = h('form', { novalidate: true }, emails.wrap, file.wrap, h('button.primary', { type: 'submit' }, t('roll.add')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const list = emails.input.value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
    if (!list.length) return;
    try {
      const r = await post(`/elections/${e.id}/voters`, { emails: list });
      await redraw();
      announce(t('roll.report', { added: r.added, already: r.already, unknown: r.unknown.length }));
      const again = document.getElementById('roll-report');
      if (again) {
        again.hidden = false;
        replace(again, h('p', t('roll.report', { added: r.added, already: r.already, unknown: r.unknown.length })), r.unknown.length ? h('p', t('roll.unknown'), ' ', r.unknown.join(', ')) : null);
      }
    } catch (err) { showError(box, err); }
  });
  // Weighted rolls (API v2) list each voter's weight.
  const weighted = roll.some((v) => v.weight !== undefined);
  const rows = roll.map((v) => h('tr',
    h('td', v.display_name), h('td', v.email), weighted ? h('td.num', v.weight) : null, h('td', v.has_voted ? t('common.yes') : t('common.no')),
    e.state === 'draft' ? h('td', actionButton(t('roll.remove'), async () => {
      try { await del(`/elections/${e.id}/voters/${v.id}`); await redraw(); } catch (err) { showError(box, err); }
    }, 'small.danger')) : null));
  return h('section', { 'aria-labelledby': 'roll-h' },
    h('h2', { id: 'roll-h' }, t('roll.title', { n: roll.length })),
    box,
    h('div.success', { id: 'roll-report', role: 'status', hidden: true }),
    canAdd ? form : null,
    roll.length ? h('div.table-wrap', h('table',
      h('caption', t('roll.caption')),
      h('thead', h('tr', h('th', { scope: 'col' }, t('users.display_name')), h('th', { scope: 'col' }, t('users.email')), weighted ? h('th', { scope: 'col' }, t('roll.weight')) : null, h('th', { scope: 'col' }, t('roll.has_voted')), e.state === 'draft' ? h('th', { scope: 'col' }, t('users.actions')) : null)),
      h('tbody', rows))) : h('p', t('roll.empty')));
}

/** Mail status (API v2, with mail configured): hidden where the server
 * has no mail endpoint. */
async function mailSection(e) {
  let page;
  try {
    page = await get(`/mail?election_id=${e.id}&limit=100`);
  } catch (err) {
    if (err instanceof ApiError && [404, 405].includes(err.status)) return null;
    return null;
  }
  const items = page.items || [];
  return h('section', { 'aria-labelledby': 'mail-h' },
    h('h2', { id: 'mail-h' }, t('mail.title')),
    items.length ? h('div.table-wrap', h('table',
      h('thead', h('tr', ['mail.to', 'mail.kind', 'mail.status', 'mail.attempts', 'mail.error'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', items.map((m) => h('tr', h('td', m.to), h('td', m.kind), h('td', m.status), h('td.num', m.attempts), h('td', m.last_error || '')))))) : h('p', t('mail.none')),
    e.state === 'open' ? actionButton(t('mail.remind'), async (b) => {
      try { const r = await post(`/elections/${e.id}/reminders`); announce(t('mail.queued', { n: r.queued })); b.textContent = t('mail.queued', { n: r.queued }); } catch { /* shown by the list on reload */ }
    }) : null);
}

