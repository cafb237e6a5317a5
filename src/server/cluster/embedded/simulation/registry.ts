/**
 * The simulated registry at run time: repositories with their tags and executables, and the
 * programs images run. Built from registry.yaml by registry-file.ts, and passed to the simulated
 * kubelet's helper as a JSON snapshot, so that process loads neither YAML nor the validator.
 */

/** What a program does when a container runs it (see `programs` in registry.yaml). */
export interface Program {
  readonly serves?: number[];
  readonly wrapper?: boolean;
  readonly when?: string[];
  readonly otherwise?: { serves: number[] };
  readonly builtin?: boolean;
  readonly stop?: 'quick' | 'ignores';
  /** Its exit code after SIGTERM; absent: 143 (killed by the signal). */
  readonly termExit?: number;
  /** The HTTP paths it answers with 200 (others: 404); absent: any path. */
  readonly paths?: string[];
  readonly lines?: string[];
  /** What it logs for each HTTP request it answers (the kubelet's probes). */
  readonly requests?: RequestLog;
}

/** A server's log lines for one request, by outcome (see `requests` in registry.yaml). */
export interface RequestLog {
  readonly found: string[];
  readonly missing: string[];
  /** Body sizes of the pages it has, by path. */
  readonly bytes: Readonly<Record<string, number>>;
  /** Body size of its 404 page. */
  readonly missingBytes: number;
}

/** One repository, ready to use. */
export interface Repository {
  readonly name: string;
  readonly tags: ReadonlySet<string>;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly executables: ReadonlySet<string>;
  readonly notFound: string;
}

/** The registry, ready to use. */
export interface Registry {
  readonly repositories: ReadonlyMap<string, Repository>;
  readonly programs: Readonly<Record<string, Program>>;
}

/** The registry as JSON: what {@link registrySnapshot} writes and {@link registryFromSnapshot} reads. */
export interface RegistrySnapshot {
  readonly repositories: Array<Omit<Repository, 'tags' | 'executables'> & { tags: string[]; executables: string[] }>;
  readonly programs: Record<string, Program>;
}

/** Expands one `{a..b}` range: "1.19.{0..2}" is 1.19.0, 1.19.1, 1.19.2. */
export function expandTag(tag: string): string[] {
  const match = /\{(\d+)\.\.(\d+)\}/.exec(tag);
  if (!match) return [tag];
  const [whole, from, to] = match as unknown as [string, string, string];
  const values: string[] = [];
  for (let n = Number(from); n <= Number(to); n += 1) values.push(...expandTag(tag.replace(whole, String(n))));
  return values;
}

/** The registry as JSON. */
export function registrySnapshot(registry: Registry): RegistrySnapshot {
  return {
    repositories: [...registry.repositories.values()].map((r) => ({ ...r, tags: [...r.tags], executables: [...r.executables] })),
    programs: registry.programs,
  };
}

/** The registry from its JSON snapshot. */
export function registryFromSnapshot(snapshot: RegistrySnapshot): Registry {
  return {
    repositories: new Map(snapshot.repositories.map((r) => [r.name, { ...r, tags: new Set(r.tags), executables: new Set(r.executables) }])),
    programs: snapshot.programs,
  };
}
