/**
 * Sign-in through OpenID Connect (openid-client against a small local provider): the roster gets a
 * learner session and a pod, an instructor address the instructor page; anyone else, or an
 * unverified address, is refused with the reason; a replayed callback is refused.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OidcSignIn } from '../../hub/oidc.ts';
import { Hub } from '../../hub/server.ts';
import { HubStore } from '../../hub/store.ts';
import type { Spawner } from '../../hub/spawner.ts';
import { connectTestCluster } from '../support/test-cluster.ts';
import { startOidcProvider } from './oidc-provider.ts';
import { addLearnerNodes, classroom, podSettings, restrictedNamespace, startSpawner } from './support.ts';
import { freePort } from '../support/free-port.ts';

const info = inject('testCluster');
const { clients } = connectTestCluster(info);
const namespace = 'hub-oidc';
const room = classroom({ id: 'hub-oidc', joinCode: undefined, roster: ['ada@example.org'], instructors: ['teacher@example.org'] });

let store: HubStore;
let spawner: Spawner;
let hub: Hub;
let origin: string;
let provider: Awaited<ReturnType<typeof startOidcProvider>>;


/** Follows the sign-in: hub → provider → hub callback; returns the callback's answer and its URL. */
async function signIn(): Promise<{ response: Response; callback: string }> {
  const login = await fetch(`${origin}/hub/oidc/${room.id}/login`, { redirect: 'manual' });
  expect(login.status).toBe(303);
  const authorize = await fetch(login.headers.get('location')!, { redirect: 'manual' });
  expect(authorize.status).toBe(302);
  const callback = authorize.headers.get('location')!;
  expect(callback.startsWith(`${origin}/hub/oidc/callback?`)).toBe(true);
  return { response: await fetch(callback, { redirect: 'manual' }), callback };
}

beforeAll(async () => {
  await restrictedNamespace(clients, namespace);
  await addLearnerNodes(clients, 4);
  provider = await startOidcProvider('hub-client', 'hub-client-secret');
  store = new HubStore(inject('hubDatabaseUrl'));
  await store.migrate();
  await store.putClassroom(room);
  spawner = await startSpawner(info, podSettings(namespace), 5);
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  const oidc = await OidcSignIn.discover({ issuer: provider.issuer, clientId: 'hub-client', clientSecret: 'hub-client-secret', allowHttp: true }, `${origin}/hub/oidc/callback`, store);
  hub = new Hub({ store, spawner, publicUrl: origin, tokenKey: 'test-token-key-0123456789', port, oidc, podOrigin: () => 'http://127.0.0.1:9' });
  await hub.listen();
});

afterAll(async () => {
  await hub?.close();
  await spawner?.stop();
  await store?.close();
  await provider?.close();
  await clients.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('OpenID Connect sign-in', () => {
  it('signs in a learner on the roster and starts their lab', async () => {
    provider.signInAs({ sub: 'u-1', email: 'Ada@Example.org', email_verified: true, name: 'Ada Lovelace' });
    const { response } = await signIn();
    expect(response.status).toBe(303);
    // Straight to the lab page when the pod is Ready within the sign-in's wait, else the wait page.
    expect(response.headers.get('location')).toMatch(/^(\/hub\/lab|\/s\/[a-z2-7]{16}\/labs\/first-daemonset\/)$/);
    expect(response.headers.get('set-cookie')).toMatch(/^dslab_hub=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax/);
    const learners = await store.learners(room.id);
    expect(learners.map((l) => [l.subject, l.displayName])).toEqual([[`oidc:${provider.issuer}#u-1`, 'Ada Lovelace']]);
    await expect.poll(() => spawner.podOf(learners[0]!.id), { timeout: 30_000 }).toBeDefined();
  });

  it('sends an instructor to the instructor page', async () => {
    provider.signInAs({ sub: 'u-2', email: 'teacher@example.org', email_verified: true, name: 'T' });
    const { response } = await signIn();
    expect(response.headers.get('location')).toBe(`/hub/classrooms/${room.id}/instructor`);
  });

  it('refuses an address that is not on the roster, and one the provider did not verify', async () => {
    provider.signInAs({ sub: 'u-3', email: 'mallory@example.org', email_verified: true, name: 'M' });
    let { response } = await signIn();
    expect(response.status).toBe(403);
    expect((await response.json()).error).toBe('mallory@example.org is not on the roster of hub-oidc');
    provider.signInAs({ sub: 'u-4', email: 'ada@example.org', email_verified: false, name: 'Fake Ada' });
    ({ response } = await signIn());
    expect(response.status).toBe(403);
    expect((await response.json()).error).toBe('The identity provider did not vouch for an e-mail address (email_verified is not true)');
  });

  it('refuses a callback used twice', async () => {
    provider.signInAs({ sub: 'u-1', email: 'ada@example.org', email_verified: true, name: 'Ada Lovelace' });
    const { callback } = await signIn();
    const replay = await fetch(callback, { redirect: 'manual' });
    expect(replay.status).toBe(403);
    expect((await replay.json()).error).toBe('This sign-in link is unknown or older than 10 minutes');
  });
});
