/**
 * node hub/main.ts — the classroom hub's process (the Helm chart runs it). Settings come from the
 * environment (see config.ts); classrooms from HUB_CLASSROOMS_FILE are written to PostgreSQL at
 * start, so the chart's values are the source of truth.
 */
import { existsSync, readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { HubConfigError, learnerPodSettings, readClassrooms, readHubEnv } from './config.ts';
import { OidcSignIn } from './oidc.ts';
import { Hub } from './server.ts';
import { Spawner } from './spawner.ts';
import { HubStore } from './store.ts';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

async function main(): Promise<void> {
  const env = readHubEnv(process.env);
  const namespace = env.HUB_NAMESPACE ?? (existsSync(SERVICE_ACCOUNT_NAMESPACE) ? readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() : undefined);
  if (!namespace) throw new HubConfigError('HUB_NAMESPACE is not set and the hub does not run in a pod: set it to the namespace for learner pods.');
  const kubeConfig = new KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  const store = new HubStore(env.HUB_DATABASE_URL);
  await store.migrate();
  for (const classroom of readClassrooms(env.HUB_CLASSROOMS_FILE)) await store.putClassroom(classroom);
  const spawner = new Spawner({ kubeConfig, pods: learnerPodSettings(env, namespace), spawnLimit: env.HUB_SPAWN_LIMIT });
  await spawner.start();
  const oidc = env.HUB_OIDC_ISSUER
    ? await OidcSignIn.discover({ issuer: env.HUB_OIDC_ISSUER, clientId: env.HUB_OIDC_CLIENT_ID!, clientSecret: env.HUB_OIDC_CLIENT_SECRET! }, new URL('/hub/oidc/callback', env.HUB_PUBLIC_URL).href, store)
    : undefined;
  const hub = new Hub({ store, spawner, publicUrl: env.HUB_PUBLIC_URL, tokenKey: env.HUB_TOKEN_KEY, host: env.HUB_HOST, port: env.HUB_PORT, ...(oidc ? { oidc } : {}) });
  const port = await hub.listen();
  process.stdout.write(`Lab hub listening on ${env.HUB_HOST}:${port}, learner pods in namespace ${namespace}, public URL ${env.HUB_PUBLIC_URL}\n`);
  const stop = async () => {
    await hub.close();
    await spawner.stop();
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`✗ ${(error as Error).message}\n`);
  process.exit(error instanceof HubConfigError ? 2 : 1);
});
