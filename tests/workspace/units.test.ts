/**
 * The workspace's pure parts, without a cluster: the map builder, path confinement, the replay
 * buffer, the token helpers, the manifest schema, the progress line and engine errors as HTTP answers.
 */
import { mkdtemp, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import type { V1ControllerRevision, V1DaemonSet, V1Node, V1Pod } from '@kubernetes/client-node';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../src/components/lab/progress.ts';
import type { LabReport } from '../../src/shared/lab-results.ts';
import type { LabProgress, LabSummary } from '../../src/shared/lab-summary.ts';
import { TERMINAL_INPUT_CHUNK, chunkInput } from '../../src/shared/workspace-protocol.ts';
import { MAX_WS_PAYLOAD } from '../../src/server/web/server.ts';
import { parseServeFlags, startMessage } from '../../src/server/web/run.ts';
import { EnvironmentError, SolveStalledError, UsageError } from '../../src/server/errors.ts';
import { engineCall } from '../../src/server/web/routes.ts';
import { HttpError } from '../../src/server/web/http-error.ts';
import { VitestReportSchema, countsByProject, mergeReports, runProblems } from '../../scripts/test-report.ts';
import { originAllowed, ownHosts, ownOrigins, requestToken, startPage, tokenMatches } from '../../src/server/web/auth.ts';
import { buildMap } from '../../src/server/web/cluster-map.ts';
import { confinedPath } from '../../src/server/web/files.ts';
import { manifestSchema } from '../../src/server/web/kube-schema.ts';
import { RingBuffer } from '../../src/server/web/terminal.ts';

const node = (name: string, labels: Record<string, string> = {}, taints: V1Node['spec'] = {}): V1Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec: taints,
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});

describe('the DaemonSet map', () => {
  const ds: V1DaemonSet = {
    metadata: { name: 'agent', namespace: 'default', uid: 'u1' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [], nodeSelector: { disk: 'ssd' } } } },
    status: { desiredNumberScheduled: 1, numberReady: 1, updatedNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 0 },
  };
  const revisions: V1ControllerRevision[] = [1, 2].map((revision) => ({
    revision,
    metadata: { name: `agent-h${revision}`, namespace: 'default', labels: { 'controller-revision-hash': `h${revision}` }, ownerReferences: [{ kind: 'DaemonSet', name: 'agent', uid: 'u1', apiVersion: 'apps/v1' }] },
  }));
  const pod = (name: string, nodeName: string, hash: string, ready: boolean): V1Pod => ({
    metadata: { name, namespace: 'default', labels: { 'controller-revision-hash': hash }, ownerReferences: [{ kind: 'DaemonSet', name: 'agent', uid: 'u1', apiVersion: 'apps/v1' }] },
    spec: { nodeName, containers: [] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });

  it('puts pods on their nodes with their revision, and says why nodes are skipped', () => {
    const map = buildMap(
      [node('w2', { disk: 'hdd' }), node('w1', { disk: 'ssd' }), node('cp', { 'node-role.kubernetes.io/control-plane': '' }, { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] })],
      [pod('agent-x', 'w1', 'h2', true)],
      [ds, { ...ds, metadata: { name: 'kube-proxy', namespace: 'kube-system', uid: 'u2' } }],
      revisions,
    );
    expect(map.nodes.map((n) => n.name)).toEqual(['cp', 'w1', 'w2']);
    expect(map.daemonSets).toEqual([{ id: 'default/agent', currentRevision: 2, desired: 1, ready: 1, updated: 1 }]);
    const w1 = map.nodes.find((n) => n.name === 'w1')!;
    expect(w1.labels).toEqual({ disk: 'ssd' });
    expect(w1.daemonSets[0]).toMatchObject({ daemonSet: 'default/agent', pods: [{ name: 'agent-x', ready: true, revision: 2 }] });
    expect(w1.daemonSets[0]?.skipped).toBeUndefined();
    expect(map.nodes.find((n) => n.name === 'w2')?.daemonSets[0]?.skipped).toMatch(/^selector: .*disk/);
    expect(map.nodes.find((n) => n.name === 'cp')?.taints).toEqual(['node-role.kubernetes.io/control-plane:NoSchedule']);
  });
});

describe('path confinement', () => {
  it('allows paths inside and refuses .., absolute paths and symlinks out', async () => {
    const root = await mkdtemp(join(tmpdir(), 'confine-'));
    const outside = await mkdtemp(join(tmpdir(), 'outside-'));
    await mkdir(join(root, 'sub'));
    await symlink(outside, join(root, 'out'));
    await symlink(join(root, 'sub'), join(root, 'in'));
    await expect(confinedPath(root, 'sub/new.yaml')).resolves.toContain('sub');
    await expect(confinedPath(root, 'in/new.yaml')).resolves.toBeDefined();
    await expect(confinedPath(root, '../x')).rejects.toMatchObject({ status: 403 });
    await expect(confinedPath(root, 'sub/../../x')).rejects.toMatchObject({ status: 403 });
    await expect(confinedPath(root, '/etc/passwd')).rejects.toMatchObject({ status: 403 });
    await expect(confinedPath(root, 'out/x.yaml')).rejects.toMatchObject({ status: 403 });
    await expect(confinedPath(root, 'out/deeper/x.yaml')).rejects.toMatchObject({ status: 403 });
    await expect(confinedPath(root, '')).rejects.toMatchObject({ status: 400 });
  });
});

