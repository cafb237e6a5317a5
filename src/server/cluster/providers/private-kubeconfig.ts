/**
 * A private kubeconfig for one context of a user's kubeconfig. The existing engine hands this to
 * the lab shell, the editor's Apply and every lab action instead of the user's own file: there,
 * plain `kubectl` uses `current-context`, which may be a production cluster, while the lab was
 * checked against `--context`. This file holds only the chosen context (and its cluster and user),
 * names it current, and is readable by its owner only (0600), since it may hold credentials.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../../atomic-file.ts';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { EnvironmentError } from '../../errors.ts';

/** The parts of a kubeconfig this module reads; everything else is carried over as it is. */
const KubeconfigSchema = z.looseObject({
  clusters: z.array(z.looseObject({ name: z.string(), cluster: z.looseObject({ 'certificate-authority': z.string().optional() }) })).default([]),
  users: z
    .array(
      z.looseObject({
        name: z.string(),
        user: z.looseObject({
          'client-certificate': z.string().optional(),
          'client-key': z.string().optional(),
          tokenFile: z.string().optional(),
          exec: z.looseObject({ command: z.string().optional() }).optional(),
        }),
      }),
    )
    .default([]),
  contexts: z.array(z.looseObject({ name: z.string(), context: z.looseObject({ cluster: z.string(), user: z.string().optional() }) })).default([]),
});

/** Paths in a kubeconfig are relative to the file; the private copy lives elsewhere, so they become absolute. */
function absolute(path: string | undefined, base: string): string | undefined {
  return path === undefined || isAbsolute(path) ? path : resolve(base, path);
}

/** The kubeconfig text holding only `context` of `source`, as the current context. */
export function singleContextKubeconfig(source: string, context: string): string {
  let parsed;
  try {
    parsed = KubeconfigSchema.parse(parse(readFileSync(source, 'utf8')) ?? {});
  } catch (error) {
    throw new EnvironmentError(`${source} is not a kubeconfig this lab can read: ${(error as Error).message.split('\n')[0]}`, 'Check it with `kubectl config view`, or pass --kubeconfig PATH.');
  }
  const base = dirname(source);
  const entry = parsed.contexts.find((c) => c.name === context);
  if (!entry) {
    throw new EnvironmentError(`${source} has no context ${context}`, `Contexts there: ${parsed.contexts.map((c) => c.name).join(', ') || 'none'}.`);
  }
  const cluster = parsed.clusters.find((c) => c.name === entry.context.cluster);
  if (!cluster) throw new EnvironmentError(`Context ${context} in ${source} names cluster ${entry.context.cluster}, which the file does not define`, 'Fix the kubeconfig: kubectl config view.');
  const user = parsed.users.find((u) => u.name === entry.context.user);
  const command = user?.user.exec?.command;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': context,
    contexts: [entry],
    clusters: [{ ...cluster, cluster: { ...cluster.cluster, 'certificate-authority': absolute(cluster.cluster['certificate-authority'], base) } }],
    users: user
      ? [
          {
            ...user,
            user: {
              ...user.user,
              'client-certificate': absolute(user.user['client-certificate'], base),
              'client-key': absolute(user.user['client-key'], base),
              tokenFile: absolute(user.user.tokenFile, base),
              // A command with a slash is a path relative to the kubeconfig; a bare name is looked up on PATH.
              ...(user.user.exec ? { exec: { ...user.user.exec, command: command?.includes('/') ? absolute(command, base) : command } } : {}),
            },
          },
        ]
      : [],
  };
  // Drop the keys set to undefined above, so the file holds only what the source had.
  return stringify(JSON.parse(JSON.stringify(config)));
}

/** Writes the single-context kubeconfig to `target` (0600, in a 0700 folder), whole or not at all. */
export function writePrivateKubeconfig(source: string, context: string, target: string): string {
  const text = singleContextKubeconfig(source, context);
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(target, text);
  return target;
}
