/**
 * Putting a submission on the lab cluster for `lab grade`: a server-side dry-run of every object
 * (strict field validation, so a misspelt field is an error that names file, line and field),
 * then `kubectl apply` of every file (the lab engine's applyManifests), then commands.sh.
 *
 * The dry-run speaks HTTP itself: client-node serializes objects through its typed models, which
 * silently drops fields it does not know, and an unknown field is exactly what the learner must
 * hear about.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { EnvironmentError } from '../errors.ts';
import { FIELD_MANAGER, type KubeClients } from '../cluster/kube.ts';
import { applyManifests, ApplyError, isTransportError } from './actions.ts';
import { LAB_NAMESPACE } from './snapshot.ts';
import type { LabSubmission, SubmissionProblem, SubmittedObject } from './grade-submission.ts';

/** An API answer: HTTP status and parsed JSON body. */
interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** One HTTPS request to the cluster of `config`, with its credentials. */
async function apiRequest(config: KubeConfig, method: string, path: string, body?: string, contentType = 'application/json'): Promise<ApiAnswer> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('The kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const options: Parameters<typeof request>[1] = { method, headers: { Accept: 'application/json', ...(body ? { 'Content-Type': contentType } : {}) } };
  await config.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // Not JSON: keep the text for the message.
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    // Same shape as undici's failures, so isTransportError recognises it.
    req.on('error', (error) => reject(Object.assign(new TypeError('fetch failed'), { cause: error })));
    req.setTimeout(30_000, () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.end(body);
  });
}

/** The API server's Status for a refusal. */
interface ApiStatus {
  message?: string;
  details?: { causes?: Array<{ field?: string; message?: string; reason?: string }> };
}

/** Resource paths by apiVersion/kind, from the API server's discovery documents. */
function resourceResolver(config: KubeConfig) {
  const cache = new Map<string, Promise<Array<{ kind: string; name: string; namespaced: boolean }>>>();
  return async (apiVersion: string, kind: string) => {
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let resources = cache.get(base);
    if (!resources) {
      resources = apiRequest(config, 'GET', base).then((answer) =>
        answer.status === 200 ? ((answer.body as { resources: Array<{ kind: string; name: string; namespaced: boolean }> }).resources ?? []) : [],
      );
      cache.set(base, resources);
    }
    const found = (await resources).find((r) => r.kind === kind && !r.name.includes('/'));
    return found ? { base, ...found } : undefined;
  };
}

/** Names the field of an API refusal: the cause's field, else the field the message quotes. */
function refusedField(status: ApiStatus): string | undefined {
  const cause = status.details?.causes?.find((c) => c.field);
  if (cause?.field) return cause.field.replace(/^\./, '');
  // Strict decoding names the field only in its message: `strict decoding error: unknown field "spec.x"`.
  const quoted = status.message?.match(/unknown field "([^"]+)"/);
  return quoted?.[1];
}

/**
 * Server-side dry-run of every object of a submission (create, or replace when it exists, as
 * applyManifests will do), with strict field validation as `kubectl apply --validate=strict`. Returns the problems, each with file, line and field.
 */
export async function dryRunSubmission(clients: KubeClients, submission: LabSubmission): Promise<SubmissionProblem[]> {
  const resolve = resourceResolver(clients.config);
  const problems: SubmissionProblem[] = [];
  for (const file of submission.files) {
    for (const submitted of file.objects) {
      const problem = await dryRunObject(clients.config, resolve, submitted);
      if (problem) problems.push({ file: file.path, ...problem });
    }
  }
  return problems;
}

