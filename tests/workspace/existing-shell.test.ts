/**
 * The existing engine pins the lab shell, Apply and lab actions to the context the user chose.
 * The user's kubeconfig here has two contexts and its current one is "production" (a cluster
 * that must never be touched); the lab was started with `--context` naming the test cluster.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLabEngine, type LabEngine } from '../../src/server/labs/engine.ts';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { existingProvider } from '../../src/server/cluster/providers/existing.ts';
import { singleContextKubeconfig } from '../../src/server/cluster/providers/private-kubeconfig.ts';
import { processRunner } from '../../src/server/cluster/providers/runner.ts';
import { startWorkspaceServer, type WorkspaceServer } from '../../src/server/web/server.ts';
import type { ApplyResponse } from '../../src/shared/workspace-protocol.ts';
import { TerminalClient, terminalUrl } from './support.ts';

const LAB = 'first-daemonset';
const info = inject('testCluster');
let userKubeconfig: string;
let server: WorkspaceServer;
let engine: LabEngine;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'daemonset-lab-existing-shell-'));
  const config = parse(readFileSync(info.connection.kubeconfig, 'utf8')) as { clusters: object[]; users: object[]; contexts: object[]; 'current-context': string };
  // A second cluster, current by default, as a learner's kubeconfig often has it.
  config.clusters.push({ name: 'production', cluster: { server: 'https://127.0.0.1:1', 'certificate-authority': 'prod-ca.crt' } });
  config.users.push({ name: 'prod-admin', user: { token: 'production-secret-token' } });
  config.contexts.push({ name: 'production', context: { cluster: 'production', user: 'prod-admin' } });
  config['current-context'] = 'production';
  userKubeconfig = join(dir, 'config');
  await writeFile(userKubeconfig, stringify(config));
  const stateDir = join(dir, 'state');
  const provider = existingProvider({ stateDir, portBase: info.portBase, runner: processRunner, existing: { kubeconfig: userKubeconfig, context: info.connection.context } });
  engine = createLabEngine({ provider, stateDir });
  server = await startWorkspaceServer({ engine, provider, distDir: join(REPO_ROOT, 'dist'), stateDir, port: 0 });
});

afterAll(async () => {
  await server?.close();
  engine?.close();
});

describe('the existing engine', () => {
  it("gives the lab shell a private kubeconfig with only the chosen context, so plain kubectl never reaches the user's current one", async () => {
    const client = new TerminalClient(terminalUrl(server, LAB), { token: server.token });
    await client.opened();
    const from = client.output.length;
    client.type('echo "contexts=$(kubectl config get-contexts -o name | tr "\\n" ,) current=$(kubectl config current-context) mode=$(stat -c %a "$KUBECONFIG") nodes=$(kubectl get nodes -o name | wc -l)"\r');
    await client.waitFor(/contexts=\S* current=\S+ mode=\d+ nodes=\d+/, from, 30_000);
    const [, contexts, current, mode, nodes] = /contexts=(\S*) current=(\S+) mode=(\d+) nodes=(\d+)/.exec(client.output.slice(from))!;
    expect(contexts).toBe(`${info.connection.context},`);
    expect(current).toBe(info.connection.context);
    expect(mode).toBe('600');
    expect(Number(nodes)).toBe(4);
    await client.close();
  });

  it('pins Apply and the lab actions to the chosen context too', async () => {
    const check = await fetch(`${server.origin}/api/labs/${LAB}/check`, { method: 'POST', headers: { authorization: `Bearer ${server.token}` } });
    expect(check.status).toBe(200);
    const apply = await fetch(`${server.origin}/api/labs/${LAB}/apply`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ path: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: existing-pinned\ndata:\n  a: "1"\n' }),
    });
    expect(((await apply.json()) as ApplyResponse).results).toEqual([{ object: 'configmap/existing-pinned', ok: true, message: expect.stringMatching(/created|unchanged|configured/) }]);
  });

  it('writes the private copy without the other contexts, their credentials, or relative paths', () => {
    const text = singleContextKubeconfig(userKubeconfig, info.connection.context);
    expect(text).not.toContain('production');
    const parsed = parse(text) as { contexts: Array<{ name: string }>; 'current-context': string };
    expect(parsed.contexts.map((c) => c.name)).toEqual([info.connection.context]);
    expect(parsed['current-context']).toBe(info.connection.context);
    expect(() => singleContextKubeconfig(userKubeconfig, 'missing')).toThrow('has no context missing');
    const production = parse(singleContextKubeconfig(userKubeconfig, 'production')) as { clusters: Array<{ cluster: { 'certificate-authority': string } }> };
    expect(production.clusters[0]!.cluster['certificate-authority']).toBe(join(userKubeconfig, '..', 'prod-ca.crt'));
  });
});
