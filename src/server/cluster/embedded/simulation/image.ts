/**
 * The image model: parses an image reference as containerd does, and decides whether the
 * simulated registry serves it, with the words containerd and the kubelet use when it does not.
 */
import type { Registry, Repository } from './registry.ts';

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** As written in the pod spec. */
  readonly written: string;
  /** Canonical repository name, e.g. docker.io/library/nginx. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
  /** Canonical reference containerd resolves, e.g. docker.io/library/nginx:1.19. */
  readonly canonical: string;
}

/** Why a reference cannot be used at all (the kubelet's InvalidImageName). */
export class InvalidImageReference extends Error {}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parses a reference the way containerd's reference.ParseDockerRef does. */
export function parseImageReference(written: string): ImageReference {
  const invalid = (detail: string) =>
    new InvalidImageReference(`Failed to apply default image tag "${written}": couldn't parse image name "${written}": invalid reference format${detail}`);
  let rest = written;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid('');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid('');
  }
  const components = rest.split('/');
  let domain = 'docker.io';
  if (components.length > 1 && /[.:]|^localhost$/.test(components[0]!)) domain = components.shift()!;
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && components.length === 1) components.unshift('library');
  const path = components.join('/');
  if (path !== path.toLowerCase()) throw invalid(`: repository name (${path}) must be lowercase`);
  if (components.length === 0 || !components.every((c) => COMPONENT.test(c))) throw invalid('');
  if (!tag && !digest) tag = 'latest';
  const repository = `${domain}/${path}`;
  const canonical = `${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { written, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), canonical };
}

/** Edit distance with adjacent transpositions (ngnix is one edit from nginx). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known repository a name is a likely misspelling of, if any. */
export function misspelledRepository(repository: string, registry: Registry): Repository | undefined {
  if (registry.repositories.has(repository)) return undefined;
  const name = repository.split('/').at(-1)!;
  const allowed = name.length <= 5 ? 1 : 2;
  for (const known of registry.repositories.values()) {
    // Cheap tests first: names whose lengths differ by more than the allowed edits cannot match.
    if (Math.abs(known.name.length - repository.length) > allowed) continue;
    const knownName = known.name.split('/').at(-1)!;
    if (editDistance(knownName, name) <= allowed && editDistance(known.name, repository) <= allowed) return known;
  }
  return undefined;
}

/** The canonical reference of an image as written (`nginx` is docker.io/library/nginx:latest); a malformed one as written. */
export function canonicalImage(written: string): string {
  try {
    return parseImageReference(written).canonical;
  } catch (error) {
    if (error instanceof InvalidImageReference) return written;
    throw error;
  }
}

/** The outcome of a pull. */
export type PullOutcome =
  | { readonly ok: true; readonly reference: ImageReference; readonly repository?: Repository }
  | { readonly ok: false; readonly reason: 'ErrImagePull' | 'InvalidImageName'; readonly message: string };

/**
 * Whether the simulated registry serves an image. The message is the kubelet's
 * `state.waiting.message` (and the text after `Failed to pull image "…": ` in its event).
 */
export function pullImage(written: string, registry: Registry): PullOutcome {
  let reference: ImageReference;
  try {
    reference = parseImageReference(written);
  } catch (error) {
    if (error instanceof InvalidImageReference) return { ok: false, reason: 'InvalidImageName', message: error.message };
    throw error;
  }
  const resolving = (detail: string) =>
    `failed to pull and unpack image "${reference.canonical}": failed to resolve reference "${reference.canonical}": ${detail}`;
  const repository = registry.repositories.get(reference.repository);
  if (repository) {
    // A digest names content, and any well-formed one is accepted: we do not know real digests.
    if (reference.digest || repository.tags.has(reference.tag!)) return { ok: true, reference, repository };
    return { ok: false, reason: 'ErrImagePull', message: resolving(`${reference.canonical}: not found`) };
  }
  if (misspelledRepository(reference.repository, registry)) {
    const detail = reference.repository.startsWith('docker.io/')
      ? 'pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed'
      : `${reference.canonical}: not found`;
    return { ok: false, reason: 'ErrImagePull', message: resolving(detail) };
  }
  return { ok: true, reference };
}