async function dryRunObject(
  config: KubeConfig,
  resolve: ReturnType<typeof resourceResolver>,
  submitted: SubmittedObject,
): Promise<Omit<SubmissionProblem, 'file'> | undefined> {
  const { object } = submitted;
  const what = `${object.kind} ${object.metadata?.name}`;
  const resource = await resolve(object.apiVersion!, object.kind!);
  if (!resource) {
    return { line: submitted.lineOf('kind'), field: 'kind', message: `${what}: the cluster knows no kind ${object.kind} in ${object.apiVersion} (kubectl api-resources lists them)` };
  }
  const namespace = object.metadata?.namespace ?? LAB_NAMESPACE;
  const collection = `${resource.base}${resource.namespaced ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${resource.name}`;
  const body = JSON.stringify(resource.namespaced ? { ...object, metadata: { ...object.metadata, namespace } } : object);
  const query = `?dryRun=All&fieldManager=${FIELD_MANAGER}&fieldValidation=Strict`;
  // What applyManifests does, dry: create, or replace what exists (an update without resourceVersion).
  let answer = await apiRequest(config, 'POST', `${collection}${query}`, body);
  if (answer.status === 409) answer = await apiRequest(config, 'PUT', `${collection}/${encodeURIComponent(object.metadata!.name!)}${query}`, body);
  if (answer.status >= 200 && answer.status < 300) return undefined;
  const status = (typeof answer.body === 'object' && answer.body ? answer.body : { message: String(answer.body) }) as ApiStatus;
  if (answer.status >= 500 || answer.status === 401 || answer.status === 403) {
    throw new EnvironmentError(`The API server answered ${answer.status} to a dry-run of ${what}: ${status.message ?? ''}`, 'Run the grading again; if it persists, the grading cluster is broken (see its logs).');
  }
  const field = refusedField(status);
  return { line: field ? submitted.lineOf(field) : submitted.location.line, ...(field ? { field } : {}), message: `${what}: ${status.message ?? `HTTP ${answer.status}`}` };
}

/** Applies every file in order, as `kubectl apply -f <folder>`; a refusal becomes a problem at the file's line. */
export async function applySubmission(clients: KubeClients, submission: LabSubmission): Promise<SubmissionProblem[]> {
  for (const file of submission.files) {
    try {
      await applyManifests(clients, file.text, file.path);
    } catch (error) {
      if (isTransportError(error) || !(error instanceof ApplyError)) throw error;
      return [{ file: file.path, line: file.objects[0]?.location.line ?? 1, message: error.message }];
    }
  }
  return [];
}

/** How commands.sh ran. */
export interface CommandsRun {
  readonly exitCode: number;
  /** Its output (stdout and stderr interleaved), at most 64 KiB. */
  readonly output: string;
  /** The line of commands.sh whose command failed. */
  readonly failedLine?: number;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

const MAX_OUTPUT = 64 * 1024;

/**
 * Runs commands.sh as documented in the README: `bash` with `set -eo pipefail`, in the lab's
 * submission folder, with only PATH (the project's kubectl first), KUBECONFIG (the grading
 * cluster), HOME (a scratch folder) and LANG; killed with its whole process group at the timeout.
 */
export async function runCommands(options: { dir: string; kubectlDir: string; kubeconfig: string; context: string; timeoutMs: number }): Promise<CommandsRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'daemonset-lab-grade-sh-'));
  // A copy of the kubeconfig whose current context is the lab cluster's, so plain `kubectl` talks to it.
  const kubeconfig = join(scratch, 'kubeconfig');
  const config = parse(readFileSync(options.kubeconfig, 'utf8')) as Record<string, unknown>;
  writeFileSync(kubeconfig, stringify({ ...config, 'current-context': options.context }), { mode: 0o600 });
  const lineFile = join(scratch, 'failed-line');
  const script = `set -eo pipefail\ntrap 'echo "$LINENO" > ${JSON.stringify(lineFile)}' ERR\nsource ./commands.sh\n`;
  const started = Date.now();
  const env = { PATH: `${options.kubectlDir}:/usr/local/bin:/usr/bin:/bin`, KUBECONFIG: kubeconfig, HOME: scratch, LANG: 'C.UTF-8' };
  const child = spawn('bash', ['--noprofile', '--norc', '-c', script], { cwd: options.dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    if (output.length < MAX_OUTPUT) output += chunk.toString('utf8').slice(0, MAX_OUTPUT - output.length);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, options.timeoutMs);
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1))));
  clearTimeout(timer);
  let failedLine: number | undefined;
  try {
    failedLine = Number(readFileSync(lineFile, 'utf8').trim()) || undefined;
  } catch {
    // No command failed.
  }
  rmSync(scratch, { recursive: true, force: true });
  return { exitCode, output, timedOut, durationMs: Date.now() - started, ...(exitCode !== 0 && failedLine ? { failedLine } : {}) };
}
