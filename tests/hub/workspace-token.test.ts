/** The workspace server's hub option: a token given in DAEMONSET_LAB_TOKEN, checked before use. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/server/errors.ts';
import { tokenFromEnvironment } from '../../src/server/web/run.ts';
import { podToken } from '../../hub/pods.ts';

describe('DAEMONSET_LAB_TOKEN', () => {
  it('is unset on a learner\'s own machine: a random token per start', () => {
    expect(tokenFromEnvironment({})).toBeUndefined();
    expect(tokenFromEnvironment({ DAEMONSET_LAB_TOKEN: '' })).toBeUndefined();
  });

  it('takes the token the hub derives for a pod', () => {
    const token = podToken('key-of-the-hub-0123456789abcdef0123', 'lab-0a1b2c3d4e5f');
    expect(tokenFromEnvironment({ DAEMONSET_LAB_TOKEN: token })).toBe(token);
  });

  it.each(['short', 'x'.repeat(31), `${'x'.repeat(40)} ; rm`])('refuses %j with what a token must be', (token) => {
    expect(() => tokenFromEnvironment({ DAEMONSET_LAB_TOKEN: token })).toThrow(UsageError);
    expect(() => tokenFromEnvironment({ DAEMONSET_LAB_TOKEN: token })).toThrow('DAEMONSET_LAB_TOKEN must be at least 32 URL-safe characters');
  });
});
