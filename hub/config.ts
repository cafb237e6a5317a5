/**
 * The hub's settings, from its environment (the Helm chart sets them), checked with zod so a
 * missing or bad one is named with its fix before anything starts.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseClassroom, type Classroom } from './classroom.ts';
import { DEFAULT_RESOURCES, type LearnerPodSettings } from './pods.ts';

const quantity = z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'a Kubernetes quantity such as 100m, 768Mi or 2');

export const HubEnvSchema = z.object({
  HUB_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// connection string').describe('PostgreSQL connection string'),
  HUB_PUBLIC_URL: z.url().describe('The URL learners open, e.g. https://lab.example.org'),
  HUB_TOKEN_KEY: z.string().min(32, 'at least 32 characters (random)').describe('Key the learner pods\' workspace tokens derive from'),
  HUB_NAMESPACE: z.string().min(1).optional().describe('Namespace of the learner pods (default: the hub\'s own)'),
  HUB_CLASSROOMS_FILE: z.string().min(1).describe('YAML file with a list of Classroom definitions'),
  HUB_LEARNER_IMAGE: z.string().min(1).describe('The learner image, e.g. localhost/daemonset-lab:0.1.0'),
  HUB_LEARNER_PULL_POLICY: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  HUB_LEARNER_CPU_REQUEST: quantity.default(String(DEFAULT_RESOURCES.requests!.cpu)),
  HUB_LEARNER_MEMORY_REQUEST: quantity.default(String(DEFAULT_RESOURCES.requests!.memory)),
  HUB_LEARNER_CPU_LIMIT: quantity.default(String(DEFAULT_RESOURCES.limits!.cpu)),
  HUB_LEARNER_MEMORY_LIMIT: quantity.default(String(DEFAULT_RESOURCES.limits!.memory)),
  HUB_SPAWN_LIMIT: z.coerce.number().int().min(1).max(500).default(10),
  HUB_HOST: z.string().default('0.0.0.0'),
  HUB_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  HUB_OIDC_ISSUER: z.url().optional(),
  HUB_OIDC_CLIENT_ID: z.string().optional(),
  HUB_OIDC_CLIENT_SECRET: z.string().optional(),
});

export type HubEnv = z.infer<typeof HubEnvSchema>;

/** A setting that is missing or wrong. */
export class HubConfigError extends Error {}

/** Reads and checks the environment. */
export function readHubEnv(env: NodeJS.ProcessEnv): HubEnv {
  const parsed = HubEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new HubConfigError(`The hub's settings are incomplete: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}. Set them in the environment (the Helm chart's values do).`);
  }
  const oidc = [parsed.data.HUB_OIDC_ISSUER, parsed.data.HUB_OIDC_CLIENT_ID, parsed.data.HUB_OIDC_CLIENT_SECRET];
  if (oidc.some(Boolean) && !oidc.every(Boolean)) {
    throw new HubConfigError('OpenID Connect needs all of HUB_OIDC_ISSUER, HUB_OIDC_CLIENT_ID and HUB_OIDC_CLIENT_SECRET, or none of them.');
  }
  return parsed.data;
}

/** The classrooms of a YAML file (a list), each checked; a bad one is named by its index. */
export function readClassrooms(file: string): Classroom[] {
  let list: unknown;
  try {
    list = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new HubConfigError(`${file} cannot be read as YAML: ${(error as Error).message}`);
  }
  if (!Array.isArray(list)) throw new HubConfigError(`${file} must hold a YAML list of classrooms`);
  return list.map((item, index) => parseClassroom(item, `${file} item ${index + 1}`));
}

/** Learner pod settings from the environment. */
export function learnerPodSettings(env: HubEnv, namespace: string): LearnerPodSettings {
  return {
    namespace,
    image: env.HUB_LEARNER_IMAGE,
    imagePullPolicy: env.HUB_LEARNER_PULL_POLICY,
    tokenKey: env.HUB_TOKEN_KEY,
    resources: {
      requests: { cpu: env.HUB_LEARNER_CPU_REQUEST, memory: env.HUB_LEARNER_MEMORY_REQUEST },
      limits: { cpu: env.HUB_LEARNER_CPU_LIMIT, memory: env.HUB_LEARNER_MEMORY_LIMIT },
    },
  };
}
