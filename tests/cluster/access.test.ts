/**
 * Only our processes and the learner's kubeconfig reach the embedded engine: requests without the
 * cluster's certificate are refused by kube-apiserver and by etcd (client and peer port), as any
 * other program on the machine would send them: raw bytes over a socket, no client library.
 */
import { readFileSync, statSync } from 'node:fs';
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

describe("the cluster's private key", () => {
  it('sits in a folder only its owner can enter, and the kubeconfig is private', () => {
    const engineDir = join(info.stateDir, 'embedded');
    expect((statSync(engineDir).mode & 0o077).toString(8)).toBe('0');
    expect((statSync(info.connection.kubeconfig).mode & 0o077).toString(8)).toBe('0');
  });
});