describe('the replay buffer', () => {
  it('keeps the last bytes only', () => {
    const ring = new RingBuffer(10);
    ring.push(Buffer.from('0123456'));
    ring.push(Buffer.from('789abc'));
    expect(ring.contents().toString()).toBe('3456789abc');
    ring.push(Buffer.from('0123456789XYZ'));
    expect(ring.contents().toString()).toBe('3456789XYZ');
  });

  it('replays exactly the last bytes, whatever the sizes of the chunks and blocks', () => {
    const capacity = 40_000;
    const ring = new RingBuffer(capacity);
    let written = Buffer.alloc(0);
    for (let i = 0; i < 400; i++) {
      const size = [1, 3, 700, 16_384, 20_000, 50_000][i % 6]!;
      const chunk = Buffer.alloc(size, String.fromCharCode(97 + (i % 26)));
      chunk[0] = i % 256;
      ring.push(chunk);
      written = Buffer.concat([written, chunk]).subarray(-capacity);
      expect(ring.contents().equals(written)).toBe(true);
    }
  });

  it('keeps no other memory alive: thousands of keystroke echoes hold about their own size, not a pool slab each', () => {
    // What the load bench showed: each echo (a few bytes) kept its 8 KiB pool slab, which the
    // server's other traffic (events sent to 50 pages) had filled, so RSS grew by hundreds of MB.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Twice: the first collection leaves freed ArrayBuffers counted until the next one.
    const collect = () => (gc(), gc());
    const ring = new RingBuffer(256 * 1024);
    collect();
    const before = process.memoryUsage().arrayBuffers;
    let otherTraffic = Buffer.alloc(0);
    for (let i = 0; i < 20_000; i++) {
      ring.push(Buffer.from('a\b', 'utf8'));
      otherTraffic = Buffer.from(`{"type":"report","n":${i}}`.padEnd(4000, ' '), 'utf8');
    }
    collect();
    const retainedMB = (process.memoryUsage().arrayBuffers - before) / 2 ** 20;
    expect(otherTraffic.length).toBe(4000);
    expect(ring.contents().length).toBe(40_000);
    // 40 kB replayable; keeping the chunks themselves kept 96 MiB of slabs here.
    expect(retainedMB).toBeLessThan(2);
  });
});

describe('tokens and origins', () => {
  it('compares tokens exactly and reads cookies', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abd')).toBe(false);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
    expect(tokenMatches('abc', undefined)).toBe(false);
  });

  it('reads the token from the Authorization header, the page\'s WebSocket subprotocol, or ?token= only where allowed; never from a cookie', () => {
    const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
    const url = new URL('http://127.0.0.1:4321/api/labs?token=q');
    expect(requestToken(request({ authorization: 'Bearer h' }), url, false)).toEqual({ token: 'h', source: 'header' });
    expect(requestToken(request({ 'sec-websocket-protocol': 'daemonset-lab, token.p' }), url, false)).toEqual({ token: 'p', source: 'protocol' });
    expect(requestToken(request({}), url, true)).toEqual({ token: 'q', source: 'query' });
    expect(requestToken(request({}), url, false)).toBeUndefined();
    expect(requestToken(request({ cookie: 'daemonset-lab-token-4321=c; x=%' }), new URL('http://127.0.0.1:4321/api/labs'), true)).toBeUndefined();
  });

  it('makes a start page that stores the token and goes on, with no way to break out of its script', () => {
    const page = startPage('abc', '/labs/x/?a=</script><script>alert(1)</script>');
    expect(page).toContain('localStorage.setItem("daemonset-lab-token", "abc")');
    expect(page.match(/<\/script>/g)).toHaveLength(1);
  });

  it("accepts only the server's own origins; a missing Origin only from a script (header or ?token=), never with the page's subprotocol", () => {
    const origins = ownOrigins('127.0.0.1', 4321);
    expect(originAllowed('http://127.0.0.1:4321', origins, 'protocol')).toBe(true);
    expect(originAllowed('http://localhost:4321', origins, 'protocol')).toBe(true);
    expect(originAllowed('http://localhost:4322', origins, 'protocol')).toBe(false);
    expect(originAllowed('http://evil.example', origins, 'header')).toBe(false);
    expect(originAllowed('null', origins, 'header')).toBe(false);
    expect(originAllowed(undefined, origins, 'header')).toBe(true);
    expect(originAllowed(undefined, origins, 'protocol')).toBe(false);
  });

  it('answers only to its own host names (DNS rebinding)', () => {
    const hosts = ownHosts('127.0.0.1', 4321);
    expect(hosts.has('127.0.0.1:4321')).toBe(true);
    expect(hosts.has('localhost:4321')).toBe(true);
    expect(hosts.has('[::1]:4321')).toBe(true);
    expect(hosts.has('evil.example:4321')).toBe(false);
    expect(hosts.has('127.0.0.1:4322')).toBe(false);
  });
});

