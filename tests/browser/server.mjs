// Starts the real ballotbox binary on a fresh database (a temporary SQLite
// file, or a new PostgreSQL database dropped afterwards) and a free port.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = process.env.BALLOTBOX_BIN || join(ROOT, 'target/debug/ballotbox');
// The same server as the Rust tests: TEST_DATABASE_URL's, else the local one.
const PG = process.env.TEST_DATABASE_URL
  ? process.env.TEST_DATABASE_URL.replace(/\/[^/]*$/, '')
  : 'postgres://postgres@127.0.0.1:5432';

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

function psql(sql) {
  execFileSync('psql', [`${PG}/postgres`, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { stdio: 'pipe' });
}

export function postgresAvailable() {
  try { psql('SELECT 1'); return true; } catch { return false; }
}

export async function startServer(backend, admin) {
  const dir = mkdtempSync(join(tmpdir(), 'bb-browser-'));
  let url = join(dir, 'test.db');
  let pgName = null;
  if (backend === 'postgres') {
    pgName = `bb_browser_${process.pid}_${Date.now()}`;
    psql(`CREATE DATABASE ${pgName}`);
    url = `${PG}/${pgName}`;
  }
  const env = {
    ...process.env,
    DATABASE_URL: url,
    BALLOTBOX_ENV: 'development',
    BALLOTBOX__DATA__DIR: join(dir, 'data'),
    BALLOTBOX__SERVER__WORKERS: '2',
    RUST_LOG: process.env.RUST_LOG || 'warn',
  };
  execFileSync(BIN, ['create-admin', '--email', admin.email, '--display-name', admin.name], { env, input: `${admin.password}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  const port = await freePort();
  const child = spawn(BIN, ['serve', '--bind', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
      if (pgName) { try { psql(`DROP DATABASE IF EXISTS ${pgName} WITH (FORCE)`); } catch { /* swept next time */ } }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
