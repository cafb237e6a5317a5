/**
 * Only our processes and the learner's kubeconfig reach the embedded engine: requests without the
 * cluster's certificate are refused by kube-apiserver and by etcd (client and peer port), as any
 * other program on the machine would send them: raw bytes over a socket, no client library.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { describe, expect, inject, it } from 'vitest';
import { clusterPki } from '../../src/server/cluster/providers/embedded-config.ts';
import { embeddedClusterDir, embeddedPorts } from '../../src/server/cluster/providers/embedded.ts';
import { connectTestCluster } from '../support/test-cluster.ts';

const info = inject('testCluster');
const cluster = connectTestCluster(info);
const ports = embeddedPorts(info.portBase);
const pki = clusterPki(embeddedClusterDir(info.stateDir));

/**
 * Sends `request` as raw bytes to 127.0.0.1:port (over TLS when `tls` is given) and resolves with
 * everything the server answered before it closed, plus the socket error if there was one.
 */
function rawExchange(port: number, request: string, tls?: ConnectionOptions): Promise<{ answer: string; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = tls
      ? connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false, ...tls }, () => socket.write(request))
      : connectTcp({ host: '127.0.0.1', port }, () => socket.write(request));
    const finish = (error?: Error) => resolve({ answer: Buffer.concat(chunks).toString('latin1'), error: error && ((error as NodeJS.ErrnoException).code ?? error.message) });
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', finish);
    socket.on('close', () => finish());
  });
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;

/** etcd's gRPC gateway: every key under /registry (the whole cluster, Secrets included). */
const RANGE_BODY = JSON.stringify({ key: Buffer.from('/registry/').toString('base64'), range_end: Buffer.from('/registry0').toString('base64'), keys_only: true, limit: 5 });
const etcdRange = `POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${RANGE_BODY.length}\r\nConnection: close\r\n\r\n${RANGE_BODY}`;

const statusLine = (answer: string) => answer.split('\r\n')[0] ?? '';
const clusterCertificate = () => ({ ca: readFileSync(pki.ca), cert: readFileSync(pki.cert), key: readFileSync(pki.key), rejectUnauthorized: true, servername: 'localhost' });

