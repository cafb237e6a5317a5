/** The cluster project's golden files (tests/cluster/golden/): UPDATE_GOLDEN=1 rewrites them. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const goldenDir = fileURLToPath(new URL('golden/', import.meta.url));

/** Compares with a golden file, or writes it when UPDATE_GOLDEN=1. */
export async function expectGolden(name: string, actual: string): Promise<void> {
  const file = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1') await writeFile(file, actual);
  expect(actual).toBe(await readFile(file, 'utf8'));
}
