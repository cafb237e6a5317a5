/**
 * actionlint for the tests: built from the Go module proxy with `go install` into the binary
 * cache (outside the repository) the first time a machine needs it, then reused.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../src/server/paths.ts';

/** The pinned actionlint release. */
export const ACTIONLINT_VERSION = 'v1.7.12';

/** The path of actionlint, installing it first when missing. Fails (never skips) without Go. */
export async function ensureActionlint(): Promise<string> {
  const dir = join(cacheDir(), 'tools', `actionlint-${ACTIONLINT_VERSION}`);
  const binary = join(dir, 'actionlint');
  if (existsSync(binary)) return binary;
  await promisify(execFile)('go', ['install', `github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}`], {
    env: { ...process.env, GOBIN: dir, GOFLAGS: '-mod=mod' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return binary;
}
