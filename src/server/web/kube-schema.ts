/**
 * The JSON schema the editor validates manifests with, made from the running cluster's own
 * OpenAPI (so validation and completion match the server's version) and cached on disk, so the
 * editor keeps validating while the cluster is down or the machine is offline.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic-file.ts';
import type { ClusterConnection } from '../cluster/providers/provider.ts';

/** The kinds a lab manifest is checked against (group/version/kind). */
export const SCHEMA_KINDS = [
  'apps/v1/DaemonSet',
  'apps/v1/Deployment',
  'apps/v1/ControllerRevision',
  'v1/Pod',
  'v1/ConfigMap',
  'v1/Secret',
  'v1/Namespace',
  'v1/Service',
  'v1/ServiceAccount',
  'scheduling.k8s.io/v1/PriorityClass',
] as const;

type JsonSchema = Record<string, unknown>;
interface OpenApiV2 {
  info?: { version?: string };
  definitions: Record<string, JsonSchema>;
}

const INT_OR_STRING = { anyOf: [{ type: 'integer' }, { type: 'string' }] };

/** The definition names a group/version/kind has in OpenAPI v2, from x-kubernetes-group-version-kind. */
function definitionFor(openapi: OpenApiV2, gvk: string): string | undefined {
  const parts = gvk.split('/');
  const kind = parts.at(-1)!;
  const version = parts.at(-2)!;
  const group = parts.length === 3 ? parts[0]! : '';
  return Object.keys(openapi.definitions).find((name) => {
    const list = openapi.definitions[name]!['x-kubernetes-group-version-kind'] as Array<{ group: string; version: string; kind: string }> | undefined;
    return list?.some((entry) => entry.group === group && entry.version === version && entry.kind === kind);
  });
}

/** Rewrites one OpenAPI definition into what yaml-language-server validates well. */
function adapt(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(adapt);
  if (typeof value !== 'object' || value === null) return value;
  const object = value as JsonSchema;
  // Fields like maxUnavailable take 1 or "25%"; v2 says only "string".
  if (object.format === 'int-or-string') {
    const { type: _type, format: _format, ...rest } = object;
    return { ...rest, ...INT_OR_STRING };
  }
  const out: JsonSchema = {};
  for (const [key, child] of Object.entries(object)) {
    if (key.startsWith('x-kubernetes-')) continue;
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(child as JsonSchema).map(([k, v]) => [k, adapt(v)])) : adapt(child);
  }
  // The API server rejects unknown fields (kubectl's strict field validation); so does the editor,
  // which catches typos like "contianers" before Apply.
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined && !object['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

/**
 * Converts the cluster's OpenAPI v2 document into one JSON schema for manifests of
 * {@link SCHEMA_KINDS}: `kind` picks the definition (if/then), definitions are trimmed to the
 * ones reachable from those kinds.
 */
export function manifestSchema(openapi: OpenApiV2): JsonSchema {
  const roots = new Map<string, { apiVersion: string; kind: string; definition: string }>();
  for (const gvk of SCHEMA_KINDS) {
    const definition = definitionFor(openapi, gvk);
    if (!definition) continue;
    const parts = gvk.split('/');
    roots.set(gvk, { apiVersion: parts.slice(0, -1).join('/'), kind: parts.at(-1)!, definition });
  }
  const definitions: Record<string, unknown> = {};
  const visit = (name: string) => {
    if (name in definitions || !openapi.definitions[name]) return;
    let source = openapi.definitions[name]!;
    if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') source = { ...source, ...INT_OR_STRING, type: undefined };
    definitions[name] = adapt(source);
    for (const ref of JSON.stringify(source).matchAll(/"#\/definitions\/([^"]+)"/g)) visit(ref[1]!);
  };
  for (const root of roots.values()) visit(root.definition);
  const entries = [...roots.values()];
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: `Kubernetes ${openapi.info?.version ?? ''} manifest`.trim(),
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata'],
    properties: {
      apiVersion: { type: 'string', enum: [...new Set(entries.map((e) => e.apiVersion))], description: 'The API group and version, e.g. apps/v1' },
      kind: { type: 'string', enum: [...new Set(entries.map((e) => e.kind))], description: 'The kind of object, e.g. DaemonSet' },
    },
    allOf: entries.map((entry) => ({
      if: { properties: { kind: { const: entry.kind } }, required: ['kind'] },
      then: { $ref: `#/definitions/${entry.definition}` },
    })),
    definitions,
  };
}

/** What a cached schema must hold to be used (the parts the editor relies on). */
const CachedSchema = z.looseObject({
  type: z.literal('object'),
  allOf: z.array(z.unknown()).describe('one if/then per kind a lab manifest may have'),
  definitions: z.record(z.string(), z.unknown()),
});

/** Where the schema is cached. */
export function schemaCacheFile(stateDir: string): string {
  return join(stateDir, 'web', 'kubernetes-schema.json');
}

/**
 * The manifest schema: fresh from the cluster when it answers (and then cached), else the
 * cached one; undefined only when neither exists.
 */
export async function loadManifestSchema(connection: ClusterConnection, stateDir: string): Promise<JsonSchema | undefined> {
  const cache = schemaCacheFile(stateDir);
  try {
    const { stdout } = await promisify(execFile)(
      join(connection.kubectlDir, 'kubectl'),
      ['--kubeconfig', connection.kubeconfig, '--context', connection.context, 'get', '--raw', '/openapi/v2', '--request-timeout=10s'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const schema = manifestSchema(JSON.parse(stdout) as OpenApiV2);
    await writeSchemaCache(stateDir, schema);
    return schema;
  } catch {
    return readSchemaCache(stateDir);
  }
}

/** Caches the schema, whole or not at all (a server killed mid-write must not leave half of it). */
export async function writeSchemaCache(stateDir: string, schema: JsonSchema): Promise<void> {
  const cache = schemaCacheFile(stateDir);
  await mkdir(dirname(cache), { recursive: true, mode: 0o700 });
  await writeFileAtomic(cache, JSON.stringify(schema));
}

/** The cached schema; undefined when there is none or it is damaged (the next fresh one replaces it). */
export async function readSchemaCache(stateDir: string): Promise<JsonSchema | undefined> {
  const cache = schemaCacheFile(stateDir);
  if (!existsSync(cache)) return undefined;
  const parsed = CachedSchema.safeParse(await readFile(cache, 'utf8').then((text) => JSON.parse(text) as unknown, () => undefined));
  return parsed.success ? (parsed.data as JsonSchema) : undefined;
}
