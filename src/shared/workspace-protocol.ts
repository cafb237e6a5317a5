/**
 * The lab workspace's HTTP API and WebSocket protocol, shared by the server (src/server/web) and
 * the lab page (src/components/lab). Browser-safe: zod only, no Node imports.
 *
 * HTTP (every /api/ call needs the start token in an `Authorization: Bearer <token>` header; the
 * start URL `/?token=…` stores it in the page's localStorage, see TOKEN_STORAGE_KEY):
 *   GET  /api/cluster                       → ClusterInfo
 *   POST /api/cluster/up                    → ClusterInfo (the fix for a stopped cluster)
 *   GET  /api/schema                        → JSON schema for Kubernetes manifests (cached on disk)
 *   GET  /api/labs                          → LabSummary[]
 *   GET  /api/labs/:id                      → LabSummary
 *   POST /api/labs/:id/{start,check,solve,reset} → LabReport
 *   GET  /api/labs/:id/files                → WorkspaceFile[]
 *   GET  /api/labs/:id/files/<path>         → file text (text/plain)
 *   PUT  /api/labs/:id/files/<path>         ← file text → WorkspaceFile
 *   POST /api/labs/:id/apply                ← ApplyRequest → ApplyResponse
 *   GET  /api/labs/:id/solution             → SolutionFile[]
 * Errors are ApiError JSON with the HTTP status.
 *
 * WebSockets (the token as the subprotocol `token.<token>` next to WS_PROTOCOL, or for scripts an
 * Authorization header or `?token=`; from a browser, an Origin equal to the server's own):
 *   /api/labs/:id/terminal  the lab's shell; see TerminalClientMessage / TerminalServerMessage.
 *     Output arrives as binary frames (UTF-8 bytes); control messages as JSON text frames.
 *   /api/labs/:id/events    live checks, DaemonSet map and cluster status; see LiveEvent.
 */
import { z } from 'zod';
import { LabReportSchema } from './lab-results.ts';
import { LabProgressSchema } from './lab-summary.ts';

/** A failed API call: what went wrong, naming the thing, and what fixes it. */
export const ApiErrorSchema = z.object({
  error: z.string().describe('What went wrong, e.g. "File path \\"../x\\" leaves the lab workspace"'),
  fix: z.string().optional().describe('What to do about it'),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

/** A file of the lab workspace. */
export const WorkspaceFileSchema = z.object({
  path: z.string().describe('Relative to the workspace, "/"-separated'),
  size: z.number(),
  modifiedAt: z.string(),
});
export type WorkspaceFile = z.infer<typeof WorkspaceFileSchema>;

/** A file of the lab's reference solution. */
export const SolutionFileSchema = z.object({ path: z.string(), content: z.string() });
export type SolutionFile = z.infer<typeof SolutionFileSchema>;

/** Applies a workspace file (as saved) or the given text. */
export const ApplyRequestSchema = z.object({
  path: z.string(),
  /** When set, applied instead of the file on disk (the editor's text). */
  content: z.string().optional(),
});
export type ApplyRequest = z.infer<typeof ApplyRequestSchema>;

/** The API server's answer for one document of an applied file. */
export const ApplyResultSchema = z.object({
  object: z.string().describe('e.g. "daemonset.apps/nginx" or "document 2"'),
  ok: z.boolean(),
  message: z.string().describe('"created", "configured", "unchanged" or the API server\'s error'),
});
export const ApplyResponseSchema = z.object({ ok: z.boolean(), results: z.array(ApplyResultSchema) });
export type ApplyResponse = z.infer<typeof ApplyResponseSchema>;

/** The cluster as the page shows it. */
export const ClusterInfoSchema = z.object({
  engine: z.string(),
  state: z.enum(['running', 'down', 'starting']),
  readyNodes: z.number(),
  totalNodes: z.number(),
  summary: z.string(),
  /** When not running: what fixes it. `action` is an API call the page can offer as a button. */
  fix: z.object({ message: z.string(), action: z.literal('cluster-up').optional() }).optional(),
});
export type ClusterInfo = z.infer<typeof ClusterInfoSchema>;

/** One pod of the DaemonSet on the map. */
export const MapPodSchema = z.object({
  name: z.string(),
  phase: z.string(),
  ready: z.boolean(),
  terminating: z.boolean(),
  /** The ControllerRevision's .revision for the pod's controller-revision-hash, when known. */
  revision: z.number().optional(),
  /** A short reason when not ready, e.g. "CrashLoopBackOff". */
  reason: z.string().optional(),
});
export type MapPod = z.infer<typeof MapPodSchema>;

/** One node on the map, with what each DaemonSet does on it. */
export const MapNodeSchema = z.object({
  name: z.string(),
  ready: z.boolean(),
  labels: z.record(z.string(), z.string()),
  taints: z.array(z.string()),
  daemonSets: z.array(
    z.object({
      daemonSet: z.string().describe('namespace/name'),
      pods: z.array(MapPodSchema),
      /** Set when the DaemonSet does not want a pod here: "selector: …" or "taint: …". */
      skipped: z.string().optional(),
    }),
  ),
});
export type MapNode = z.infer<typeof MapNodeSchema>;

export const MapDaemonSetSchema = z.object({
  id: z.string().describe('namespace/name'),
  currentRevision: z.number().optional(),
  desired: z.number(),
  ready: z.number(),
  updated: z.number(),
});

/** The live DaemonSet map: every node and every DaemonSet outside kube-system. */
export const DaemonSetMapSchema = z.object({
  nodes: z.array(MapNodeSchema),
  daemonSets: z.array(MapDaemonSetSchema),
});
export type DaemonSetMap = z.infer<typeof DaemonSetMapSchema>;

/** What the events WebSocket pushes. */
export const LiveEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('report'),
    report: LabReportSchema,
    /** The lab's progress from the engine's store: steps passed since the latest start, kept across restarts. */
    progress: LabProgressSchema.optional(),
  }),
  z.object({ type: z.literal('map'), map: DaemonSetMapSchema }),
  z.object({ type: z.literal('cluster'), cluster: ClusterInfoSchema }),
]);
export type LiveEvent = z.infer<typeof LiveEventSchema>;

