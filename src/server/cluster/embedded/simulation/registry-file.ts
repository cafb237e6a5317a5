/**
 * registry.yaml, validated (zod), with tag ranges expanded: the simulated registry's source.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { expandTag, type Registry, type Repository } from './registry.ts';

const ProgramSchema = z
  .object({
    serves: z.array(z.number().int()).optional().describe('keeps running; the ports it answers on'),
    wrapper: z.boolean().optional().describe('an entrypoint script: prints its lines, then runs its arguments'),
    when: z.array(z.string()).optional().describe('a wrapper prints its lines only when its first argument is one of these'),
    otherwise: z.object({ serves: z.array(z.number().int()) }).optional().describe('what a wrapper does without arguments'),
    builtin: z.boolean().optional().describe('run by the shell interpreter'),
    stop: z.enum(['quick', 'ignores']).optional().describe('how it takes SIGTERM'),
    termExit: z.number().int().min(0).max(255).optional().describe('its exit code after SIGTERM (default 143: killed by the signal)'),
    paths: z.array(z.string().startsWith('/')).optional().describe('the HTTP paths it answers with 200 on its ports (others: 404); absent: any path'),
    lines: z.array(z.string()).optional().describe('start-up lines `kubectl logs` prints'),
    requests: z
      .object({
        found: z.array(z.string()).describe('lines logged for a request of a page it has'),
        missing: z.array(z.string()).describe('lines logged for a request of a page it lacks (404)'),
        bytes: z.record(z.string().startsWith('/'), z.number().int().nonnegative()).describe('body size of each page it has, by path'),
        missingBytes: z.number().int().nonnegative().describe('body size of its 404 page'),
      })
      .strict()
      .optional()
      .describe('what it logs for each HTTP request it answers, such as the kubelet\'s probes'),
  })
  .strict();

const RepositorySchema = z
  .object({
    tags: z.array(z.string()).min(1).describe('the tags that exist; one {a..b} range per entry'),
    base: z.string().describe('a key of `bases`: the executables every image on that base has'),
    shell: z.string().describe('a key of `shells`: how its shell reports a missing command'),
    entrypoint: z.array(z.string()).optional(),
    cmd: z.array(z.string()).optional(),
    executables: z.array(z.string()).optional().describe('absolute paths of its own executables'),
  })
  .strict();

/** registry.yaml, as validated. */
export const RegistryFileSchema = z
  .object({
    shells: z.record(z.string(), z.string()),
    bases: z.record(z.string(), z.array(z.string())),
    programs: z.record(z.string(), ProgramSchema),
    repositories: z.record(z.string(), RepositorySchema),
  })
  .strict();

/** Validates and prepares registry data. */
export function buildRegistry(data: unknown, source = 'registry.yaml'): Registry {
  const parsed = RegistryFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${source}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const file = parsed.data;
  const repositories = new Map<string, Repository>();
  for (const [name, repository] of Object.entries(file.repositories)) {
    const base = file.bases[repository.base];
    const notFound = file.shells[repository.shell];
    if (!base) throw new Error(`${source}: repositories.${name}.base: no base named "${repository.base}"`);
    if (notFound === undefined) throw new Error(`${source}: repositories.${name}.shell: no shell named "${repository.shell}"`);
    repositories.set(name, {
      name,
      tags: new Set(repository.tags.flatMap(expandTag)),
      entrypoint: repository.entrypoint ?? [],
      cmd: repository.cmd ?? [],
      executables: new Set([...base, ...(repository.executables ?? [])]),
      notFound,
    });
  }
  return { repositories, programs: file.programs };
}

let cached: Registry | undefined;

/** Reads registry.yaml once. */
export function loadRegistry(): Registry {
  cached ??= buildRegistry(parse(readFileSync(new URL('registry.yaml', import.meta.url), 'utf8')));
  return cached;
}
