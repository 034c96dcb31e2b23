// A whole election in a real browser (Debian's Chromium driven by
// playwright-core), once per database: an admin creates the voters and the
// election in the UI, three voters vote (one with the keyboard only, one at
// phone width), the admin closes, tallies and publishes, an auditor
// downloads the export and checks the audit chain, and a voter checks the
// receipt in the browser. axe-core runs on every page and fails the test on
// any serious or critical violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { startServer, postgresAvailable, ROOT } from './server.mjs';
import en from '../../web/i18n/en.js';
import fr from '../../web/i18n/fr.js';

const CHROMIUM = process.env.CHROMIUM_PATH || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const SHOTS = process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs/screenshots') : null;
const pw = (who) => `${who}-Ballot-${Math.random().toString(36).slice(2, 10)}-x9`;

test('the French catalogue has every English key, and no other', () => {
  const missing = Object.keys(en).filter((k) => !(k in fr));
  const extra = Object.keys(fr).filter((k) => !(k in en));
  assert.deepEqual(missing, [], 'keys missing in fr.js');
  assert.deepEqual(extra, [], 'keys only in fr.js');
  for (const [k, v] of Object.entries(en)) {
    const params = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(params(fr[k]), params(v), `placeholders of ${k}`);
    assert.ok(fr[k].trim(), `empty French message ${k}`);
  }
});