describe('kube-apiserver without credentials', () => {
  it.each(['/api/v1/namespaces/kube-system/secrets', '/api/v1/nodes', '/version'])('answers GET %s with 401 Unauthorized', async (path) => {
    const { answer } = await rawExchange(ports['kube-apiserver'], get(path), {});
    expect(statusLine(answer)).toBe('HTTP/1.1 401 Unauthorized');
  });

  it('answers plain HTTP on its port with nothing but a TLS complaint', async () => {
    const { answer } = await rawExchange(ports['kube-apiserver'], get('/api/v1/namespaces/kube-system/secrets'));
    expect(answer).not.toContain('"items"');
    expect(statusLine(answer)).toBe('HTTP/1.0 400 Bad Request');
  });

  it("still serves the learner's kubeconfig", async () => {
    const result = await cluster.kubectl(['get', 'secrets', '-n', 'kube-system', '-o', 'name']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('etcd without the cluster certificate', () => {
  it('gives no keys to a plain HTTP request on its client port', async () => {
    const { answer } = await rawExchange(ports.etcd, etcdRange);
    expect(answer).not.toContain('"kvs"');
    expect(statusLine(answer)).not.toMatch(/ 200 /);
  });

  it('refuses a TLS client that shows no certificate', async () => {
    const { answer, error } = await rawExchange(ports.etcd, etcdRange, {});
    expect(answer).not.toContain('"kvs"');
    expect(error ?? statusLine(answer)).toMatch(/certificate|ECONNRESET|EPIPE|alert/i);
  });

  it('refuses the peer port to a plain HTTP request', async () => {
    const { answer } = await rawExchange(ports['etcd peer'], get('/members'));
    expect(answer).not.toContain('peerURLs');
    expect(statusLine(answer)).not.toMatch(/ 200 /);
  });

  it('serves the engine, which holds the cluster certificate', async () => {
    const { answer } = await rawExchange(ports.etcd, etcdRange, clusterCertificate());
    expect(statusLine(answer)).toBe('HTTP/1.1 200 OK');
    expect(answer).toContain('"kvs"');
  });
});

describe('kube-controller-manager and kube-scheduler', () => {
  // They serve the cluster's certificate (no self-signed key made at start): a client that trusts
  // only the cluster's CA gets their health without credentials, and nothing else.
  it.each(['kube-controller-manager', 'kube-scheduler'] as const)('%s answers /healthz with the certificate the cluster CA signed', async (component) => {
    const { answer, error } = await rawExchange(ports[component], get('/healthz'), { ca: readFileSync(pki.ca), rejectUnauthorized: true, servername: 'localhost' });
    expect(error).toBeUndefined();
    expect(statusLine(answer)).toBe('HTTP/1.1 200 OK');
  });

  it.each(['kube-controller-manager', 'kube-scheduler'] as const)('%s refuses /metrics to a client without credentials', async (component) => {
    const { answer } = await rawExchange(ports[component], get('/metrics'), { ca: readFileSync(pki.ca), rejectUnauthorized: true, servername: 'localhost' });
    expect(statusLine(answer)).toMatch(/ 40[13] /);
  });
});

describe("the cluster's private key", () => {
  it('sits in a folder only its owner can enter, and the kubeconfig is private', () => {
    const engineDir = join(info.stateDir, 'embedded');
    expect((statSync(engineDir).mode & 0o077).toString(8)).toBe('0');
    expect((statSync(info.connection.kubeconfig).mode & 0o077).toString(8)).toBe('0');
  });
});

/** A certificate and key nobody in the cluster signed (made with openssl, as anyone could). */
const SELF_SIGNED = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'daemonset-lab-stranger-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=stranger', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
})();

describe('the node ports without the cluster certificate', () => {
  /** A running pod of the cluster (namespace/name/container), for a kubelet log request. */
  const anyPod = async () => {
    for (let attempt = 0; attempt < 60; attempt++) {
      const result = await cluster.kubectl(['get', 'pods', '-A', '--field-selector', 'status.phase=Running', '-o', 'jsonpath={.items[0].metadata.namespace}/{.items[0].metadata.name}/{.items[0].spec.containers[0].name}']);
      if (result.stdout.trim().split('/').every(Boolean)) return result.stdout.trim();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error('no pod of the cluster is Running after 30 s');
  };

  it("the simulated kubelet refuses a TLS client that shows no certificate: no pod's logs", async () => {
    const { answer, error } = await rawExchange(ports['simulated kubelet'], get(`/containerLogs/${await anyPod()}`), {});
    expect(answer).toBe('');
    expect(error ?? 'closed without an answer').toMatch(/certificate|ECONNRESET|EPIPE|alert|closed/i);
  });

  it('the simulated kubelet refuses a certificate the cluster did not sign', async () => {
    // What another user of the machine could make: a certificate of their own.
    const { answer } = await rawExchange(ports['simulated kubelet'], get('/healthz'), { cert: SELF_SIGNED.cert, key: SELF_SIGNED.key });
    expect(statusLine(answer)).not.toMatch(/^HTTP/);
  });

  it('the simulated kubelet serves the cluster certificate (kube-apiserver uses it: kubectl logs works)', async () => {
    const { answer } = await rawExchange(ports['simulated kubelet'], get('/healthz'), clusterCertificate());
    expect(statusLine(answer)).toMatch(/^HTTP\/1\.1 (200|404)/);
    const pod = (await anyPod()).split('/');
    const logs = await cluster.kubectl(['logs', '-n', pod[0]!, pod[1]!, '-c', pod[2]!]);
    expect(logs.code, logs.stderr).toBe(0);
  });

  it('kwok-controller answers nothing: it opens no port (its server cannot demand a certificate)', async () => {
    for (const path of ['/metrics', '/healthz', `/containerLogs/${await anyPod()}`, '/debug/pprof/']) {
      const plain = await rawExchange(ports['kwok-controller'], get(path));
      const tls = await rawExchange(ports['kwok-controller'], get(path), {});
      expect({ path, plain: statusLine(plain.answer), tls: statusLine(tls.answer) }).toEqual({ path, plain: expect.not.stringMatching(/ 200 /), tls: expect.not.stringMatching(/^HTTP/) });
    }
  });
});
