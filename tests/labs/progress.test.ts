/**
 * The CLIs' progress lines: ✓ when the work succeeded, ✗ when it threw or its result is a failure
 * (verify-all once marked a lab that did not verify with ✓).
 */
import { describe, expect, it } from 'vitest';
import { withProgress } from '../../src/server/progress.ts';

function sink() {
  const lines: string[] = [];
  return { lines, write: (text: string) => void lines.push(text) };
}

describe('withProgress', () => {
  it('prints ✓ for work that succeeds, and ✗ for a result its judge calls a failure', async () => {
    const out = sink();
    await withProgress('Verifying lab a', async () => ({ ok: true }), out, (r) => r.ok);
    await withProgress('Verifying lab b', async () => ({ ok: false }), out, (r) => r.ok);
    expect(out.lines.filter((l) => /^[✓✗]/.test(l)).map((l) => l.replace(/ \(.*\)\n$/, ''))).toEqual(['✓ Verifying lab a', '✗ Verifying lab b']);
  });

  it('prints ✗ and passes the error on when the work throws', async () => {
    const out = sink();
    await expect(withProgress('Resetting', async () => { throw new Error('no cluster'); }, out)).rejects.toThrow('no cluster');
    expect(out.lines.at(-1)).toMatch(/^✗ Resetting \(/);
  });
});
