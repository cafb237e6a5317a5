/**
 * The learner image runs the server bundled into one file (image/bundle-server.ts). The bundle
 * must carry every lab's code and find the repository's files where the sources do: bundled and
 * loaded here as the image's build loads it, it loads, and its labs are inside it, not imported
 * by path at run time (which would load a second copy of the helpers and of client-node).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleServer } from '../../image/bundle-server.ts';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { LAB_CATALOG } from '../../src/shared/lab-catalog.ts';

const outfile = join(REPO_ROOT, 'scripts', `.server-bundle-test-${process.pid}.mjs`);
let bundle = '';

describe('the bundled server of the learner image', () => {
  beforeAll(async () => {
    await bundleServer(REPO_ROOT, outfile);
    bundle = readFileSync(outfile, 'utf8');
  }, 120_000);
  afterAll(() => rmSync(outfile, { force: true }));

  it('loads: every module, the labs included, as the image build loads it', () => {
    const loaded = spawnSync(process.execPath, [outfile], { env: { ...process.env, DAEMONSET_LAB_IMPORT_ONLY: '1' }, encoding: 'utf8', timeout: 60_000 });
    expect(loaded.stderr).not.toMatch(/Error/);
    expect(loaded.status).toBe(0);
  });

  it.each(LAB_CATALOG.map(({ id }) => id))('carries the code of lab %s', (id) => {
    expect(bundle).toContain(`labs/${id}/lab.ts`);
  });

  it('imports no lab by path at run time', () => {
    expect(bundle).not.toContain("join(LABS_DIR, id, 'lab.ts')");
    expect(bundle).not.toMatch(/join\(LABS_DIR, id, "lab\.ts"\)/);
  });

  it('finds the repository where the sources do (REPO_ROOT from paths.ts, not the bundle)', () => {
    expect(bundle).toContain('new URL("../src/server/paths.ts", import.meta.url)');
  });
});

describe('the bundler refuses what would break in a pod', () => {
  /** A minimal app: scripts/start.ts with `source`, and a lab.ts for each catalog lab unless left out. */
  function app(source: string, leaveOut?: string): string {
    const root = mkdtempSync(join(tmpdir(), 'daemonset-lab-bundle-'));
    mkdirSync(join(root, 'scripts'));
    writeFileSync(join(root, 'scripts', 'start.ts'), source);
    for (const { id } of LAB_CATALOG) {
      if (id === leaveOut) continue;
      mkdirSync(join(root, 'labs', id), { recursive: true });
      writeFileSync(join(root, 'labs', id, 'lab.ts'), 'export default {};\n');
    }
    return root;
  }

  it('a source using import.meta.dirname (it would name the bundle\'s folder), naming the file', async () => {
    const root = app('console.log(import.meta.dirname);\n');
    try {
      await expect(bundleServer(root)).rejects.toThrow(/start\.ts uses import\.meta\.dirname/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a catalog lab without its lab.ts, naming the lab', async () => {
    const root = app('console.log(import.meta.url);\n', 'tolerations');
    try {
      await expect(bundleServer(root)).rejects.toThrow(/the catalog's labs tolerations have no labs\/<id>\/lab\.ts/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