describe('the manifest schema', () => {
  it('selects the definition by kind, accepts int-or-string and refuses unknown fields', () => {
    const schema = manifestSchema({
      info: { version: '1.36' },
      definitions: {
        'io.k8s.api.apps.v1.DaemonSet': {
          type: 'object',
          properties: { spec: { $ref: '#/definitions/io.k8s.api.apps.v1.DaemonSetSpec' } },
          'x-kubernetes-group-version-kind': [{ group: 'apps', version: 'v1', kind: 'DaemonSet' }],
        },
        'io.k8s.api.apps.v1.DaemonSetSpec': { type: 'object', properties: { maxUnavailable: { type: 'string', format: 'int-or-string' } } },
        'io.k8s.unused': { type: 'object' },
      },
    }) as { allOf: unknown[]; definitions: Record<string, { additionalProperties?: boolean; properties?: Record<string, unknown> }> };
    expect(schema.allOf).toEqual([{ if: { properties: { kind: { const: 'DaemonSet' } }, required: ['kind'] }, then: { $ref: '#/definitions/io.k8s.api.apps.v1.DaemonSet' } }]);
    expect(Object.keys(schema.definitions).sort()).toEqual(['io.k8s.api.apps.v1.DaemonSet', 'io.k8s.api.apps.v1.DaemonSetSpec']);
    expect(schema.definitions['io.k8s.api.apps.v1.DaemonSetSpec']?.properties?.maxUnavailable).toEqual({ anyOf: [{ type: 'integer' }, { type: 'string' }] });
    expect(schema.definitions['io.k8s.api.apps.v1.DaemonSetSpec']?.additionalProperties).toBe(false);
  });
});

describe('terminal input chunks', () => {
  it('splits a big paste into pieces the server accepts, in order, never inside a surrogate pair', () => {
    const paste = `${'x'.repeat(TERMINAL_INPUT_CHUNK - 1)}😀${'y'.repeat(3 * TERMINAL_INPUT_CHUNK)}`;
    const chunks = chunkInput(paste);
    expect(chunks.join('')).toBe(paste);
    expect(chunks.every((c) => c.length <= TERMINAL_INPUT_CHUNK && c.length > 0)).toBe(true);
    // The emoji straddled the first boundary: it moved whole into the second piece.
    expect(chunks[1]!.startsWith('😀')).toBe(true);
    // Even all-escaped, a piece fits the server's WebSocket limit.
    const worst = JSON.stringify({ type: 'input', data: '\u0001'.repeat(TERMINAL_INPUT_CHUNK) });
    expect(Buffer.byteLength(worst)).toBeLessThan(MAX_WS_PAYLOAD);
    expect(chunkInput('')).toEqual([]);
  });
});

describe('the progress line', () => {
  const lab = { id: 'x', title: 'X', summary: '', needsNodeChanges: false, startFiles: [], steps: [{ id: 'a', title: 'Create it', instructions: '' }, { id: 'b', title: 'Check it', instructions: '' }] } satisfies LabSummary;
  const report = (passed: string[]): LabReport => ({
    labId: 'x',
    checkedAt: '',
    durationMs: 1,
    passed: passed.length === 2,
    steps: lab.steps.map((s) => ({ id: s.id, title: s.title, passed: passed.includes(s.id), checks: [] })),
  });
  const done: LabProgress = { labId: 'x', startedAt: '', completedAt: 't', timesStarted: 1, passedSteps: [{ stepId: 'a', passedAt: 't' }, { stepId: 'b', passedAt: 't' }] };

  it('says lab complete only while the cluster still shows it', () => {
    expect(progressLine(lab, done, report(['a', 'b'])).text).toBe('2 of 2 steps done — lab complete');
    const reset = progressLine(lab, done, report([]));
    expect(reset.text).toBe('Lab completed earlier; the cluster no longer shows them (0 of 2 steps pass now)');
    expect(reset.text).not.toContain('lab complete');
    expect(progressLine(lab, done, report(['a'])).text).toBe('Lab completed earlier; the cluster no longer shows “Check it” (1 of 2 steps pass now)');
    const half: LabProgress = { ...done, completedAt: undefined, passedSteps: [{ stepId: 'a', passedAt: 't' }] };
    expect(progressLine(lab, half, report([])).text).toBe('1 of 2 steps done earlier; the cluster no longer shows it (0 of 2 steps pass now)');
    expect(progressLine(lab, half, undefined).text).toBe('1 of 2 steps done');
  });
});

