/**
 * Nothing a learner owns is lost or half-written when the server is killed (kill -9) mid-write:
 * real child processes are SIGKILLed at random moments while they save workspace files, record
 * progress and cache the editor's schema, and what is on disk afterwards is checked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { readSchemaCache } from '../../src/server/web/kube-schema.ts';

const CHILD = join(import.meta.dirname, 'fixtures', 'crash-child.ts');
const ROUNDS = 8;
/** Each round starts a real server process: minutes on a busy 2-core machine. */
const TIMEOUT_MS = 400_000;

/** Starts the crash child and resolves with its first line of output. */
async function startChild(...args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`crash child ${args[0]} exited (${code}) before it was ready`)));
  });
  return { child, line };
}

/** SIGKILLs the child and waits until it is gone. */
async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A manifest-sized text (about 400 KiB) that is version n throughout. */
const version = (n: number) => `# version ${n}\n${`# filler of version ${n}\n`.repeat(16_000)}`;

/** Every file below dir (hidden ones too), relative. */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describe('kill -9 while writing', () => {
  it('a workspace file saved while the server is killed is the old text or the new, and no temporary file is left', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-crash-save-'));
    const workspace = join(stateDir, 'workspaces', 'first-daemonset');
    await mkdir(workspace, { recursive: true });
    const written = new Set<string>();
    let next = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { child, line } = await startChild('server', stateDir);
      const { origin, token } = JSON.parse(line) as { origin: string; token: string };
      const put = (n: number) => {
        written.add(version(n));
        return fetch(`${origin}/api/labs/first-daemonset/files/daemonset.yaml`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
          body: version(n),
        }).catch(() => undefined);
      };
      if (round === 0) expect((await put(next++))?.status).toBe(200);
      // Several saves in flight; the kill comes the moment one of them has created its temporary
      // copy (the window a crash leaves one behind), or at a random moment among them.
      const writing = new Promise<void>((resolve) => {
        const watcher = watch(workspace, (_event, name) => {
          if (name && name !== 'daemonset.yaml') resolve();
        });
        void pause(Math.random() * 60 + (round % 2) * 1000).then(() => resolve());
        child.once('exit', () => watcher.close());
      });
      const saves = Array.from({ length: 6 }, () => put(next++));
      await writing;
      await kill9(child);
      await Promise.all(saves);
      const text = await readFile(join(workspace, 'daemonset.yaml'), 'utf8');
      expect(written.has(text), `round ${round}: the file is ${text.length} bytes and none of the texts saved`).toBe(true);
    }
    // The next start finds what the killed ones left: only the file, no temporary copy beside it.
    const { child } = await startChild('server', stateDir);
    try {
      expect(await allFiles(workspace)).toEqual(['daemonset.yaml']);
    } finally {
      await kill9(child);
    }
  }, TIMEOUT_MS);

  it('the progress database survives: intact, every attempt whole', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'daemonset-lab-crash-progress-')), 'progress.sqlite');
    for (let round = 0; round < ROUNDS; round++) {
      const { child } = await startChild('progress', file);
      await pause(20 + Math.random() * 80);
      await kill9(child);
      const db = new DatabaseSync(file);
      try {
        expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
        // A step recorded passed always belongs to an attempt that exists.
        expect(db.prepare('SELECT COUNT(*) AS orphans FROM step_passes WHERE attempt_id NOT IN (SELECT id FROM attempts)').get()).toEqual({ orphans: 0 });
      } finally {
        db.close();
      }
    }
  }, TIMEOUT_MS);

  it('the editor schema cache is a whole schema after a kill mid-write, or none', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-crash-schema-'));
    for (let round = 0; round < ROUNDS; round++) {
      const { child } = await startChild('schema', stateDir, String(round * 1000));
      await pause(50 + Math.random() * 200);
      await kill9(child);
      const schema = await readSchemaCache(stateDir);
      if (round === 0 && !schema) continue;
      expect(schema, `round ${round}: the cache is damaged`).toBeDefined();
      const n = (schema!.allOf as Array<{ write: number }>)[0]!.write;
      const descriptions = Object.values(schema!.definitions as Record<string, { description: string }>).map((d) => d.description);
      expect(descriptions.every((d) => d.startsWith(`write ${n} `))).toBe(true);
    }
    const leftovers = (await allFiles(join(stateDir, 'web'))).filter((f) => f !== 'kubernetes-schema.json');
    expect(leftovers.length, 'temporary copies of the cache pile up').toBeLessThanOrEqual(ROUNDS);
  }, TIMEOUT_MS);
});