/** Most characters in one terminal input message (the schema's cap). */
export const TERMINAL_INPUT_MAX = 64 * 1024;

/**
 * The page splits input (a big paste) into messages of at most this many characters: even if
 * every character were JSON-escaped to six bytes, a message stays below the server's WebSocket
 * limit of 128 KiB.
 */
export const TERMINAL_INPUT_CHUNK = 16 * 1024;

/**
 * Splits input into pieces of at most `size` characters, never between the two halves of a
 * surrogate pair (an emoji), so each piece is valid text on its own.
 */
export function chunkInput(text: string, size = TERMINAL_INPUT_CHUNK): string[] {
  const chunks: string[] = [];
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}

/** Terminal: browser → server (JSON text frames). */
export const TerminalClientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('input'), data: z.string().max(TERMINAL_INPUT_MAX) }),
  z.object({ type: z.literal('resize'), cols: z.number().int().min(2).max(1000), rows: z.number().int().min(2).max(500) }),
  /** The browser has rendered this many more output bytes; lets a paused shell go on. */
  z.object({ type: z.literal('ack'), bytes: z.number().int().min(0) }),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessageSchema>;

/** Terminal: server → browser (JSON text frames; output is binary frames). */
export const TerminalServerMessageSchema = z.discriminatedUnion('type', [
  /** Sent on attach, before the replayed output: `replay` bytes of recent output follow. */
  z.object({ type: z.literal('attached'), replay: z.number(), fresh: z.boolean() }),
  z.object({ type: z.literal('exit'), code: z.number() }),
]);
export type TerminalServerMessage = z.infer<typeof TerminalServerMessageSchema>;

/** Flow control: the browser acks at least every ACK_EVERY bytes; the server pauses the shell above HIGH. */
export const FLOW = { ackEvery: 16 * 1024, high: 256 * 1024, low: 32 * 1024 } as const;

/** WebSocket close codes with a meaning for the page. */
export const CLOSE = {
  /** Another tab took the lab's shell over. */
  takenOver: 4001,
  /** The shell was ended by a lab reset; reconnecting starts a new one. */
  reset: 4002,
  /** The shell exited (the learner typed `exit`); reconnecting starts a new one. */
  exited: 4003,
} as const;

/**
 * Where a lab page keeps the start token: the page's localStorage, which belongs to one origin
 * (scheme, host and port). A cookie would not do: cookies ignore ports, so every other server on
 * 127.0.0.1 the learner visits would receive it.
 */
export const TOKEN_STORAGE_KEY = 'daemonset-lab-token';

/** The WebSocket subprotocol of the lab sockets; the page offers the token as a second one, `token.<token>`. */
export const WS_PROTOCOL = 'daemonset-lab';
export const WS_TOKEN_PROTOCOL_PREFIX = 'token.';