class Axe {
  constructor() { this.failures = []; this.pages = 0; }
  async check(page, name) {
    const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
    this.pages += 1;
    for (const v of r.violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        this.failures.push(`${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
      }
    }
  }
}

/** Presses Tab until the focused element's accessible name matches. */
async function tabTo(page, name, max = 80, key = 'Tab') {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const got = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el) return '';
      return (el.getAttribute('aria-label') || el.labels?.[0]?.textContent || el.textContent || '').trim();
    });
    if (typeof name === 'string' ? got === name : name.test(got)) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function login(page, base, email, password) {
  await page.goto(`${base}/#/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'My elections' }).waitFor();
}

async function wholeElection(backend) {
  const admin = { email: 'admin@example.org', name: 'Ada Admin', password: pw('adm') };
  const server = await startServer(backend, admin);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const axe = new Axe();
  const errors = [];
  const newPage = async (opts = {}) => {
    const ctx = await browser.newContext({ acceptDownloads: true, locale: 'en-GB', ...opts });
    ctx.setDefaultTimeout(10000);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${e.message}`));
    // API refusals the pages expect (a 404 for checkpoints on a server
    // without them, a 409 board before close) log "Failed to load resource":
    // those are judged by status below, everything else is an error.
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (r.status() >= 500 || (r.status() >= 400 && !u.pathname.startsWith('/api/'))) errors.push(`${r.status()} ${u.pathname}`);
    });
    page.on('dialog', (d) => d.accept());
    return page;
  };
  const base = server.base;
  try {
    // ---- admin: voters, auditor, election, roll, open ----
    const a = await newPage();
    await a.goto(base);
    await a.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    const csp = (await a.request.get(`${base}/`)).headers()['content-security-policy'];
    assert.ok(csp && !csp.includes('unsafe') && csp.includes("script-src 'self'"), `CSP: ${csp}`);
    await axe.check(a, 'login');
    await login(a, base, admin.email, admin.password);
    await axe.check(a, 'my elections (admin, empty)');

    await a.getByRole('link', { name: 'Users' }).click();
    await a.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    const voters = [1, 2, 3].map((i) => ({ email: `voter${i}@example.org`, name: `Voter ${i}`, password: pw(`v${i}`) }));
    await a.getByLabel('Or paste CSV').fill(`email,display_name,roles\n${voters.map((v) => `${v.email},${v.name},voter`).join('\n')}\n"spare@example.org","Spare, Sam",voter\n`);
    await a.getByRole('button', { name: 'Import' }).click();
    await a.getByText('4 created, 0 already existed, 0 refused.').waitFor();
    const spare = a.getByRole('row', { name: /spare@example\.org/ }).last();
    await spare.getByRole('button', { name: 'Disable' }).click();
    await a.getByRole('row', { name: /Spare, Sam.*Disabled/ }).waitFor();
    for (const v of voters) {
      v.link = (await a.getByRole('row', { name: new RegExp(v.email) }).locator('td.mono').textContent()).trim();
      assert.match(v.link, /#\/activate\//);
    }
    const auditor = { email: 'auditor@example.org', name: 'Otto Auditor', password: pw('aud') };
    await a.getByLabel('Email', { exact: true }).fill(auditor.email);
    await a.getByLabel('Name', { exact: true }).fill(auditor.name);
    const create = a.locator('section').filter({ has: a.getByRole('heading', { name: 'Create a user' }) });
    await create.getByLabel('Voter').uncheck();
    await create.getByLabel('Auditor').check();
    await a.getByLabel('Password (optional)').fill(auditor.password);
    await a.getByRole('button', { name: 'Create user' }).click();
    await a.getByText(`User ${auditor.email} created.`).waitFor();
    await axe.check(a, 'users');

    await a.getByRole('link', { name: 'Elections' }).click();
    await a.getByRole('link', { name: 'New election' }).click();
    await a.getByRole('heading', { level: 1, name: 'New election' }).waitFor();
    await a.getByLabel('Title').fill('Club committee 20XX');
    await a.getByLabel('Description').fill('Annual election of the committee.');
    const q = (i) => a.locator('fieldset.question').nth(i);
    const fillQ = async (i, prompt, method, options, blank, seats) => {
      await q(i).getByLabel('Question', { exact: true }).fill(prompt);
      await q(i).getByLabel('Counting method').selectOption(method);
      if (seats) await q(i).getByLabel('Seats (winners)').fill(String(seats));
      await q(i).getByLabel('Options').fill(options.join('\n'));
      if (blank) await q(i).getByLabel('Allow a blank answer').check();
    };
    await fillQ(0, 'Who should chair?', 'plurality', ['Alice', 'Bob', 'Carol'], true);
    await a.getByRole('button', { name: 'Add a question' }).click();
    await fillQ(1, 'Who should be treasurer?', 'irv', ['Dan', 'Eve', 'Finn']);
    await a.getByRole('button', { name: 'Add a question' }).click();
    await fillQ(2, 'Where should we meet?', 'schulze', ['Hall', 'Park', 'Barn']);
    await a.getByRole('button', { name: 'Add a question' }).click();
    await fillQ(3, 'Who should sit on the board?', 'stv', ['Gus', 'Ivy', 'Jo', 'Kim'], true, 2);
    await axe.check(a, 'election editor');
    await a.getByRole('button', { name: 'Save' }).click();
    await a.getByRole('heading', { level: 1, name: /Club committee 20/ }).waitFor();
    // Edit the draft: the title, and the questions come back as saved.
    await a.getByRole('link', { name: 'Edit' }).click();
    await a.getByRole('heading', { level: 1, name: /Edit:/ }).waitFor();
    assert.equal(await q(2).getByLabel('Options').inputValue(), 'Hall\nPark\nBarn');
    await a.getByLabel('Title').fill('Club committee 2027');
    await a.getByRole('button', { name: 'Save' }).click();
    await a.getByRole('heading', { level: 1, name: /Club committee 2027/ }).waitFor();
    const electionId = a.url().split('/').pop();
    await a.getByLabel('Add voters by email').fill(voters.map((v) => v.email).join('\n'));
    await a.getByRole('button', { name: 'Add to the roll' }).click();
    await a.getByRole('heading', { name: 'Voter roll (3)' }).waitFor();
    await axe.check(a, 'manage election (draft)');
    await a.getByRole('button', { name: 'Open voting now' }).click();
    await a.locator('.badge', { hasText: 'Open' }).first().waitFor();

    // ---- voter 1: mouse, desktop; double-clicks "Cast" ----
    const v1 = await newPage();
    await v1.goto(voters[0].link);
    await v1.getByRole('heading', { level: 1, name: 'Activate your account' }).waitFor();
    await axe.check(v1, 'activate');
    await v1.getByLabel('New password', { exact: true }).fill(voters[0].password);
    await v1.getByLabel('New password again').fill(voters[0].password);
    await v1.getByRole('button', { name: 'Activate and sign in' }).click();
    await v1.getByRole('heading', { level: 1, name: 'My elections' }).waitFor();
    assert.ok(!v1.url().includes('activate/'), 'the spent invitation stays out of the address');
    await axe.check(v1, 'my elections (voter)');
    await v1.getByRole('link', { name: 'Vote', exact: true }).click();
    await v1.getByRole('heading', { level: 1, name: /Ballot: Club committee 2027/ }).waitFor();
    await v1.getByLabel('Alice').check();
    await v1.getByRole('button', { name: 'Add Eve to the ranking' }).click();
    await v1.getByRole('button', { name: 'Add Dan to the ranking' }).click();
    await v1.getByRole('button', { name: 'Move Dan up' }).click();
    await v1.getByRole('button', { name: 'Move Dan down' }).click();
    // Drag and drop: Park onto the empty ranking, then Hall above it.
    await v1.locator('li.unranked[data-id]', { hasText: 'Park' }).dragTo(v1.locator('fieldset.question').nth(2).locator('.dropzone'));
    await v1.locator('li.unranked[data-id]', { hasText: 'Hall' }).dragTo(v1.locator('fieldset.question').nth(2).locator('li.ranked', { hasText: 'Park' }));
    const ranks = await v1.locator('fieldset.question').nth(2).locator('li.ranked .label').allTextContents();
    assert.deepEqual(ranks, ['Hall', 'Park'], 'drag and drop ranks');
    await v1.getByRole('button', { name: 'Add Gus to the ranking' }).click();
    await v1.getByRole('button', { name: 'Add Ivy to the ranking' }).click();
    await axe.check(v1, 'booth');
    await shot(v1, 'booth');
    await v1.getByRole('button', { name: 'Review my ballot' }).click();
    await v1.getByRole('heading', { level: 1, name: 'Review your ballot: NOT cast yet' }).waitFor();
    await v1.getByText('Your vote has not been cast yet.').waitFor();
    await axe.check(v1, 'review');
    await shot(v1, 'review');
    await v1.getByRole('button', { name: 'Cast my ballot' }).dblclick();
    await v1.getByRole('heading', { level: 1, name: 'Your vote has been cast' }).waitFor();
    const tracking = (await v1.locator('p.tracking').textContent()).trim();
    assert.match(tracking, /^[0-9A-Z]{8,}$/);
    await axe.check(v1, 'cast');
    const [dl] = await Promise.all([v1.waitForEvent('download'), v1.getByRole('button', { name: 'Download my receipt' }).click()]);
    const receiptPath = await dl.path();
    const receipt = JSON.parse(readFileSync(receiptPath, 'utf8'));
    assert.equal(receipt.tracking_code, tracking);

    // ---- voter 2: keyboard only ----
    const v2 = await newPage();
    await v2.goto(voters[1].link);
    await v2.getByRole('heading', { level: 1, name: 'Activate your account' }).waitFor();
    await tabTo(v2, 'New password');
    await v2.keyboard.type(voters[1].password);
    await v2.keyboard.press('Tab');
    await v2.keyboard.type(voters[1].password);
    await v2.keyboard.press('Enter');
    await v2.getByRole('heading', { level: 1, name: 'My elections' }).waitFor();
    await tabTo(v2, 'Skip to content', 20, 'Shift+Tab');
    await v2.keyboard.press('Enter');
    assert.equal(await v2.evaluate(() => [location.hash, document.activeElement.id].join(' ')), '#/ main', 'the skip link keeps the page');
    await tabTo(v2, 'Vote');
    await v2.keyboard.press('Enter');
    await v2.getByRole('heading', { level: 1, name: /Ballot:/ }).waitFor();
    await tabTo(v2, 'Alice');
    await v2.keyboard.press('Space');
    await tabTo(v2, 'Add Dan to the ranking');
    await v2.keyboard.press('Enter');
    await tabTo(v2, 'Add Finn to the ranking');
    await v2.keyboard.press('Enter');
    await tabTo(v2, 'Rank of Park');
    await v2.keyboard.type('1');
    await v2.keyboard.press('Tab');
    await tabTo(v2, 'Rank of Barn');
    await v2.keyboard.type('1');
    await v2.keyboard.press('Tab');
    await tabTo(v2, 'Add Jo to the ranking');
    await v2.keyboard.press('Enter');
    await tabTo(v2, 'Leave this question blank');
    await v2.keyboard.press('Space');
    assert.equal(await v2.getByRole('button', { name: 'Remove Jo from the ranking' }).isDisabled(), true, 'blank disables the ranking');
    await tabTo(v2, 'Review my ballot');
    await v2.keyboard.press('Enter');
    await v2.getByRole('heading', { level: 1, name: 'Review your ballot: NOT cast yet' }).waitFor();
    const reviewed = await v2.locator('ol.review > li').nth(2).locator('li').allTextContents();
    assert.deepEqual(reviewed, ['Barn', 'Park'], 'ranks typed as numbers');
    await tabTo(v2, 'Cast my ballot');
    await v2.keyboard.press('Enter');
    await v2.getByRole('heading', { level: 1, name: 'Your vote has been cast' }).waitFor();

    // ---- voter 3: phone width, in French; a wrong ballot first ----
    const v3 = await newPage({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    await v3.goto(voters[2].link);
    await v3.getByLabel('Language').selectOption('fr');
    await v3.getByRole('heading', { level: 1, name: 'Activer votre compte' }).waitFor();
    await axe.check(v3, 'activate (fr, phone)');
    await v3.getByLabel('Nouveau mot de passe', { exact: true }).fill(voters[2].password);
    await v3.getByLabel('Nouveau mot de passe (confirmation)').fill(voters[2].password);
    await v3.getByRole('button', { name: 'Activer et se connecter' }).click();
    await v3.getByRole('link', { name: 'Voter', exact: true }).click();
    await v3.getByRole('heading', { level: 1, name: /Bulletin/ }).waitFor();
    const overflow = await v3.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling at 360 px (${overflow} px)`);
    await v3.getByRole('button', { name: 'Relire mon bulletin' }).click();
    await v3.getByText('Veuillez corriger ces réponses :').waitFor();
    await axe.check(v3, 'booth with errors (fr, phone)');
    await shot(v3, 'booth-phone-errors');
    await v3.getByLabel('Laisser cette question blanche').first().check();
    await v3.getByLabel('Rang de Finn').fill('1');
    await v3.getByLabel('Rang de Finn').press('Tab');
    await v3.getByLabel('Rang de Eve').fill('2');
    await v3.getByLabel('Rang de Eve').press('Tab');
    await v3.getByRole('button', { name: 'Ajouter Barn au classement' }).click();
    await v3.getByRole('button', { name: 'Ajouter Kim au classement' }).click();
    await v3.getByRole('button', { name: 'Ajouter Ivy au classement' }).click();
    await v3.getByRole('button', { name: 'Monter Ivy' }).click();
    await v3.getByRole('button', { name: 'Relire mon bulletin' }).click();
    await v3.getByRole('heading', { level: 1, name: /PAS ENCORE/ }).waitFor();
    await shot(v3, 'review-phone');
    await v3.getByRole('button', { name: 'Déposer mon bulletin' }).click();
    await v3.getByRole('heading', { level: 1, name: 'Votre vote a été déposé' }).waitFor();

    // ---- admin: turnout, close, tally, publish ----
    // A reload forgets the session (tokens live in memory only) and the
    // sign-in page comes back to the same page.
    await a.goto(`${base}/#/admin/elections/${electionId}`);
    await a.reload();
    await a.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await a.getByLabel('Email').fill(admin.email);
    await a.getByLabel('Password', { exact: true }).fill(admin.password);
    await a.getByRole('button', { name: 'Sign in' }).click();
    await a.getByRole('heading', { level: 1, name: /Club committee 2027/ }).waitFor();
    assert.equal(await a.evaluate(() => Object.keys(localStorage).filter((k) => /token|refresh|access/i.test(k) && k !== 'ballotbox.device').length + Object.keys(sessionStorage).length), 0, 'no token stored in the browser');
    await a.getByText('3 of 3 eligible voters have voted (100 %).').waitFor();
    await a.getByRole('button', { name: 'Close voting' }).click();
    await a.getByRole('button', { name: 'Count the votes' }).click();
    await a.getByRole('button', { name: 'Publish the results' }).click();
    await a.locator('.badge', { hasText: 'Published' }).first().waitFor();
    await axe.check(a, 'manage election (published)');

    // ---- auditor: results, export, audit chain ----
    const au = await newPage();
    await login(au, base, auditor.email, auditor.password);
    await au.goto(`${base}/#/elections/${electionId}/results`);
    await au.getByRole('heading', { level: 1, name: /Results: Club committee 2027/ }).waitFor();
    await au.getByText(/The results’ signature is valid/).waitFor();
    await au.getByText('Elected: Alice').waitFor();
    await au.getByRole('heading', { name: 'Round 1' }).first().waitFor();
    await au.getByRole('table', { name: /Pairwise matrix/ }).waitFor();
    await au.getByText(/^Quota: /).waitFor();
    await au.getByText(/^Elected: (Gus, Ivy|Ivy, Gus)$/).waitFor();
    await au.getByText(/Round 1 · first preferences/).waitFor();
    await axe.check(au, 'results');
    await shot(au, 'results');
    const [exp] = await Promise.all([au.waitForEvent('download'), au.getByRole('button', { name: 'Download the export (JSON)' }).click()]);
    const bundle = JSON.parse(readFileSync(await exp.path(), 'utf8'));
    assert.equal(bundle.ballots.length, 3, 'one ballot per voter, whatever the double click');
    assert.ok(bundle.ballots.some((b) => b.tracking_code === tracking));
    await au.getByRole('link', { name: 'Audit log' }).last().click();
    await au.getByText(/Hash chain intact: \d+ events checked by your browser\./).waitFor();
    await axe.check(au, 'audit log (election)');
    await au.goto(`${base}/#/audit`);
    await au.getByText(/Hash chain intact/).waitFor();
    await axe.check(au, 'audit log (all)');

    // ---- voter 1: check the receipt in the browser ----
    await v1.getByRole('link', { name: 'Check my receipt' }).click();
    await v1.getByRole('heading', { level: 1, name: /Check my receipt/ }).waitFor();
    await v1.getByLabel('Receipt file').setInputFiles(receiptPath);
    await v1.getByRole('button', { name: 'Check', exact: true }).click();
    await v1.getByText('Your ballot is in the count.').waitFor();
    assert.equal(await v1.locator('.check.bad').count(), 0, 'no failed check');
    assert.equal(await v1.locator('.check.ok').count(), 5);
    await axe.check(v1, 'receipt check');
    await shot(v1, 'receipt-check');
    // A receipt with another ballot hash fails the checks.
    const forged = { ...receipt, ballot_hash: receipt.ballot_hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    await v1.getByLabel('Or paste the receipt').fill(JSON.stringify(forged));
    await v1.getByRole('button', { name: 'Check', exact: true }).click();
    await v1.getByText(/A check failed/).waitFor();

    // The auditor changes the password: every session ends, the new one works.
    await au.getByRole('link', { name: /My account/ }).click();
    await au.getByRole('heading', { level: 1, name: 'My account' }).waitFor();
    await axe.check(au, 'my account');
    const newPw = pw('aud2');
    await au.getByLabel('Current password').fill(auditor.password);
    await au.getByLabel('New password', { exact: true }).fill(newPw);
    await au.getByLabel('New password again').fill(newPw);
    await au.getByRole('button', { name: 'Change password' }).click();
    await au.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await login(au, base, auditor.email, newPw);

    // Voters see the published results too, on a phone as well.
    await v1.goto(`${base}/#/elections/${electionId}/results`);
    await v1.getByText('Elected: Alice').waitFor();
    await v3.goto(`${base}/#/elections/${electionId}/results`);
    await v3.getByText('Élus : Alice').waitFor();
    await axe.check(v3, 'results (fr, phone)');
    await shot(v3, 'results-phone');
    const wide = await v3.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(wide <= 0, `results scroll sideways at 360 px (${wide} px)`);
  } finally {
    await browser.close();
    await server.stop();
  }
  assert.deepEqual(errors, [], 'no script error in any page');
  console.log(`axe-core checked ${axe.pages} pages on ${backend}`);
  assert.deepEqual(axe.failures, [], `axe-core: serious or critical violations on ${axe.pages} pages`);
}

test('a whole election in the browser on SQLite', { timeout: 180000 }, () => wholeElection('sqlite'));

test('a whole election in the browser on PostgreSQL', { timeout: 180000 }, async (t) => {
  if (!postgresAvailable()) {
    if (process.env.CI === 'true') assert.fail('CI=true but PostgreSQL is unavailable');
    t.skip('PostgreSQL unavailable');
    return;
  }
  await wholeElection('postgres');
});
