// "My elections": every election the user may see, its state, deadlines
// and what the user can do with it now.
import { h, replace } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { all, get, hasRole } from '../api.js';
import { stateBadge, loading, failed } from '../ui.js';

export async function electionsView(main, _params, live) {
  loading(main);
  let elections;
  try {
    elections = await all('/elections');
  } catch (err) {
    return failed(main, err);
  }
  const staff = hasRole('admin') || hasRole('auditor');
  const voter = hasRole('voter');
  const voted = new Map();
  if (voter) {
    await Promise.all(elections.filter((e) => e.state !== 'draft').map(async (e) => {
      try { voted.set(e.id, await get(`/elections/${e.id}/my-ballot`)); } catch { /* not on the roll */ }
    }));
  }
  if (!live()) return;
  const order = { open: 0, draft: 1, closed: 2, tallied: 3, published: 4 };
  elections.sort((a, b) => (order[a.state] - order[b.state]) || a.title.localeCompare(b.title));
  const cards = elections.map((e) => card(e, voted.get(e.id), staff));
  replace(main,
    h('h1', t('elections.title')),
    hasRole('admin') ? h('p', h('a.button', { href: '#/admin/elections/new' }, t('admin.new_election'))) : null,
    cards.length ? h('ul.cards', cards) : h('p', t('elections.none')));
}

function card(e, mine, staff) {
  const actions = [];
  const hasVoted = mine?.has_voted;
  if (e.state === 'open' && mine && !hasVoted) {
    actions.push(h('a.button.primary', { href: `#/elections/${e.id}/vote` }, t('elections.vote')));
  }
  if (hasVoted) actions.push(h('span.done', t('elections.voted', { at: fmtDate(mine.cast_at) })));
  if (mine && ['closed', 'tallied', 'published'].includes(e.state)) {
    actions.push(h('a.button', { href: `#/elections/${e.id}/receipt` }, t('elections.check_receipt')));
  }
  if (e.state === 'published' || (staff && e.state === 'tallied')) {
    actions.push(h('a.button', { href: `#/elections/${e.id}/results` }, t('elections.results')));
  }
  if (hasRole('admin')) actions.push(h('a.button', { href: `#/admin/elections/${e.id}` }, t('elections.manage')));
  if (staff) actions.push(h('a.button', { href: `#/elections/${e.id}/audit` }, t('elections.audit')));
  const dates = [];
  if (e.opens_at) dates.push(h('div', t('elections.opens', { at: fmtDate(e.opens_at) })));
  if (e.closes_at) dates.push(h('div', t('elections.closes', { at: fmtDate(e.closes_at) })));
  return h('li.card',
    h('h2', e.title, ' ', stateBadge(e.state)),
    e.description ? h('p', e.description) : null,
    dates,
    h('div.actions', actions));
}
