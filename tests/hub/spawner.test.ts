/**
 * The spawner against a real kube-apiserver (Pod Security admission, scheduler, garbage collector
 * real; kubelets simulated by kwok): learner pods pass the restricted level, the warm pool fills
 * and is claimed once per learner, the spawn limit holds, a bad image is named, and 200 learners
 * get 200 distinct pods.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiServerMessage } from '../../src/server/cluster/kube.ts';
import { connectTestCluster } from '../support/test-cluster.ts';
import { LABELS, learnerNetworkPolicy, learnerPod, podToken } from '../../hub/pods.ts';
import { ClassroomFullError, podReady, SpawnError, type Spawner } from '../../hub/spawner.ts';
import { addLearnerNodes, classroom, podSettings, restrictedNamespace, startSpawner } from './support.ts';

const cluster = connectTestCluster(inject('testCluster'));
const { clients } = cluster;
const namespace = 'hub-spawner';
let spawner: Spawner;

beforeAll(async () => {
  await restrictedNamespace(clients, namespace);
  await addLearnerNodes(clients, 4);
  spawner = await startSpawner(inject('testCluster'), podSettings(namespace), 10);
});

afterAll(async () => {
  await spawner?.stop();
  await clients.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('learner pods under the restricted Pod Security level', () => {
  it('are admitted, with no service account token, limits, and a token Secret owned by the pod', async () => {
    const room = classroom({ id: 'psa', warmPool: 1 });
    expect(await spawner.refill(room)).toEqual({ created: 1, failures: [] });
    const [pod] = spawner.pods('psa');
    expect(pod?.spec?.automountServiceAccountToken).toBe(false);
    expect(pod?.spec?.containers[0]?.resources?.limits).toEqual({ cpu: '2', memory: '1536Mi' });
    expect(pod?.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem).toBe(true);
    const name = pod!.metadata!.name!;
    const secret = await clients.core.readNamespacedSecret({ name, namespace });
    expect(Buffer.from(secret.data!.token!, 'base64').toString()).toBe(podToken('test-token-key-0123456789', name));
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Pod', name, uid: pod!.metadata!.uid });
  });

  it('the namespace really enforces the level: the same pod made privileged is refused', async () => {
    const body = learnerPod(podSettings(namespace), 'privileged-attempt', 'psa');
    body.spec!.containers[0]!.securityContext = { privileged: true };
    const result = await clients.core.createNamespacedPod({ namespace, body }).then(() => 'created', apiServerMessage);
    expect(result).toContain('violates PodSecurity "restricted:latest"');
  });

  it('the NetworkPolicy lets learner pods talk only with the hub', async () => {
    await clients.objects.create(learnerNetworkPolicy(namespace));
    const { stdout } = await cluster.kubectl(['get', 'networkpolicy', '-n', namespace, 'daemonset-lab-learners', '-o', 'json']);
    const policy = JSON.parse(stdout) as { spec: { policyTypes: string[]; ingress: { from: unknown[] }[]; egress: { to: unknown[] }[] } };
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress[0]?.from).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'daemonset-lab-hub' } } }]);
    expect(policy.spec.egress).toEqual([{ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'daemonset-lab-hub' } } }] }]);
  });
});

describe('claims', () => {
  it('a warm pod goes to exactly one learner, even when five claim at once', async () => {
    const room = classroom({ id: 'race', warmPool: 1, capacity: 10 });
    await spawner.refill(room);
    const warm = spawner.pods('race')[0]!.metadata!.name!;
    const names = (await Promise.all(['a', 'b', 'c', 'd', 'e'].map((l) => spawner.ready(room, `learner${l}`)))).map((p) => p.metadata!.name!);
    expect(names.filter((n) => n === warm)).toHaveLength(1);
    expect(new Set(names).size).toBe(5);
    const { stdout } = await cluster.kubectl(['get', 'pods', '-n', namespace, '-l', `${LABELS.classroom}=race`, '-o', `jsonpath={range .items[*]}{.metadata.labels.daemonset-lab\\.dev/learner}{"\\n"}{end}`]);
    expect(stdout.trim().split('\n').sort()).toEqual(['learnera', 'learnerb', 'learnerc', 'learnerd', 'learnere']);
    expect(await spawner.refill(room)).toEqual({ created: 1, failures: [] });
    expect(spawner.counts('race')).toEqual({ warm: 1, warmReady: 1, claimed: 5 });
  });

  it('a sign-in takes a warm pod that has set up the lab before one that has not', async () => {
    const room = classroom({ id: 'prepared', warmPool: 1, capacity: 10 });
    await spawner.refill(room);
    const plain = spawner.pods('prepared')[0]!.metadata!.name!;
    const seen: string[] = [];
    expect(await spawner.refill(classroom({ id: 'prepared', warmPool: 2, capacity: 10 }), async (pod, lab) => void seen.push(`${pod.metadata!.name} ${lab}`))).toEqual({ created: 1, failures: [] });
    const prepared = spawner.pods('prepared').find((p) => p.metadata!.name !== plain)!;
    expect(seen).toEqual([`${prepared.metadata!.name} first-daemonset`]);
    await expect.poll(() => spawner.pod(prepared.metadata!.name!)?.metadata?.annotations?.['daemonset-lab.dev/prepared-lab']).toBe('first-daemonset');
    expect((await spawner.ready(room, 'learnerp')).metadata!.name).toBe(prepared.metadata!.name);
    expect((await spawner.ready(room, 'learnerq')).metadata!.name).toBe(plain);
  });

  it('a warm pod that cannot set up the lab is deleted and named as a failure', async () => {
    const room = classroom({ id: 'unprepared', warmPool: 1, capacity: 10 });
    const result = await spawner.refill(room, async () => {
      throw new Error('POST /api/labs/first-daemonset/start failed: HTTP 503 The lab cluster did not start');
    });
    expect(result.created).toBe(0);
    expect(result.failures.map((f) => [f.reason, f.message])).toEqual([[
      'PrepareFailed',
      expect.stringMatching(/^Pod lab-[0-9a-f]{12} could not set up lab first-daemonset: POST \/api\/labs\/first-daemonset\/start failed: HTTP 503 The lab cluster did not start$/),
    ]]);
    await expect.poll(() => spawner.pods('unprepared')).toEqual([]);
  });

  it('a second sign-in of the same learner returns their pod', async () => {
    const room = classroom({ id: 'race', capacity: 10 });
    const first = spawner.podOf('learnera')!.metadata!.name;
    const [again, twice] = await Promise.all([spawner.ready(room, 'learnera'), spawner.ready(room, 'learnera')]);
    expect([again.metadata!.name, twice.metadata!.name]).toEqual([first, first]);
  });

  it('a full class says so', async () => {
    const room = classroom({ id: 'race', capacity: 5 });
    await expect(spawner.ready(room, 'learnerf')).rejects.toThrow(ClassroomFullError);
    await expect(spawner.ready(room, 'learnerf')).rejects.toThrow('race is full: all 5 seats have a lab pod');
  });

  it('an image nobody has is named with the kubelet\'s reason', async () => {
    const bad = await startSpawner(inject('testCluster'), podSettings(namespace, { image: 'localhost/daemonset-lab:no-such-tag' }), 2);
    try {
      const error = await bad.ready(classroom({ id: 'badimage' }), 'learnerx').then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(SpawnError);
      expect((error as SpawnError).reason).toMatch(/ErrImagePull|ImagePullBackOff/);
      expect((error as SpawnError).message).toContain('localhost/daemonset-lab:no-such-tag');
    } finally {
      await bad.stop();
    }
  });
});

describe('a class of 200', () => {
  it('gets 200 distinct Ready pods from a warm pool of 50 and cold spawns, never more than the spawn limit starting at once', { timeout: 600_000 }, async () => {
    const room = classroom({ id: 'big', capacity: 200, warmPool: 50 });

    await spawner.refill(room);
    expect(spawner.counts('big')).toMatchObject({ warm: 50, warmReady: 50 });
    let highest = 0;
    const sample = setInterval(() => (highest = Math.max(highest, spawner.spawnLoad.active)), 5);
    const learners = Array.from({ length: 200 }, (_, i) => `learner${String(i).padStart(3, '0')}`);
    const pods = await Promise.all(learners.map((l) => spawner.ready(room, l)));
    clearInterval(sample);
    expect(new Set(pods.map((p) => p.metadata!.name)).size).toBe(200);
    expect(pods.every(podReady)).toBe(true);
    expect(highest).toBeLessThanOrEqual(10);
    expect(highest).toBeGreaterThan(0);
    expect(spawner.counts('big')).toMatchObject({ claimed: 200, warm: 0 });
    await expect(spawner.ready(room, 'learner200')).rejects.toThrow(ClassroomFullError);
  });
});
