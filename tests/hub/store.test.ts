/** The hub's PostgreSQL store on a real server: sessions, learners, progress and files. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashToken, HubStore, NameTakenError } from '../../hub/store.ts';
import { report } from './fake-workspace.ts';
import { classroom } from './support.ts';

let store: HubStore;
const room = classroom({ id: 'store' });

beforeAll(async () => {
  store = new HubStore(inject('hubDatabaseUrl'));
  await store.migrate();
  await store.migrate(); // Idempotent: every hub start runs it.
  await store.putClassroom(room);
});

afterAll(async () => store?.close());

describe('HubStore', () => {
  it('reads a classroom back as it was written, and refuses a row that no longer validates', async () => {
    expect(await store.classroom('store')).toEqual(room);
    await store.pool.query("INSERT INTO hub_classrooms (id, definition) VALUES ('broken', '{\"id\":\"broken\"}')");
    await expect(store.classroom('broken')).rejects.toThrow('classroom row "broken" is not a valid classroom: title:');
    await store.pool.query("DELETE FROM hub_classrooms WHERE id = 'broken'");
  });

  it('keeps only a hash of a session token, and forgets expired sessions', async () => {
    const learner = await store.newLearner('store', 'join:grace', 'Grace');
    const { token } = await store.createSession({ classroomId: 'store', role: 'learner', learnerId: learner.id, email: null }, 60_000);
    const { rows } = await store.pool.query<{ token_hash: string }>('SELECT token_hash FROM hub_sessions WHERE learner_id = $1', [learner.id]);
    expect(rows.map((r) => r.token_hash)).toEqual([hashToken(token)]);
    expect(rows[0]!.token_hash).not.toContain(token);
    expect(await store.session(token)).toMatchObject({ role: 'learner', learnerId: learner.id });
    const expired = await store.createSession({ classroomId: 'store', role: 'learner', learnerId: learner.id, email: null }, -1);
    expect(await store.session(expired.token)).toBeUndefined();
    await store.endSession(token);
    expect(await store.session(token)).toBeUndefined();
  });

  it('answers a session from memory only while it is live, and forgets an ended one at once', async () => {
    const learner = await store.newLearner('store', 'join:ada', 'Ada');
    const { token } = await store.createSession({ classroomId: 'store', role: 'learner', learnerId: learner.id, email: null }, 1500);
    expect(await store.session(token)).toMatchObject({ learnerId: learner.id });
    // Remembered: answered without the database while its row is gone.
    await store.pool.query('DELETE FROM hub_sessions WHERE token_hash = $1', [hashToken(token)]);
    expect(await store.session(token)).toMatchObject({ learnerId: learner.id });
    // Its expiry holds in memory too.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(await store.session(token)).toBeUndefined();
    // Signing out forgets it at once.
    const second = await store.createSession({ classroomId: 'store', role: 'learner', learnerId: learner.id, email: null }, 60_000);
    expect(await store.session(second.token)).toBeDefined();
    await store.endSession(second.token);
    expect(await store.session(second.token)).toBeUndefined();
    // A lookup still running at sign-out (a page's requests go on) is neither answered nor remembered.
    const third = await store.createSession({ classroomId: 'store', role: 'learner', learnerId: learner.id, email: null }, 60_000);
    const inFlight = Array.from({ length: 20 }, () => store.session(third.token));
    await store.endSession(third.token);
    await Promise.all(inFlight);
    expect(await store.session(third.token)).toBeUndefined();
  });

  it('gives a join-code name to one learner only', async () => {
    await store.newLearner('store', 'join:linus', 'Linus');
    await expect(store.newLearner('store', 'join:linus', 'linus')).rejects.toThrow(NameTakenError);
  });

  it('an OIDC subject is the same learner at every sign-in', async () => {
    const first = await store.learnerFor('store', 'oidc:https://id.example#42', 'Ada');
    expect(await store.learnerFor('store', 'oidc:https://id.example#42', 'Ada L.')).toEqual(first);
  });

  it('keeps the latest report per lab, and a reset forgets what was applied', async () => {
    const learner = await store.newLearner('store', 'join:ken', 'Ken');
    await store.saveReport(learner.id, report('first-daemonset', false));
    await store.saveReport(learner.id, report('first-daemonset', true));
    const rows = (await store.progress('store')).filter((r) => r.learnerId === learner.id);
    expect(rows.map((r) => [r.labId, r.report.passed])).toEqual([['first-daemonset', true]]);
    await store.setActiveLab(learner.id, 'first-daemonset', false);
    await store.recordApply(learner.id, 'first-daemonset', 'ds.yaml');
    await store.setActiveLab(learner.id, 'first-daemonset', false);
    expect((await store.snapshot(learner.id)).applied).toEqual([{ labId: 'first-daemonset', path: 'ds.yaml' }]);
    await store.setActiveLab(learner.id, 'first-daemonset', true);
    expect((await store.snapshot(learner.id)).applied).toEqual([]);
  });

  it('an OIDC state is good once', async () => {
    await store.putOidcPending('state-1', 'store', 'verifier-1');
    expect(await store.takeOidcPending('state-1')).toEqual({ classroomId: 'store', verifier: 'verifier-1' });
    expect(await store.takeOidcPending('state-1')).toBeUndefined();
  });
});
