/**
 * State files hold what other users of the machine must not read (progress, cluster credentials,
 * the chosen cluster and context): each is written 0600, whatever the umask. The umask is 0 here,
 * so a file created without an explicit mode would be 0666 and the test would see it.
 */
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/server/atomic-file.ts';
import { recordCreated } from '../../src/server/cluster/created-objects.ts';
import { writePrivateKubeconfig } from '../../src/server/cluster/providers/private-kubeconfig.ts';
import { saveChoice } from '../../src/server/cluster/providers/registry.ts';
import { processRunner } from '../../src/server/cluster/providers/runner.ts';
import { openProgressStore } from '../../src/server/labs/progress-db.ts';
import { writeSchemaCache, schemaCacheFile } from '../../src/server/web/kube-schema.ts';

const modeOf = async (file: string) => ((await stat(file)).mode & 0o777).toString(8);

const SOURCE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: lab, cluster: { server: 'https://127.0.0.1:6443' } }]
users: [{ name: lab, user: { token: secret } }]
contexts: [{ name: lab, context: { cluster: lab, user: lab } }]
current-context: lab
`;

describe('state files are private (0600) under umask 0', () => {
  let previousUmask: number;
  let dir: string;
  beforeAll(async () => {
    previousUmask = process.umask(0);
    dir = await mkdtemp(join(tmpdir(), 'daemonset-lab-modes-'));
  });
  afterAll(() => process.umask(previousUmask));

  it('progress.sqlite and its -wal and -shm files', async () => {
    const file = join(dir, 'progress.sqlite');
    const store = openProgressStore(file);
    store.recordStart('first-daemonset');
    store.recordPassed('first-daemonset', ['create'], ['create', 'inspect']);
    try {
      expect({ db: await modeOf(file), wal: await modeOf(`${file}-wal`), shm: await modeOf(`${file}-shm`) }).toEqual({ db: '600', wal: '600', shm: '600' });
    } finally {
      store.close();
    }
  });

  it('the lab shell’s private kubeconfig, provider.json, created-object records, the schema cache and any atomic write', async () => {
    const source = join(dir, 'source-kubeconfig');
    await writeFileAtomic(source, SOURCE_KUBECONFIG);
    const kubeconfig = writePrivateKubeconfig(source, 'lab', join(dir, 'shell', 'kubeconfig'));
    await saveChoice('embedded', { stateDir: dir, portBase: 29900, runner: processRunner });
    const created = join(dir, 'created-objects.json');
    recordCreated(created, 'lab', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default', uid: 'u-1' } });
    await writeSchemaCache(dir, { type: 'object', allOf: [], definitions: {} });
    expect({
      source: await modeOf(source),
      kubeconfig: await modeOf(kubeconfig),
      provider: await modeOf(join(dir, 'provider.json')),
      created: await modeOf(created),
      schema: await modeOf(schemaCacheFile(dir)),
    }).toEqual({ source: '600', kubeconfig: '600', provider: '600', created: '600', schema: '600' });
  });
});
