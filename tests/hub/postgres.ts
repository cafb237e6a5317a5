/**
 * A real PostgreSQL server for the hub tests: Debian's `postgresql` binaries, a fresh data folder,
 * listening on 127.0.0.1 only, trust authentication for loopback (the data folder is private and
 * deleted afterwards). PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 * A server that cannot start fails the suite.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/free-port.ts';

const run = promisify(execFile);

/** The newest PostgreSQL under /usr/lib/postgresql (Debian's layout). */
function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions[0]) throw new Error(`PostgreSQL is not installed (${root} is empty). Fix: apt-get install -y postgresql (bash .ci/run does it).`);
  return join(root, versions[0], 'bin');
}


/** A running test database: its connection string and how to stop it. */
export interface TestPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts a private PostgreSQL server with one database, `hub`. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'daemonset-lab-hub-pg-'));
  const asRoot = userInfo().uid === 0;
  const user = asRoot ? 'postgres' : userInfo().username;
  // As root, the server runs as postgres itself (spawn's uid/gid, so signals reach it directly).
  const ids = asRoot ? { uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()), gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()) } : {};
  if (asRoot) await chown(dir, ids.uid!, ids.gid!);
  await chmod(dir, 0o700);
  const data = join(dir, 'data');
  await run(join(bin, 'initdb'), ['-D', data, '-U', user, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { ...ids, cwd: dir });
  const port = await freePort();
  const args = ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-c', 'fsync=off', '-c', 'max_connections=200'];
  const server: ChildProcess = spawn(join(bin, 'postgres'), args, { ...ids, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const url = `postgres://${user}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await run(join(bin, 'psql'), [url, '-c', 'CREATE DATABASE hub']);
      break;
    } catch (error) {
      if (server.exitCode !== null || Date.now() > deadline) {
        server.kill();
        throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url: `postgres://${user}@127.0.0.1:${port}/hub`,
    async stop() {
      server.kill('SIGINT');
      await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
