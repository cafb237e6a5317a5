/**
 * The simulated node's image and container behaviour models, from pod specs as learners write
 * them to what the kubelet would report (pull errors, start errors, exits, readiness, hostPath).
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { planPod } from '../../src/server/cluster/embedded/simulation/container.ts';
import { parseImageReference, pullImage } from '../../src/server/cluster/embedded/simulation/image.ts';
import { runLines } from '../../src/server/cluster/embedded/simulation/logs.ts';
import { expandTag } from '../../src/server/cluster/embedded/simulation/registry.ts';
import { buildRegistry, loadRegistry } from '../../src/server/cluster/embedded/simulation/registry-file.ts';
import { renderSimulationConfig } from '../../src/server/cluster/embedded/simulation/simulation.ts';

const registry = loadRegistry();
const pod = (container: Partial<V1Container>, spec: Partial<V1Pod['spec']> = {}): V1Pod => ({
  metadata: { name: 'agent-x7k2p', namespace: 'default' },
  spec: { containers: [{ name: 'agent', image: 'busybox:1.36', ...container }], ...spec },
});
const plan = (container: Partial<V1Container>, spec?: Partial<V1Pod['spec']>) => planPod(pod(container, spec), registry);

describe('image references', () => {
  it('are normalized as containerd does', () => {
    expect(parseImageReference('nginx').canonical).toBe('docker.io/library/nginx:latest');
    expect(parseImageReference('docker.io/library/nginx:1.20.0').canonical).toBe('docker.io/library/nginx:1.20.0');
    expect(parseImageReference('fluent/fluentd:v1.14-1').canonical).toBe('docker.io/fluent/fluentd:v1.14-1');
    expect(parseImageReference('localhost:5000/app').canonical).toBe('localhost:5000/app:latest');
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(parseImageReference(`nginx:1.20.0@${digest}`)).toMatchObject({ repository: 'docker.io/library/nginx', tag: '1.20.0', digest });
  });

  it('pull when the repository is known and the tag exists, or the repository is unknown', () => {
    for (const image of ['nginx:1.19', 'docker.io/library/nginx:1.20.0', 'quay.io/prometheus/node-exporter:v1.8.2', 'prom/node-exporter:v1.8.2', 'myteam/agent:2.3.1', `nginx@sha256:${'0'.repeat(64)}`]) {
      expect(pullImage(image, registry), image).toMatchObject({ ok: true });
    }
  });

  it('fail with containerd\'s "not found" for a tag a known repository lacks', () => {
    expect(pullImage('nginx:1.2O', registry)).toEqual({
      ok: false,
      reason: 'ErrImagePull',
      message: 'failed to pull and unpack image "docker.io/library/nginx:1.2O": failed to resolve reference "docker.io/library/nginx:1.2O": docker.io/library/nginx:1.2O: not found',
    });
  });

  it('fail with Docker Hub\'s "pull access denied" for a misspelled repository', () => {
    expect(pullImage('ngnix:1.19', registry)).toEqual({
      ok: false,
      reason: 'ErrImagePull',
      message:
        'failed to pull and unpack image "docker.io/library/ngnix:1.19": failed to resolve reference "docker.io/library/ngnix:1.19": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed',
    });
  });

  it('are InvalidImageName when malformed', () => {
    expect(pullImage('Nginx:1.19', registry)).toMatchObject({ ok: false, reason: 'InvalidImageName', message: expect.stringContaining('repository name (library/Nginx) must be lowercase') });
    expect(pullImage('nginx:', registry)).toMatchObject({ ok: false, reason: 'InvalidImageName' });
  });

  it('tag ranges expand as in a shell', () => {
    expect(expandTag('1.19.{0..2}')).toEqual(['1.19.0', '1.19.1', '1.19.2']);
  });

  it('registry data is validated with the file and field named', () => {
    expect(() => buildRegistry({ shells: {}, bases: {}, programs: {}, repositories: { 'docker.io/library/x': { tags: [], base: 'b', shell: 's' } } })).toThrow(
      /registry\.yaml: repositories\.docker\.io\/library\/x\.tags/,
    );
  });
});

describe('container behaviour', () => {
  it('a script that prints and exits 0 exits with 0 at once', () => {
    expect(plan({ command: ['sh', '-c', 'echo one; echo two'] })).toMatchObject({ phase: 'run', exitAfter: 0, containers: { agent: { exit: [0, 0] } } });
  });

  it('a script ending in exit 1 exits with 1; one that loops keeps running', () => {
    expect(plan({ command: ['sh', '-c'], args: ['echo starting\nexit 1'] }).containers.agent!.exit).toEqual([0, 1]);
    expect(plan({ command: ['sh', '-c', 'while true; do echo x; sleep 30; done'] })).toMatchObject({ exitAfter: -1, readyAfter: 0 });
  });

  it('a missing executable cannot start: containerd\'s StartError message', () => {
    expect(plan({ command: ['/app/agent'] }).containers.agent!.startError).toBe(
      'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: exec: "/app/agent": stat /app/agent: no such file or directory: unknown',
    );
    expect(plan({ command: ['agent'] }).containers.agent!.startError).toContain('exec: "agent": executable file not found in $PATH: unknown');
    expect(plan({ image: 'nginx:1.19', command: ['bash', '-c', 'echo hi'] }).phase).toBe('run');
    expect(plan({ image: 'busybox:1.36', command: ['bash', '-c', 'echo hi'] }).phase).toBe('start');
  });

  it('executables are per image: the busybox default command sh exits, nginx serves', () => {
    expect(plan({ image: 'busybox:1.36' }).exitAfter).toBe(0);
    expect(plan({ image: 'nginx:1.19' })).toMatchObject({ exitAfter: -1, readyAfter: 0, waitsForGrace: false });
  });

  it('a shell or sleep as PID 1 ignores SIGTERM (deletion waits for the grace period); a trap does not', () => {
    expect(plan({ command: ['sleep', 'infinity'] }).waitsForGrace).toBe(true);
    expect(plan({ command: ['sh', '-c', 'while true; do sleep 5; done'] }).waitsForGrace).toBe(true);
    expect(plan({ command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"] }).waitsForGrace).toBe(false);
  });

  it('a readiness probe on a port the process serves passes after initialDelaySeconds; on another port, never', () => {
    const probe = (port: number) => ({ httpGet: { path: '/', port }, initialDelaySeconds: 10, periodSeconds: 5 });
    expect(plan({ image: 'nginx:1.19', readinessProbe: probe(80) }).readyAfter).toBe(10);
    expect(plan({ image: 'nginx:1.19', readinessProbe: probe(8080) }).readyAfter).toBe(-1);
  });

  it('a failing liveness probe stops the process after failureThreshold periods, with the exit code SIGTERM gives it', () => {
    const liveness = { tcpSocket: { port: 9999 }, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3 };
    // nginx exits 0 after a fast shutdown; node_exporter dies of the signal (143).
    expect(plan({ image: 'nginx:1.19', livenessProbe: liveness }).containers.agent!.exit).toEqual([35, 0]);
    expect(plan({ image: 'quay.io/prometheus/node-exporter:v1.8.2', livenessProbe: liveness }).containers.agent!.exit).toEqual([35, 143]);
    // A shell as PID 1 ignores SIGTERM: it is killed when the grace period (30 s by default) ends.
    expect(plan({ command: ['sh', '-c', 'while true; do sleep 5; done'], livenessProbe: { exec: { command: ['/bin/healthcheck'] }, periodSeconds: 5, failureThreshold: 1 } }).containers.agent!.exit).toEqual([35, 137]);
  });

  it('an HTTP probe of a path the server lacks gets 404 and fails; one of a page it has passes', () => {
    const liveness = (path: string) => ({ httpGet: { path, port: 80 }, periodSeconds: 2, failureThreshold: 1 });
    expect(plan({ image: 'nginx:1.19', livenessProbe: liveness('/healthz-missing') }).containers.agent).toMatchObject({
      exit: [2, 0],
      livenessFailure: 'Liveness probe failed: HTTP probe failed with statuscode: 404',
    });
    expect(plan({ image: 'nginx:1.19', livenessProbe: liveness('/index.html') }).containers.agent!.exit).toBeUndefined();
    expect(plan({ image: 'nginx:1.19', readinessProbe: { httpGet: { path: '/ready', port: 80 } } })).toMatchObject({
      readyAfter: -1,
      containers: { agent: { readinessFailure: 'Readiness probe failed: HTTP probe failed with statuscode: 404' } },
    });
    // A program whose pages the registry does not list answers any path.
    expect(plan({ image: 'fluent/fluentd:v1.14-1', readinessProbe: { httpGet: { path: '/api/plugins.json', port: 24224 } } }).readyAfter).toBe(0);
  });

  it('an image the node already has is not pulled again, unless imagePullPolicy is Always', () => {
    const nodeHas = (image: string) => image === 'nginx:1.19';
    expect(planPod(pod({ image: 'nginx:1.19', imagePullPolicy: 'IfNotPresent' }), registry, undefined, nodeHas).containers.agent!.present).toBe(true);
    expect(planPod(pod({ image: 'nginx:1.19', imagePullPolicy: 'Always' }), registry, undefined, nodeHas).containers.agent!.present).toBeUndefined();
    expect(planPod(pod({ image: 'nginx:1.20.0' }), registry, undefined, nodeHas).containers.agent!.present).toBeUndefined();
    // An init container's image is on the node when the app containers start.
    const withInit = planPod(pod({ image: 'busybox:1.33.1' }, { initContainers: [{ name: 'init', image: 'busybox:1.33.1', command: ['true'] }] }), registry, undefined, () => false);
    expect(withInit.initImagePresent).toBeUndefined();
    expect(withInit.containers.agent!.present).toBe(true);
    // The same image written another way is the same image.
    expect(planPod(pod({ image: 'docker.io/library/busybox:1.33.1' }, { initContainers: [{ name: 'init', image: 'busybox:1.33.1', command: ['true'] }] }), registry).containers.agent!.present).toBe(true);
    expect(planPod(pod({ image: 'nginx:1.19' }, { initContainers: [{ name: 'init', image: 'nginx:1.19', command: ['true'] }] }), registry, undefined, nodeHas).initImagePresent).toBe(true);
    // A tag that does not exist is never "present": the pull fails as before.
    expect(planPod(pod({ image: 'nginx:1.2O' }), registry, undefined, () => true).containers.agent).toMatchObject({ pull: ['ErrImagePull', expect.any(String)] });
  });

  it('the node-exporter DaemonSet\'s container serves 9100 and passes its probes', () => {
    const exporter = plan(
      { image: 'quay.io/prometheus/node-exporter:v1.8.2', args: ['--path.procfs=/host/proc', '--path.sysfs=/host/sys', '--path.rootfs=/host/root'], readinessProbe: { httpGet: { path: '/', port: 9100 } } },
      { hostNetwork: true, hostPID: true, volumes: [{ name: 'proc', hostPath: { path: '/proc' } }, { name: 'root', hostPath: { path: '/' } }] },
    );
    expect(exporter).toMatchObject({ phase: 'run', exitAfter: -1, readyAfter: 0 });
  });

  it('a hostPath of type Directory that the node lacks fails to mount with the kubelet\'s message', () => {
    const volumes = [{ name: 'data', hostPath: { path: '/data/agent', type: 'Directory' } }];
    expect(plan({}, { volumes })).toMatchObject({ phase: 'mount', mount: 'MountVolume.SetUp failed for volume "data" : hostPath type check failed: /data/agent is not a directory' });
    expect(plan({}, { volumes: [{ name: 'logs', hostPath: { path: '/var/log', type: 'Directory' } }] }).phase).not.toBe('mount');
    expect(plan({}, { volumes: [{ name: 'sock', hostPath: { path: '/var/log', type: 'File' } }] }).mount).toContain('/var/log is not a file');
    expect(plan({}, { volumes: [{ name: 'new', hostPath: { path: '/data/agent', type: 'DirectoryOrCreate' } }] }).phase).not.toBe('mount');
  });

  it('initialization stops at the first init container that fails, cannot start or never exits', () => {
    const initPlan = (initContainers: Partial<V1Container>[]) =>
      plan({ image: 'nginx:1.19' }, { initContainers: initContainers.map((c, i) => ({ name: `init-${i}`, image: 'busybox:1.36', ...c })) });
    const init = (initContainers: Partial<V1Container>[]) => initPlan(initContainers).init;
    // Init containers that all complete take as long as their scripts together.
    expect(initPlan([{ command: ['sh', '-c', 'sleep 3'] }, { command: ['sh', '-c', 'echo migrating; sleep 4; echo done'] }])).toMatchObject({ initAfter: 7 });
    expect(init([{ command: ['sh', '-c', 'echo ready'] }])).toBeUndefined();
    expect(init([{ command: ['sh', '-c', 'echo ok'] }, { command: ['sh', '-c', 'echo init failing; sleep 3; exit 1'] }, { command: ['false'] }])).toEqual({ container: 'init-1', exit: [3, 1] });
    expect(init([{ command: ['false'] }])).toEqual({ container: 'init-0', exit: [0, 1] });
    expect(init([{ command: ['wait-for-db'] }])).toMatchObject({ container: 'init-0', startError: expect.stringContaining('exec: "wait-for-db": executable file not found in $PATH') });
    expect(init([{ command: ['sh', '-c', 'while true; do sleep 5; done'] }])).toEqual({ container: 'init-0' });
    // A sidecar (restartPolicy Always) keeps running by design; it does not hold the pod in Init.
    expect(init([{ command: ['sh', '-c', 'while true; do sleep 5; done'], restartPolicy: 'Always' }])).toBeUndefined();
  });

  it('a missing ConfigMap or Secret volume fails to mount; a missing env reference cannot be made into a container', () => {
    const objects = {
      configMapKeys: (namespace: string, name: string) => (namespace === 'default' && name === 'agent-config' ? new Set(['level']) : undefined),
      secretKeys: (namespace: string, name: string) => (namespace === 'default' && name === 'agent-token' ? new Set(['token']) : undefined),
    };
    const planWith = (container: Partial<V1Container>, spec: Partial<V1Pod['spec']> = {}) => planPod(pod({ image: 'nginx:1.19', ...container }, spec), registry, objects);
    const volume = (source: object) => ({ volumes: [{ name: 'config', ...source }] });
    expect(planWith({}, volume({ configMap: { name: 'does-not-exist' } }))).toMatchObject({ phase: 'mount', mount: 'MountVolume.SetUp failed for volume "config" : configmap "does-not-exist" not found' });
    expect(planWith({}, volume({ secret: { secretName: 'nope' } })).mount).toBe('MountVolume.SetUp failed for volume "config" : secret "nope" not found');
    expect(planWith({}, volume({ configMap: { name: 'agent-config', items: [{ key: 'lvl', path: 'lvl' }] } })).mount).toBe('MountVolume.SetUp failed for volume "config" : configmap references non-existent config key: lvl');
    expect(planWith({}, volume({ configMap: { name: 'does-not-exist', optional: true } })).phase).toBe('run');
    expect(planWith({}, volume({ configMap: { name: 'agent-config' } })).phase).toBe('run');
    // The kubelet sets up volumes before it pulls: a missing ConfigMap wins over a mistyped image.
    expect(planWith({ image: 'nginx:1.2O' }, volume({ configMap: { name: 'does-not-exist' } })).phase).toBe('mount');

    const config = (container: Partial<V1Container>) => planWith(container).containers.agent!;
    expect(config({ envFrom: [{ configMapRef: { name: 'does-not-exist' } }] })).toEqual({ configError: 'configmap "does-not-exist" not found' });
    expect(config({ envFrom: [{ secretRef: { name: 'nope' } }] })).toEqual({ configError: 'secret "nope" not found' });
    expect(config({ env: [{ name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'agent-config', key: 'verbosity' } } }] })).toEqual({ configError: "couldn't find key verbosity in ConfigMap default/agent-config" });
    expect(config({ env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'agent-token', key: 'pass' } } }] })).toEqual({ configError: "couldn't find key pass in Secret default/agent-token" });
    expect(config({ env: [{ name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'does-not-exist', key: 'level', optional: true } } }] }).configError).toBeUndefined();
    expect(planWith({ env: [{ name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'agent-config', key: 'level' } } }] }).phase).toBe('run');
    expect(planWith({ envFrom: [{ configMapRef: { name: 'does-not-exist' } }] }).phase).toBe('config');
  });
});

describe('kubectl logs of a server the kubelet probes', () => {
  const started = new Date('2026-11-24T18:40:00Z');
  const probed = (container: Partial<V1Container>): V1Pod => ({ ...pod({ image: 'nginx:1.19', ...container }), status: { podIP: '10.244.2.7' } });
  const logs = (p: V1Pod, seconds: number, finishedAfter?: number) =>
    runLines(p, 'agent', { startedAt: started, containerID: 'containerd://x', ...(finishedAfter !== undefined ? { finishedAt: new Date(started.getTime() + finishedAfter * 1000) } : {}) }, new Date(started.getTime() + seconds * 1000), registry, { timestamps: false }).map((l) => l.text);

  it('nginx logs each readiness probe in its access log format, every periodSeconds from initialDelaySeconds', () => {
    const lines = logs(probed({ readinessProbe: { httpGet: { path: '/', port: 80 }, initialDelaySeconds: 3, periodSeconds: 5 } }), 16);
    const requests = lines.filter((l) => l.includes('kube-probe'));
    expect(requests).toEqual([
      '10.244.2.1 - - [24/Nov/2026:18:40:05 +0000] "GET / HTTP/1.1" 200 612 "-" "kube-probe/1.36" "-"',
      '10.244.2.1 - - [24/Nov/2026:18:40:10 +0000] "GET / HTTP/1.1" 200 612 "-" "kube-probe/1.36" "-"',
      '10.244.2.1 - - [24/Nov/2026:18:40:15 +0000] "GET / HTTP/1.1" 200 612 "-" "kube-probe/1.36" "-"',
    ]);
    // The start-up lines come first; the requests follow in time order.
    expect(lines.indexOf(requests[0]!)).toBeGreaterThan(lines.findIndex((l) => l.includes('start worker process')));
  });

  it('a liveness probe of a page nginx lacks logs the error and a 404, once per failure, until the kubelet stops it', () => {
    const p = probed({ livenessProbe: { httpGet: { path: '/healthz-missing', port: 80 }, periodSeconds: 10, failureThreshold: 3 } });
    const lines = logs(p, 120, 30);
    const failures = lines.filter((l) => l.includes('/healthz-missing'));
    expect(failures).toHaveLength(6);
    expect(failures[0]).toBe('2026/11/24 18:40:10 [error] 29#29: *1 open() "/usr/share/nginx/html/healthz-missing" failed (2: No such file or directory), client: 10.244.2.1, server: localhost, request: "GET /healthz-missing HTTP/1.1", host: "10.244.2.7:80"');
    expect(failures[1]).toBe('10.244.2.1 - - [24/Nov/2026:18:40:10 +0000] "GET /healthz-missing HTTP/1.1" 404 153 "-" "kube-probe/1.36" "-"');
    expect(failures[4]).toContain('*3 open()');
  });

  it('a probe of a port the server does not serve is refused and logs nothing; a program without a request log prints none', () => {
    expect(logs(probed({ readinessProbe: { httpGet: { path: '/', port: 8080 } } }), 60).some((l) => l.includes('kube-probe'))).toBe(false);
    const exporter: V1Pod = { ...pod({ image: 'quay.io/prometheus/node-exporter:v1.8.2', readinessProbe: { httpGet: { path: '/', port: 9100 } } }), status: { podIP: '10.244.2.7' } };
    expect(logs(exporter, 60).some((l) => l.includes('kube-probe'))).toBe(false);
  });
});

describe('the simulation configuration kwok reads', () => {
  it('holds only Stages: kwok\'s own options stay kwokctl\'s', () => {
    const documents = parseAllDocuments(renderSimulationConfig({ kubeletPort: 10250 })).map((doc) => doc.toJS() as { kind: string });
    expect(new Set(documents.map((doc) => doc.kind))).toEqual(new Set(['Stage']));
  });
});
