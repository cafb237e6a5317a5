/**
 * Learner pods through the Kubernetes API: a warm pool per classroom, claimed on sign-in with one
 * atomic label patch; cold spawns when the pool is empty, at most `spawnLimit` at once; deletion
 * when the culler says so. An informer keeps every hub pod of the namespace in memory, so sign-in,
 * pool counts and readiness waits read no API.
 */
import { ApiException, CoreV1Api, KubeConfig, makeInformer, PatchStrategy, setHeaderOptions, type Informer, type ObjectCache, type V1Pod } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Classroom } from './classroom.ts';
import { Limiter } from './limiter.ts';
import { ANNOTATIONS, LABELS, LEARNER_APP, learnerPod, secretOwner, tokenSecret, type LearnerPodSettings } from './pods.ts';

const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The class is full: every seat has a pod. */
export class ClassroomFullError extends Error {}

/** A pod could not become Ready; `reason` is the kubelet's (ImagePullBackOff, Unschedulable, …). */
export class SpawnError extends Error {
  readonly reason: string;

  constructor(message: string, reason: string) {
    super(message);
    this.reason = reason;
  }
}

/** Ready condition True. */
export function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Why a pod will not become Ready without help, or undefined while it may still. */
export function podFailure(pod: V1Pod): { reason: string; message: string } | undefined {
  const name = pod.metadata?.name;
  if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') return { reason: pod.status.phase, message: `Pod ${name} ended (${pod.status.phase})` };
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && /BackOff|ErrImagePull|InvalidImageName|CreateContainerConfigError|CreateContainerError/.test(waiting.reason)) {
      return { reason: waiting.reason, message: `Pod ${name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
    }
  }
  return undefined;
}

const live = (pod: V1Pod) => !pod.metadata?.deletionTimestamp;

/**
 * Creates an object, trying again after a transport error (an API server under load closes
 * connections): the name is fixed, so when an earlier try did land, the retry's 409 AlreadyExists
 * means done, and the object is read back.
 */
async function createOnce<T>(create: () => Promise<T>, read: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await create();
    } catch (error) {
      if (error instanceof ApiException && error.code === 409 && attempt > 1) return read();
      if (error instanceof ApiException || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

/** A label or annotation key as one JSON Pointer segment (RFC 6901: ~ and / escaped). */
const pointerKey = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** A new learner pod's name (its token Secret has the same name). */
const newPodName = () => `lab-${randomBytes(6).toString('hex')}`;

/** Sets up `lab` in a Ready warm pod (the hub calls the pod's workspace server); rejects if it cannot. */
export type PreparePod = (pod: V1Pod, lab: string) => Promise<void>;

/** What the spawner needs. */
export interface SpawnerOptions {
  readonly kubeConfig: KubeConfig;
  readonly pods: LearnerPodSettings;
  /** Most pods being created and not yet Ready at once. */
  readonly spawnLimit: number;
  /** How long a pod may take to become Ready. */
  readonly readyTimeoutMs?: number;
}

/** Spawns, pools, claims and deletes learner pods of one namespace. */
export class Spawner {
  readonly #core: CoreV1Api;
  readonly #settings: LearnerPodSettings;
  readonly #informer: Informer<V1Pod> & ObjectCache<V1Pod>;
  readonly #limiter: Limiter;
  readonly #readyTimeoutMs: number;
  /** Sign-ins in flight per learner, so two tabs signing in at once get one pod. */
  readonly #claims = new Map<string, Promise<V1Pod>>();
  /** Warm pods a sign-in of this process is patching now. */
  readonly #taking = new Set<string>();
  /** Names of the cold starts under way per classroom (their pods count as seats before they exist). */
  readonly #cold = new Map<string, Set<string>>();
  /** Warm pods being created per classroom (not yet in the informer's cache). */
  readonly #creating = new Map<string, number>();
  readonly #waiters = new Set<(pod: V1Pod) => void>();
  #stopped = false;

  constructor(options: SpawnerOptions) {
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#settings = options.pods;
    this.#limiter = new Limiter(options.spawnLimit);
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
    const namespace = options.pods.namespace;
    const selector = `${LABELS.app}=${LEARNER_APP}`;
    this.#informer = makeInformer(
      options.kubeConfig,
      `/api/v1/namespaces/${namespace}/pods`,
      () => this.#core.listNamespacedPod({ namespace, labelSelector: selector }),
      selector,
    );
    const notify = (pod: V1Pod) => this.#waiters.forEach((waiter) => waiter(pod));
    this.#informer.on('add', notify);
    this.#informer.on('update', notify);
    this.#informer.on('delete', notify);
    this.#informer.on('error', () => {
      // The watch broke (API server restart, network): start it again after a pause.
      if (!this.#stopped) setTimeout(() => void this.#informer.start().catch(() => undefined), 2000);
    });
  }

  async start(): Promise<void> {
    await this.#informer.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer.stop();
  }

  /** Spawns running or waiting for a slot. */
  get spawnLoad() {
    return this.#limiter.load;
  }

  /** Live (not terminating) pods of a classroom, from the cache. */
  pods(classroomId: string): V1Pod[] {
    return this.#informer.list().filter((pod) => live(pod) && pod.metadata?.labels?.[LABELS.classroom] === classroomId);
  }

  /** The learner's live pod, if any. */
  podOf(learnerId: string): V1Pod | undefined {
    return this.#informer.list().find((pod) => live(pod) && pod.metadata?.labels?.[LABELS.learner] === learnerId);
  }

  /** A pod by name, from the cache. */
  pod(name: string): V1Pod | undefined {
    return this.#informer.get(name, this.#settings.namespace);
  }

  /** Counts of a classroom's pods by state. */
  counts(classroomId: string): { warm: number; warmReady: number; claimed: number } {
    const pods = this.pods(classroomId);
    const warm = pods.filter((p) => p.metadata?.labels?.[LABELS.state] === 'warm');
    return { warm: warm.length, warmReady: warm.filter(podReady).length, claimed: pods.length - warm.length };
  }

  /**
   * The learner's Ready pod: theirs if it lives, else a Ready warm pod claimed for them, else a
   * new one, created and awaited within the spawn limit. Two sign-ins of one learner at once get
   * one pod. Throws ClassroomFullError when every seat is taken, SpawnError when the pod fails.
   */
  ready(classroom: Classroom, learnerId: string): Promise<V1Pod> {
    const inFlight = this.#claims.get(learnerId);
    if (inFlight) return inFlight;
    const claim = this.#ready(classroom, learnerId).finally(() => this.#claims.delete(learnerId));
    this.#claims.set(learnerId, claim);
    return claim;
  }

  async #ready(classroom: Classroom, learnerId: string): Promise<V1Pod> {
    const own = this.podOf(learnerId);
    if (own) return podReady(own) ? own : this.waitReady(own.metadata!.name!);
    if (this.#seatsTaken(classroom.id) >= classroom.capacity) {
      throw new ClassroomFullError(`${classroom.id} is full: all ${classroom.capacity} seats have a lab pod`);
    }
    for (;;) {
      // Each sign-in tries a different warm pod, so a class signing in at once does not patch
      // the same pod over and over; the patch itself still guards against other hub replicas.
      const warm = this.#claimable(classroom);
      if (!warm) break;
      const name = warm.metadata!.name!;
      this.#taking.add(name);
      try {
        if (await this.#take(name, learnerId)) return warm;
      } finally {
        this.#taking.delete(name);
      }
    }
    const name = newPodName();
    const pending = this.#cold.get(classroom.id) ?? new Set<string>();
    this.#cold.set(classroom.id, pending.add(name));
    try {
      return await this.#limiter.run(async () => this.waitReady((await this.#create(classroom.id, name, learnerId)).metadata!.name!));
    } finally {
      pending.delete(name);
    }
  }

  /** A Ready warm pod no sign-in is taking: one that has set up the classroom's first lab if any. */
  #claimable(classroom: Classroom): V1Pod | undefined {
    const free = this.pods(classroom.id).filter((p) => p.metadata?.labels?.[LABELS.state] === 'warm' && podReady(p) && !this.#taking.has(p.metadata!.name!));
    return free.find((p) => p.metadata?.annotations?.[ANNOTATIONS.prepared] === classroom.labs[0]) ?? free[0];
  }

  /** Claimed pods plus cold starts not yet in the cache (a pod counts once, cached or not). */
  #seatsTaken(classroomId: string): number {
    const claimed = this.pods(classroomId).filter((p) => p.metadata?.labels?.[LABELS.state] === 'claimed').map((p) => p.metadata!.name!);
    return new Set([...claimed, ...(this.#cold.get(classroomId) ?? [])]).size;
  }

  /** One atomic patch: succeeds only while the pod is still warm, so no two learners share a pod. */
  async #take(name: string, learnerId: string): Promise<boolean> {
    try {
      await this.#core.patchNamespacedPod(
        {
          name,
          namespace: this.#settings.namespace,
          body: [
            { op: 'test', path: `/metadata/labels/${pointerKey(LABELS.state)}`, value: 'warm' },
            { op: 'replace', path: `/metadata/labels/${pointerKey(LABELS.state)}`, value: 'claimed' },
            { op: 'add', path: `/metadata/labels/${pointerKey(LABELS.learner)}`, value: learnerId },
          ],
        },
        JSON_PATCH,
      );
      return true;
    } catch (error) {
      // 422: another hub replica or sign-in took it first; 404: culled meanwhile. Try the next.
      if (error instanceof ApiException && (error.code === 422 || error.code === 404)) return false;
      throw error;
    }
  }

  /**
   * Creates a pod and its token Secret (warm, or already claimed for a learner). The Secret comes
   * first: a kubelet that finds a pod's Secret missing fails its container with
   * CreateContainerConfigError and tries again only after its back-off (about 10 s), which a cold
   * sign-in would wait through. Once the pod exists, it becomes the Secret's owner, so the
   * garbage collector deletes the Secret with the pod.
   */
  async #create(classroomId: string, name: string, learnerId?: string): Promise<V1Pod> {
    const body = learnerPod(this.#settings, name, classroomId);
    if (learnerId) body.metadata!.labels = { ...body.metadata!.labels, [LABELS.state]: 'claimed', [LABELS.learner]: learnerId };
    const namespace = this.#settings.namespace;
    await createOnce(
      () => this.#core.createNamespacedSecret({ namespace, body: tokenSecret(this.#settings, name) }),
      () => this.#core.readNamespacedSecret({ name, namespace }),
    );
    let pod: V1Pod;
    try {
      pod = await createOnce(
        () => this.#core.createNamespacedPod({ namespace, body }),
        () => this.#core.readNamespacedPod({ name, namespace }),
      );
    } catch (error) {
      await this.#core.deleteNamespacedSecret({ name, namespace }).catch(() => undefined);
      throw error;
    }
    await this.#core.patchNamespacedSecret({ name, namespace, body: { metadata: { ownerReferences: [secretOwner(pod)] } } }, MERGE_PATCH);
    return pod;
  }

  /**
   * Resolves once the pod is Ready; rejects with a SpawnError naming the kubelet's reason when it
   * fails or takes longer than the ready timeout.
   */
  waitReady(name: string, timeoutMs = this.#readyTimeoutMs): Promise<V1Pod> {
    return new Promise((resolve, reject) => {
      const check = (pod: V1Pod | undefined) => {
        if (!pod || pod.metadata?.name !== name) return;
        if (!live(pod)) return finish(() => reject(new SpawnError(`Pod ${name} was deleted before it became Ready`, 'Deleted')));
        if (podReady(pod)) return finish(() => resolve(pod));
        const failure = podFailure(pod);
        if (failure) finish(() => reject(new SpawnError(failure.message, failure.reason)));
      };
      const timer = setTimeout(() => {
        const pod = this.pod(name);
        const waiting = pod?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
        const reason = waiting?.reason ?? pod?.status?.phase ?? 'NotFound';
        finish(() => reject(new SpawnError(`Pod ${name} was not Ready after ${Math.round(timeoutMs / 1000)}s (${reason}${waiting?.message ? `: ${waiting.message}` : ''})`, reason)));
      }, timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check(this.pod(name));
    });
  }

  /**
   * Tops the classroom's warm pool up to `warmPool` Ready-or-starting pods, creating at most
   * `spawnLimit` at once. Resolves once the new pods are Ready (or failed: failures are returned).
   */
  async refill(classroom: Classroom, prepare?: PreparePod): Promise<{ created: number; failures: SpawnError[] }> {
    let created = 0;
    const failures: SpawnError[] = [];
    // Again until nothing is missing: a claim made while a batch started may not have been in
    // the cache yet, so the first count can be short.
    for (;;) {
      const batch = await this.#refillOnce(classroom, prepare);
      created += batch.created;
      failures.push(...batch.failures);
      if (batch.created === 0 || batch.failures.length > 0) return { created, failures };
    }
  }

  async #refillOnce(classroom: Classroom, prepare: PreparePod | undefined): Promise<{ created: number; failures: SpawnError[] }> {
    const { warm } = this.counts(classroom.id);
    const creating = this.#creating.get(classroom.id) ?? 0;
    const seatsLeft = classroom.capacity - this.#seatsTaken(classroom.id);
    const missing = Math.max(0, Math.min(classroom.warmPool, seatsLeft) - warm - creating);
    if (missing === 0) return { created: 0, failures: [] };
    this.#creating.set(classroom.id, creating + missing);
    const failures: SpawnError[] = [];
    await Promise.all(
      Array.from({ length: missing }, () =>
        this.#limiter
          .run(async () => {
            const pod = await this.#create(classroom.id, newPodName());
            const ready = await this.waitReady(pod.metadata!.name!);
            if (prepare) await this.#prepare(ready, classroom, prepare);
          })
          .catch((error: unknown) => failures.push(error instanceof SpawnError ? error : new SpawnError(String((error as Error).message ?? error), 'CreateFailed')))
          .finally(() => this.#creating.set(classroom.id, (this.#creating.get(classroom.id) ?? 1) - 1)),
      ),
    );
    return { created: missing - failures.length, failures };
  }

  /**
   * Sets up the classroom's first lab in a new warm pod and marks it prepared, so a sign-in to it
   * finds its cluster up and its lab started. A pod that cannot be prepared is deleted (the next
   * refill replaces it) and counts as a failure. A pod claimed meanwhile is left to its learner.
   */
  async #prepare(pod: V1Pod, classroom: Classroom, prepare: PreparePod): Promise<void> {
    const name = pod.metadata!.name!;
    const lab = classroom.labs[0]!;
    try {
      await prepare(pod, lab);
    } catch (error) {
      if (this.pod(name)?.metadata?.labels?.[LABELS.state] !== 'warm') return;
      await this.delete(name);
      throw new SpawnError(`Pod ${name} could not set up lab ${lab}: ${(error as Error).message ?? String(error)}`, 'PrepareFailed');
    }
    try {
      await this.#core.patchNamespacedPod({ name, namespace: this.#settings.namespace, body: { metadata: { annotations: { [ANNOTATIONS.prepared]: lab } } } }, MERGE_PATCH);
    } catch (error) {
      // Gone meanwhile (culled or deleted): nothing to mark.
      if (!(error instanceof ApiException && error.code === 404)) throw error;
    }
  }

  /** Deletes a pod (its Secret follows through its owner reference). */
  async delete(name: string): Promise<void> {
    try {
      await this.#core.deleteNamespacedPod({ name, namespace: this.#settings.namespace, gracePeriodSeconds: 5 });
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404)) throw error;
    }
  }
}