describe('the serve flags', () => {
  it('refuse a host other machines can reach unless --insecure-lan says so', () => {
    expect(() => parseServeFlags(['--host', '0.0.0.0'])).toThrow(UsageError);
    expect(() => parseServeFlags(['--host', '192.168.1.5'])).toThrow(/Refusing to listen on 192\.168\.1\.5.*\n.*--insecure-lan/);
    expect(parseServeFlags(['--host', '0.0.0.0', '--insecure-lan'])).toMatchObject({ host: '0.0.0.0', insecureLan: true });
    expect(parseServeFlags([])).toMatchObject({ host: '127.0.0.1', insecureLan: false, allowNonLabCluster: false });
    expect(parseServeFlags(['--host', '127.0.0.2']).host).toBe('127.0.0.2');
  });
});

describe('npm test judges the whole run', () => {
  const report = (files: Record<string, number>) =>
    VitestReportSchema.parse({
      numPassedTests: 0,
      numFailedTests: 0,
      testResults: Object.entries(files).map(([name, n]) => ({ name: join('/repo', name), assertionResults: Array.from({ length: n }, () => ({ status: 'passed' })) })),
    });

  it('counts tests per project and names a project that ran nothing or fewer tests than before', () => {
    const counts = countsByProject(report({ 'tests/cluster/a.test.ts': 3, 'tests/cluster/b.test.ts': 2, 'tests/site/c.test.ts': 4 }), '/repo');
    expect(counts).toEqual({ cluster: 5, site: 4 });
    expect(runProblems(['cluster', 'site'], counts, { cluster: 5, site: 4 })).toEqual([]);
    expect(runProblems(['cluster', 'labs', 'site'], counts, undefined)).toEqual([expect.stringContaining('project labs ran no tests')]);
    expect(runProblems(['cluster', 'site'], counts, { cluster: 6 })).toEqual(['project cluster ran 5 tests, fewer than the 6 of the previous full run']);
  });

  it('judges the phases of a full run (the kind project runs alone, last) as one run', () => {
    const first = { ...report({ 'tests/cluster/a.test.ts': 3, 'tests/site/c.test.ts': 4 }), numPassedTests: 6, numFailedTests: 1 };
    const second = { ...report({ 'tests/kind/k.test.ts': 2 }), numPassedTests: 2 };
    const merged = mergeReports([first, second]);
    expect([merged.numPassedTests, merged.numFailedTests]).toEqual([8, 1]);
    expect(countsByProject(merged, '/repo')).toEqual({ cluster: 3, site: 4, kind: 2 });
    expect(runProblems(['cluster', 'kind', 'site'], countsByProject(mergeReports([first]), '/repo'), undefined)).toEqual([expect.stringContaining('project kind ran no tests')]);
  });
});

describe('engine errors as HTTP answers', () => {
  const answer = (error: Error) => engineCall(() => Promise.reject(error)).catch((e: unknown) => e);

  it('answers a Solve that something else undid as 409 Conflict with the message and the fix', async () => {
    const answered = await answer(new SolveStalledError('step "Every node" did not pass', 'Run Solve again', 'every-node'));
    expect(answered).toBeInstanceOf(HttpError);
    expect(answered).toMatchObject({ status: 409, message: 'step "Every node" did not pass', fix: 'Run Solve again' });
  });

  it('answers a cluster problem as 503 and a usage error as 400', async () => {
    expect(await answer(new EnvironmentError('The lab cluster does not answer', 'npm run cluster -- up'))).toMatchObject({ status: 503, fix: 'npm run cluster -- up' });
    expect(await answer(new UsageError('No lab named x'))).toMatchObject({ status: 400 });
  });
});

describe('the start message', () => {
  const server = { origin: 'http://127.0.0.1:4321', url: 'http://127.0.0.1:4321/?token=own-random-token-0123456789abcdef' };

  it('gives the learner who started the server the URL with its token', () => {
    expect(startMessage(server, false)).toContain('Open this URL (it carries the access token):\n\n    http://127.0.0.1:4321/?token=own-random-token-0123456789abcdef');
  });

  it('never prints a token someone else gave in DAEMONSET_LAB_TOKEN (a learner pod\'s log is readable by others)', () => {
    const message = startMessage(server, true);
    expect(message).toContain('DaemonSet Lab is running on http://127.0.0.1:4321/. Its access token is the one given in DAEMONSET_LAB_TOKEN, not printed here.');
    expect(message).not.toContain('token=');
  });
});
