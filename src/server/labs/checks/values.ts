/**
 * Comparing Kubernetes values by what they mean, not by how they are spelt: image references
 * (`nginx:1.19` is `docker.io/library/nginx:1.19`), label selectors (matchLabels or
 * matchExpressions, judged by the labels they select), quantities (`1Gi` is `1024Mi`) and
 * int-or-percent fields (`33%` of 3 nodes is 1). Pure functions, browser-safe.
 */
import type { V1LabelSelector } from '@kubernetes/client-node';
import { matchesRequirement } from './scheduling.ts';

const DEFAULT_DOMAIN = 'docker.io';
const OFFICIAL_REPOSITORY_PREFIX = 'library/';

/**
 * An image reference in its full form, as containerd resolves it (distribution/reference
 * ParseNormalizedNamed): `nginx:1.19` → `docker.io/library/nginx:1.19`, `nginx` →
 * `docker.io/library/nginx:latest`; a digest is kept, and a reference with a digest gets no tag.
 */
export function normalizeImage(reference: string): string {
  const [namePart, digest] = reference.trim().split('@', 2) as [string, string | undefined];
  const lastSlash = namePart.lastIndexOf('/');
  const colon = namePart.indexOf(':', lastSlash + 1);
  let name = colon === -1 ? namePart : namePart.slice(0, colon);
  const tag = colon === -1 ? undefined : namePart.slice(colon + 1);
  const first = name.split('/')[0]!;
  const hasDomain = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasDomain) name = `${DEFAULT_DOMAIN}/${name}`;
  if (name.startsWith(`${DEFAULT_DOMAIN}/`) && !name.slice(DEFAULT_DOMAIN.length + 1).includes('/')) {
    name = `${DEFAULT_DOMAIN}/${OFFICIAL_REPOSITORY_PREFIX}${name.slice(DEFAULT_DOMAIN.length + 1)}`;
  }
  if (digest) return `${name}${tag ? `:${tag}` : ''}@${digest}`;
  return `${name}:${tag ?? 'latest'}`;
}

/** Whether two image references name the same image (see {@link normalizeImage}). */
export function sameImage(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && normalizeImage(a) === normalizeImage(b);
}

/**
 * Whether a label selector selects an object with these labels (k8s.io/apimachinery
 * LabelSelectorAsSelector): every matchLabels pair and every matchExpressions requirement hold.
 * An empty selector selects everything; a missing one (undefined) selects nothing.
 */
export function labelSelectorMatches(selector: V1LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return false;
  const pairs = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return pairs && (selector.matchExpressions ?? []).every((r) => matchesRequirement(r, labels[r.key]));
}

/** A selector as kubectl prints it: `name=nginx-daemonset,tier in (web)`. */
export function formatLabelSelector(selector: V1LabelSelector | undefined): string {
  if (!selector) return '<none>';
  const pairs = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const expressions = (selector.matchExpressions ?? []).map((r) => {
    if (r.operator === 'Exists') return r.key;
    if (r.operator === 'DoesNotExist') return `!${r.key}`;
    return `${r.key} ${r.operator.toLowerCase()} (${(r.values ?? []).join(',')})`;
  });
  return [...pairs, ...expressions].join(',') || '<everything>';
}

const BINARY_SUFFIXES: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL_SUFFIXES: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/**
 * A resource quantity as a number of base units (bytes, cores): `4Gi` → 4294967296, `100m` → 0.1,
 * `1e3` → 1000. Undefined for text that is not a quantity.
 */
export function parseQuantity(quantity: string | number | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  if (typeof quantity === 'number') return quantity;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(quantity.trim());
  if (!match) return undefined;
  const number = Number(match[1]);
  if (match[2]) return number * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? '';
  return number * (BINARY_SUFFIXES[suffix] ?? DECIMAL_SUFFIXES[suffix]!);
}

/**
 * An int-or-percent field resolved against a total, as the DaemonSet controller does for
 * maxUnavailable and maxSurge (intstr.GetScaledValueFromIntOrPercent with rounding up):
 * `34%` of 3 is 2, `33%` of 3 is 1.
 */
export function resolveIntOrPercent(value: string | number | undefined, total: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(value.trim());
  if (percent) return Math.ceil((Number(percent[1]) * total) / 100);
  const number = Number(value);
  return Number.isInteger(number) ? number : fallback;
}
