/**
 * Check results pushed from learner pods: for each learner with a lab open, the hub holds the
 * workspace server's live-events socket of that lab (the same one the learner's page uses), keeps
 * each report in PostgreSQL and passes it on to the instructor pages. One socket per active
 * learner; nothing is polled per cell.
 */
import WebSocket from 'ws';
import { LiveEventSchema } from '../src/shared/workspace-protocol.ts';
import type { LabReport } from '../src/shared/lab-results.ts';
import type { Upstream } from './proxy.ts';

/** Where reports go. */
export interface ReportSink {
  report(learnerId: string, report: LabReport): Promise<void>;
}

interface Follow {
  labId: string;
  socket: WebSocket | undefined;
  retry: NodeJS.Timeout | undefined;
}

/** Follows the live checks of each learner's open lab. */
export class ReportCollector {
  readonly #follows = new Map<string, Follow>();
  readonly #upstream: (learnerId: string) => Upstream | undefined;
  readonly #sink: ReportSink;
  readonly #retryMs: number;

  constructor(upstream: (learnerId: string) => Upstream | undefined, sink: ReportSink, retryMs = 2000) {
    this.#upstream = upstream;
    this.#sink = sink;
    this.#retryMs = retryMs;
  }

  /** Follows `labId` for the learner (replacing the lab followed before). */
  follow(learnerId: string, labId: string): void {
    const current = this.#follows.get(learnerId);
    if (current?.labId === labId && current.socket) return;
    this.unfollow(learnerId);
    const follow: Follow = { labId, socket: undefined, retry: undefined };
    this.#follows.set(learnerId, follow);
    this.#open(learnerId, follow);
  }

  unfollow(learnerId: string): void {
    const follow = this.#follows.get(learnerId);
    if (!follow) return;
    this.#follows.delete(learnerId);
    clearTimeout(follow.retry);
    follow.socket?.terminate();
  }

  /** Learners followed now, with their lab. */
  following(): Map<string, string> {
    return new Map([...this.#follows].map(([learner, follow]) => [learner, follow.labId]));
  }

  close(): void {
    for (const learnerId of [...this.#follows.keys()]) this.unfollow(learnerId);
  }

  #open(learnerId: string, follow: Follow): void {
    const upstream = this.#upstream(learnerId);
    const again = () => {
      follow.socket = undefined;
      if (this.#follows.get(learnerId) === follow) follow.retry = setTimeout(() => this.#open(learnerId, follow), this.#retryMs);
    };
    if (!upstream) return again();
    const url = `${upstream.origin.replace(/^http/, 'ws')}/api/labs/${follow.labId}/events`;
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${upstream.token}` } });
    follow.socket = socket;
    socket.on('message', (data) => {
      let event;
      try {
        event = LiveEventSchema.safeParse(JSON.parse(data.toString()));
      } catch {
        return;
      }
      if (event.success && event.data.type === 'report' && event.data.report.labId === follow.labId) {
        void this.#sink.report(learnerId, event.data.report).catch((error: Error) => process.stderr.write(`hub: a report of ${learnerId} was not stored: ${error.message}\n`));
      }
    });
    socket.on('error', () => undefined); // 'close' follows and retries.
    socket.on('close', again);
  }
}
