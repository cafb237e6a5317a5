/**
 * The workspace server without a browser: token, Origin, file confinement, body limits, apply,
 * and the lab shell (environment, replay, flow control) on the real test cluster.
 */
import diagnostics from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { embeddedPorts } from '../../src/server/cluster/providers/embedded.ts';
import { CLOSE, FLOW, type ApplyResponse, type WorkspaceFile } from '../../src/shared/workspace-protocol.ts';
import { rawRequest, startTestWorkspace, TerminalClient, terminalUrl, until, type TestWorkspace } from './support.ts';

const LAB = 'first-daemonset';
/** The end of the shell prompt (# for root, $ otherwise). */
const PROMPT = /[$#] $/;
let ws: TestWorkspace;
let auth: Record<string, string>;

/** A secret in the server's own environment, set before it starts: the lab shell must not see it. */
const SECRET = 'do-not-leak-4f2a';

beforeAll(async () => {
  process.env.WORKSPACE_TEST_SECRET = SECRET;
  ws = await startTestWorkspace(inject('testCluster'));
  auth = { authorization: `Bearer ${ws.server.token}` };
  const started = await fetch(`${ws.server.origin}/api/labs/${LAB}/start`, { method: 'POST', headers: auth });
  expect(started.status).toBe(200);
});

afterAll(async () => {
  await ws?.close();
});

const api = (path: string, init: RequestInit = {}) => fetch(`${ws.server.origin}${path}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });

describe('the token', () => {
  it('is required for every API call and compared exactly', async () => {
    expect((await fetch(`${ws.server.origin}/api/labs`)).status).toBe(401);
    expect((await fetch(`${ws.server.origin}/api/labs`, { headers: { authorization: `Bearer ${ws.server.token}x` } })).status).toBe(401);
    const body = (await (await fetch(`${ws.server.origin}/api/labs`)).json()) as { error: string; fix: string };
    expect(body.fix).toContain('?token=');
    expect((await api('/api/labs')).status).toBe(200);
  });

  it('in the start URL is kept by the page in its own origin, never in a cookie that other ports receive', async () => {
    const response = await fetch(`${ws.server.url}&x=1`, { redirect: 'manual' });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    const page = await response.text();
    expect(page).toContain(`localStorage.setItem("daemonset-lab-token", "${ws.server.token}")`);
    // It goes on to the same address without the token.
    expect(page).toContain('location.replace("/?x=1")');
    expect((await fetch(`${ws.server.origin}/?token=wrong`)).status).toBe(401);
    // A cookie is no credential: cookies ignore ports, so another local server could have set or read it.
    const withCookie = await fetch(`${ws.server.origin}/api/labs`, { headers: { cookie: `daemonset-lab-token-${ws.server.port}=${ws.server.token}` } });
    expect(withCookie.status).toBe(401);
  });

  it('is not needed for the static site, which is served with content types and caching', async () => {
    const page = await fetch(`${ws.server.origin}/labs/${LAB}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const script = /src="(\/_astro\/[^"]+\.js)"/.exec(await page.text())?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${ws.server.origin}${script}`);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    // Sent as raw bytes: fetch would resolve the dot segments before sending.
    for (const target of ['/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/../../../../etc/passwd', '/..%2f..%2f..%2f..%2fetc%2fpasswd', '/_astro/..%5c..%5c..%5cpackage.json']) {
      const answer = await rawRequest(ws.server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${ws.server.port}\r\nConnection: close\r\n\r\n`);
      expect(answer.status, target).toBe(404);
      expect(answer.body, target).not.toMatch(/root:|"name": "daemonset-lab"/);
    }
  });
});

describe('attacks are refused and nothing runs', () => {
  it('a terminal WebSocket without the token gets 401 and starts no shell', async () => {
    const client = new TerminalClient(terminalUrl(ws.server, 'node-selection'));
    await expect(client.opened()).rejects.toThrow('HTTP 401');
    expect(ws.server.terminals.find('node-selection')).toBeUndefined();
  });

  it('a terminal WebSocket from a foreign Origin gets 403, even with the token', async () => {
    const client = new TerminalClient(terminalUrl(ws.server, 'node-selection'), { token: ws.server.token, origin: 'http://evil.example' });
    await expect(client.opened()).rejects.toThrow('HTTP 403');
    expect(ws.server.terminals.find('node-selection')).toBeUndefined();
    const events = new TerminalClient(terminalUrl(ws.server, LAB).replace('/terminal', '/events'), { token: ws.server.token, origin: 'http://evil.example' });
    await expect(events.opened()).rejects.toThrow('HTTP 403');
  });

  it('a state-changing API call from a foreign Origin gets 403', async () => {
    const response = await api(`/api/labs/${LAB}/files/evil.yaml`, { method: 'PUT', body: 'x', headers: { origin: 'http://evil.example' } });
    expect(response.status).toBe(403);
    expect(existsSync(join(ws.engine.workspaceDir(LAB), 'evil.yaml'))).toBe(false);
  });

  it('path traversal, absolute paths and symlinks out of the workspace are refused', async () => {
    const workspace = ws.engine.workspaceDir(LAB);
    const outside = join(ws.stateDir, 'outside.txt');
    // Encoded, because fetch (like browsers) resolves a literal ../ before sending.
    // An absolute path to a sentinel under the test's temp folder, not /etc/passwd: if the guard
    // failed, this is the file that would change.
    for (const path of ['..%2F..%2Foutside.txt', '..%5C..%5Coutside.txt', encodeURIComponent(outside), 'sub%2F..%2F..%2F..%2Foutside.txt']) {
      const response = await api(`/api/labs/${LAB}/files/${path}`, { method: 'PUT', body: 'owned' });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
      expect(((await response.json()) as { error: string }).error).toMatch(/workspace|absolute/);
    }
    expect(existsSync(outside)).toBe(false);
    await writeFile(outside, 'secret');
    await symlink(ws.stateDir, join(workspace, 'escape'));
    await symlink(outside, join(workspace, 'link.yaml'));
    const write = await api(`/api/labs/${LAB}/files/escape/outside.txt`, { method: 'PUT', body: 'owned' });
    expect(write.status).toBe(403);
    expect((await api(`/api/labs/${LAB}/files/link.yaml`)).status).toBe(403);
    expect((await api(`/api/labs/${LAB}/files/link.yaml`, { method: 'PUT', body: 'owned' })).status).toBe(403);
    expect(await readFile(outside, 'utf8')).toBe('secret');
  });

  it('an oversized body gets 413 and changes nothing', async () => {
    const before = await readFile(join(ws.engine.workspaceDir(LAB), 'nginx-daemonset.yaml'), 'utf8');
    const response = await api(`/api/labs/${LAB}/files/nginx-daemonset.yaml`, { method: 'PUT', body: 'x'.repeat(2 * 1024 * 1024) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: string }).error).toContain('larger than');
    expect(await readFile(join(ws.engine.workspaceDir(LAB), 'nginx-daemonset.yaml'), 'utf8')).toBe(before);
  });
});

describe('files and apply', () => {
  it('saves and lists workspace files; the terminal sees the same files', async () => {
    const save = await api(`/api/labs/${LAB}/files/notes/hello.yaml`, { method: 'PUT', body: 'a: 1\n' });
    expect(save.status).toBe(200);
    const files = (await (await api(`/api/labs/${LAB}/files`)).json()) as WorkspaceFile[];
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(['nginx-daemonset.yaml', 'notes/hello.yaml']));
    expect(await (await api(`/api/labs/${LAB}/files/notes/hello.yaml`)).text()).toBe('a: 1\n');
    expect(await readFile(join(ws.engine.workspaceDir(LAB), 'notes', 'hello.yaml'), 'utf8')).toBe('a: 1\n');
  });

  it("applies a file and shows the API server's answer, and YAML errors with line and column", async () => {
    const bad = await api(`/api/labs/${LAB}/apply`, { method: 'POST', body: JSON.stringify({ path: 'x.yaml', content: 'kind: ConfigMap\nmetadata: [\n' }) });
    const badResult = (await bad.json()) as ApplyResponse;
    expect(badResult.ok).toBe(false);
    expect(badResult.results[0]?.message).toMatch(/line \d+, column \d+/);
    const invalid = await api(`/api/labs/${LAB}/apply`, {
      method: 'POST',
      body: JSON.stringify({ path: 'x.yaml', content: 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: no-selector\nspec:\n  template:\n    spec:\n      containers: []\n' }),
    });
    const invalidResult = (await invalid.json()) as ApplyResponse;
    expect(invalidResult.ok).toBe(false);
    expect(invalidResult.results[0]?.message).toContain('DaemonSet.apps "no-selector" is invalid');
    const good = await api(`/api/labs/${LAB}/apply`, {
      method: 'POST',
      body: JSON.stringify({ path: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: workspace-apply-test\ndata:\n  a: "1"\n' }),
    });
    expect(((await good.json()) as ApplyResponse).results).toEqual([{ object: 'configmap/workspace-apply-test', ok: true, message: 'created' }]);
  });

  it('serves a manifest schema made from the cluster, cached on disk', async () => {
    const schema = (await (await api('/api/schema')).json()) as { definitions: Record<string, unknown>; properties: { kind: { enum: string[] } } };
    expect(schema.properties.kind.enum).toContain('DaemonSet');
    expect(Object.keys(schema.definitions)).toContain('io.k8s.api.apps.v1.DaemonSetSpec');
    expect(existsSync(join(ws.stateDir, 'web', 'kubernetes-schema.json'))).toBe(true);
  });
});

describe('the lab shell', () => {
  it('runs in the workspace with KUBECONFIG, the project kubectl first on PATH, and not the server environment', async () => {
    const client = new TerminalClient(terminalUrl(ws.server, LAB), { token: ws.server.token });
    await client.opened();
    await client.waitFor(PROMPT);
    const from = client.output.length;
    client.type('echo "cwd=$(pwd) kc=$KUBECONFIG kubectl=$(command -v kubectl) secret=${WORKSPACE_TEST_SECRET:-none}"\r');
    await client.waitFor(/cwd=\S+ kc=\S+ kubectl=\S+ secret=\S+/, from);
    const line = /cwd=(\S+) kc=(\S+) kubectl=(\S+) secret=(\S+)/.exec(client.output.slice(from))!;
    const cluster = inject('testCluster');
    expect(line[1]).toBe(ws.engine.workspaceDir(LAB));
    expect(line[2]).toBe(cluster.connection.kubeconfig);
    expect(line[3]).toBe(join(cluster.connection.kubectlDir, 'kubectl'));
    expect(line[4]).toBe('none');
    // Neither the secret nor the server's token is anywhere in the shell's environment.
    const envFrom = client.output.length;
    client.type('env | base64 -w0; echo; echo "env-$((1+1))-done"\r');
    await client.waitFor('env-2-done', envFrom);
    const environment = Buffer.from(/^([A-Za-z0-9+/=]{20,})\r?$/m.exec(client.output.slice(envFrom))?.[1] ?? '', 'base64').toString('utf8');
    expect(environment).toContain('KUBECONFIG=');
    expect(environment).not.toContain(SECRET);
    expect(environment).not.toContain(ws.server.token);
    await client.close();
  });

  it('keeps running when the socket drops and replays recent output on reconnect', async () => {
    const first = new TerminalClient(terminalUrl(ws.server, LAB), { token: ws.server.token });
    await first.opened();
    await first.waitFor(PROMPT);
    first.type('export REPLAY_MARK=kept-$((6*7))\r');
    first.type('echo "mark:$REPLAY_MARK"\r');
    await first.waitFor('mark:kept-42');
    const pid = ws.server.terminals.find(LAB)?.pid;
    first.socket.terminate();
    const second = new TerminalClient(terminalUrl(ws.server, LAB), { token: ws.server.token });
    await second.opened();
    await second.waitFor('mark:kept-42');
    expect(second.controls[0]).toMatchObject({ type: 'attached', fresh: false });
    expect(ws.server.terminals.find(LAB)?.pid).toBe(pid);
    const from = second.output.length;
    second.type('echo "again:$REPLAY_MARK"\r');
    await second.waitFor('again:kept-42', from);
    await second.close();
  });

  it('pauses a flood until the page acknowledges it, then goes on, and Ctrl-C still works', async () => {
    const client = new TerminalClient(terminalUrl(ws.server, LAB), { token: ws.server.token, autoAck: false });
    await client.opened();
    await until('the replay', () => client.controls.length > 0);
    client.ack();
    client.type('yes flood-line-of-text\r');
    // Unacknowledged output stops near the high watermark (plus what was in flight when the
    // shell paused): the flood cannot grow without bound.
    await until('the flood to stop while unacknowledged', async () => {
      const before = client.received;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return client.received === before && client.received > FLOW.high / 2;
    });
    expect(client.received - client.acked).toBeLessThan(FLOW.high * 2 + 256 * 1024);
    const paused = client.received;
    client.ack();
    await until('more output after the ack', () => client.received > paused);
    client.autoAck = true;
    client.ack();
    client.type('\x03');
    const from = client.output.length;
    client.type('echo "after-flood:$((1+1))"\r');
    await client.waitFor('after-flood:2', from, 30_000);
    await client.close();
  });

  it('holds input typed before the shell is ready, so an early Ctrl-C cannot end it', async () => {
    const client = new TerminalClient(terminalUrl(ws.server, 'tolerations'), { token: ws.server.token });
    await client.opened();
    client.type('\x03');
    client.type('echo "early:$((3*3))"\r');
    await client.waitFor('early:9');
    expect(ws.server.terminals.find('tolerations')?.exited).toBe(false);
    await client.close();
  });

  it('writes keys typed one by one while the shell starts whole and in order', async () => {
    // A fresh shell, and keys sent one message each from the moment the socket opens, at a
    // typist's pace: some arrive before the shell is ready, some while held keys are written.
    ws.server.terminals.end(LAB);
    const client = new TerminalClient(terminalUrl(ws.server, LAB), { token: ws.server.token });
    await client.opened();
    const line = 'echo "in-order:$((2*3))-abcdefghijklmnopqrstuvwxyz-0123456789"\r';
    for (const key of line) {
      client.type(key);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    // The command's output, not its echo (which still holds "$((2*3))"), or bash's complaint.
    await client.waitFor(/in-order:[^$\s]\S*\r?\n|command not found|syntax error/);
    expect(/in-order:([^$\s]\S*)\r?\n/.exec(client.output)?.[1]).toBe('6-abcdefghijklmnopqrstuvwxyz-0123456789');
    expect(client.output).not.toContain('command not found');
    await client.close();
  });

  it('starts a new shell after the learner types exit', async () => {
    const client = new TerminalClient(terminalUrl(ws.server, 'tolerations'), { token: ws.server.token });
    await client.opened();
    await client.waitFor(PROMPT);
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    client.type('exit\r');
    expect(await closed).toBe(CLOSE.exited);
    const again = new TerminalClient(terminalUrl(ws.server, 'tolerations'), { token: ws.server.token });
    await again.opened();
    await until('the attach message', () => again.controls[0]);
    expect(again.controls[0]).toMatchObject({ type: 'attached', fresh: true });
    await again.close();
  });
});

describe('under load', () => {
  it('reuses its connections to the API server: hundreds of checks open a handful, not one per API call', async () => {
    // Each API call on a connection of its own (a TLS handshake and context each) made the
    // server's RSS grow by about 70 KB per call under 50 open pages, never given back.
    const apiServerPort = String(embeddedPorts(inject('testCluster').portBase)['kube-apiserver']);
    let connections = 0;
    let requests = 0;
    const toApiServer = (message: unknown) => String((message as { connectParams?: { port?: unknown } }).connectParams?.port) === apiServerPort;
    const onConnected = (message: unknown) => void (toApiServer(message) && connections++);
    const onRequest = (message: unknown) => void (String((message as { request?: { origin?: unknown } }).request?.origin).endsWith(`:${apiServerPort}`) && requests++);
    diagnostics.subscribe('undici:client:connected', onConnected);
    diagnostics.subscribe('undici:request:create', onRequest);
    try {
      // Pages ask ten at a time; the server runs one check per lab and queues one behind it.
      for (let round = 0; round < 80; round++) {
        const answers = await Promise.all(Array.from({ length: 10 }, () => api(`/api/labs/${LAB}/check`, { method: 'POST', headers: { origin: ws.server.origin } })));
        expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
        await Promise.all(answers.map((a) => a.arrayBuffer()));
      }
    } finally {
      diagnostics.unsubscribe('undici:client:connected', onConnected);
      diagnostics.unsubscribe('undici:request:create', onRequest);
    }
    expect(requests).toBeGreaterThan(100);
    expect(connections).toBeLessThanOrEqual(10);
  });
});

describe('Apply during a cluster-changing action', () => {
  it('waits for a reset under way, so the reset cannot delete what it creates', async () => {
    const finished: string[] = [];
    const reset = api(`/api/labs/${LAB}/reset`, { method: 'POST' }).then((r) => (finished.push('reset'), r));
    // The reset has begun (it runs one cluster change at a time); Apply comes in meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const apply = api(`/api/labs/${LAB}/apply`, {
      method: 'POST',
      body: JSON.stringify({ path: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied-during-reset\ndata:\n  a: "1"\n' }),
    }).then((r) => (finished.push('apply'), r));
    expect((await reset).status).toBe(200);
    expect(((await (await apply).json()) as ApplyResponse).results).toEqual([{ object: 'configmap/applied-during-reset', ok: true, message: 'created' }]);
    expect(finished).toEqual(['reset', 'apply']);
    const { clients } = await ws.engine.actions(LAB);
    expect((await clients.core.readNamespacedConfigMap({ name: 'applied-during-reset', namespace: 'default' })).data).toEqual({ a: '1' });
    await clients.core.deleteNamespacedConfigMap({ name: 'applied-during-reset', namespace: 'default' });
  });
});
