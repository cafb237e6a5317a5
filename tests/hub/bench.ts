/**
 * Hub figures for `npm run bench -- --only hub`: a class on simulated nodes (a real API server,
 * scheduler and PostgreSQL; pods simulated by kwok, so a pod's own start-up is not in these
 * numbers): warm-pool refill, 50 concurrent sign-ins from the pool and cold, and culling 200 pods.
 */
import { parseClassroom } from '../../hub/classroom.ts';
import { Hub } from '../../hub/server.ts';
import { HubStore } from '../../hub/store.ts';
import { kubeClients } from '../../src/server/cluster/kube.ts';
import { startTestCluster } from '../support/test-cluster.ts';
import { startFakeWorkspace } from './fake-workspace.ts';
import { startTestPostgres } from './postgres.ts';
import { addLearnerNodes, podSettings, restrictedNamespace, startSpawner } from './support.ts';
import { freePort } from '../support/free-port.ts';

interface HubFigure {
  readonly metric: string;
  readonly samples: readonly number[];
  readonly unit: 'ms';
  readonly target?: number;
}


/** Signs `count` learners in at once over HTTP; each sample is join → lab ready. */
async function signIns(hub: Hub, origin: string, classroomId: string, joinCode: string, prefix: string, count: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const started = performance.now();
      const answer = await fetch(`${origin}/hub/api/join`, {
        method: 'POST',
        redirect: 'manual',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ classroom: classroomId, code: joinCode, name: `${prefix} ${i}` }),
      });
      const cookie = /dslab_hub=[^;]+/.exec(answer.headers.get('set-cookie') ?? '')?.[0];
      if (!cookie) throw new Error(`Sign-in ${i} failed: HTTP ${answer.status}`);
      const me = (await (await fetch(`${origin}/hub/api/me`, { method: 'POST', headers: { origin, cookie }, body: '{}' })).json()) as { learnerId: string };
      const status = await hub.labSettled(me.learnerId);
      if (status.state !== 'ready') throw new Error(`Sign-in ${i}: ${status.message}`);
      return performance.now() - started;
    }),
  );
}

export async function benchHub(runs: number): Promise<HubFigure[]> {
  const cluster = await startTestCluster('bench-hub', 31400);
  const postgres = await startTestPostgres();
  const workspace = await startFakeWorkspace();
  const clients = kubeClients(cluster.info.connection.kubeconfig, cluster.info.connection.context);
  const namespace = await restrictedNamespace(clients, 'hub-bench');
  await addLearnerNodes(clients, 6);
  const store = new HubStore(postgres.url, 20);
  await store.migrate();
  // A loaded machine slows the simulated kubelets: the bench waits longer than the tests do.
  const spawner = await startSpawner(cluster.info, podSettings(namespace), 10, 300_000);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  let clock = Date.now();
  const hub = new Hub({ store, spawner, publicUrl: origin, tokenKey: 'bench-token-key-0123456789abcdef', port, podOrigin: () => workspace.origin, now: () => clock, cullIntervalMs: 3_600_000, refillIntervalMs: 3_600_000 });
  await hub.listen();
  const failed = (error: unknown) => {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
  };
  const figures = { refill: [] as number[], warm: [] as number[], refillAfter: [] as number[], cold: [] as number[], cull: [] as number[] };
  try {
    for (let run = 0; run < Math.min(runs, 2); run += 1) {
      const pooled = parseClassroom({ id: `pooled-${run}`, title: 'Bench', joinCode: 'BENCH-CODE-2026', labs: ['first-daemonset'], capacity: 200, warmPool: 50 }, 'bench');
      const cold = parseClassroom({ ...pooled, id: `cold-${run}`, warmPool: 0 }, 'bench');
      await store.putClassroom(pooled);
      await store.putClassroom(cold);
      let started = performance.now();
      await hub.refill(pooled);
      figures.refill.push(performance.now() - started);
      figures.warm.push(...(await signIns(hub, origin, pooled.id, pooled.joinCode!, 'warm', 50).catch(failed)));
      started = performance.now();
      // Each sign-in started a refill in the background; wait until the pool is whole again.
      while (spawner.counts(pooled.id).warmReady < 50) {
        if (performance.now() - started > 300_000) throw new Error(`The pool did not refill: ${JSON.stringify(spawner.counts(pooled.id))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      figures.refillAfter.push(performance.now() - started);
      figures.cold.push(...(await signIns(hub, origin, cold.id, cold.joinCode!, 'cold', 50).catch(failed)));
      // Fill the cold class to 200 learners, let every pod go idle, and cull them all.
      await Promise.all(Array.from({ length: 150 }, (_, i) => store.newLearner(cold.id, `fill:${i}`, `fill ${i}`).then((l) => spawner.ready(cold, l.id)))).catch(failed);
      clock += 31 * 60_000;
      started = performance.now();
      const culled = await hub.cullOnce();
      while (spawner.pods(cold.id).length > 0 || spawner.counts(pooled.id).claimed > 0) await new Promise((r) => setTimeout(r, 20));
      figures.cull.push(performance.now() - started);
      if (culled.length !== 250) throw new Error(`Culled ${culled.length} pods, expected 250 (200 + 50)`);
    }
  } finally {
    await hub.close();
    await spawner.stop();
    await store.close();
    await workspace.close();
    await postgres.stop();
    await cluster.stop();
  }
  return [
    { metric: 'warm pool refill: 50 pods created and Ready (spawn limit 10)', samples: figures.refill, unit: 'ms' },
    { metric: '50 concurrent sign-ins from the warm pool: join → lab ready', samples: figures.warm, unit: 'ms', target: 2000 },
    { metric: 'pool back to 50 Ready after those 50 claims', samples: figures.refillAfter, unit: 'ms' },
    { metric: '50 concurrent sign-ins, no pool (cold, 10 at a time): join → lab ready', samples: figures.cold, unit: 'ms' },
    { metric: 'cull 250 idle learner pods (a class of 200 + 50): decision → gone from the API', samples: figures.cull, unit: 'ms' },
  ];
}
