/**
 * Live events for open lab pages: continuous checks (about once a second, one timer per open lab
 * however many tabs show it), the DaemonSet map, and the cluster's status. Pushed over the
 * events WebSocket; a lab with no page open costs nothing.
 */
import type { WebSocket } from 'ws';
import type { LabReport } from '../../shared/lab-results.ts';
import type { ClusterInfo, DaemonSetMap, LiveEvent } from '../../shared/workspace-protocol.ts';
import type { ClusterProvider } from '../cluster/providers/provider.ts';
import type { ClusterMapWatcher } from './cluster-map.ts';
import type { WorkspaceLabEngine } from './lab-engine.ts';

/** How often open labs are checked. */
export const CHECK_INTERVAL_MS = 1000;
/** How often the cluster's status is asked while a page is open. */
export const STATUS_INTERVAL_MS = 2000;

/** Turns a provider's status into what the page shows. */
export function clusterInfo(status: { provider: string; running: boolean; nodes: readonly { ready: boolean }[]; summary: string }, starting: boolean): ClusterInfo {
  const readyNodes = status.nodes.filter((n) => n.ready).length;
  if (status.running) {
    return { engine: status.provider, state: 'running', readyNodes, totalNodes: status.nodes.length, summary: status.summary };
  }
  return {
    engine: status.provider,
    state: starting ? 'starting' : 'down',
    readyNodes: 0,
    totalNodes: 0,
    summary: starting ? 'starting…' : status.summary,
    fix: { message: starting ? 'The cluster is starting; this page continues by itself.' : 'Start it with the button, or run `npm run cluster -- up`.', action: 'cluster-up' },
  };
}

/** Reports differ every time in checkedAt/durationMs; only the rest is news. */
function reportKey(report: LabReport): string {
  return JSON.stringify({ ...report, checkedAt: '', durationMs: 0 });
}

interface OpenLab {
  readonly sockets: Set<WebSocket>;
  timer: NodeJS.Timeout | undefined;
  checking: boolean;
  lastReport?: LabReport;
  lastKey?: string;
}

/** Everything the events WebSocket pushes, for every open lab. */
export class LiveHub {
  readonly #engine: WorkspaceLabEngine;
  readonly #provider: ClusterProvider;
  readonly #map: ClusterMapWatcher;
  readonly #labs = new Map<string, OpenLab>();
  #statusTimer: NodeJS.Timeout | undefined;
  #cluster: ClusterInfo | undefined;
  #starting = false;
  #unsubscribeMap: (() => void) | undefined;

  constructor(engine: WorkspaceLabEngine, provider: ClusterProvider, map: ClusterMapWatcher) {
    this.#engine = engine;
    this.#provider = provider;
    this.#map = map;
  }

  /** The latest cluster status, asked now when none is known. */
  async cluster(): Promise<ClusterInfo> {
    return this.#cluster ?? (await this.#refreshStatus());
  }

  /** Runs `up` (the fix the page offers), telling pages the cluster is starting meanwhile. */
  async clusterUp(): Promise<ClusterInfo> {
    if (!this.#starting) {
      this.#starting = true;
      void this.#refreshStatus();
      try {
        await this.#provider.up();
      } finally {
        this.#starting = false;
      }
    }
    return this.#refreshStatus();
  }

  /** Adds a page's events socket for a lab; sends what is known at once. */
  join(labId: string, socket: WebSocket): void {
    let lab = this.#labs.get(labId);
    if (!lab) {
      lab = { sockets: new Set(), timer: undefined, checking: false };
      this.#labs.set(labId, lab);
      const open = lab;
      open.timer = setInterval(() => void this.#check(labId, open), CHECK_INTERVAL_MS);
      void this.#check(labId, open);
    }
    lab.sockets.add(socket);
    if (lab.lastReport) send(socket, this.#reportEvent(labId, lab.lastReport));
    if (this.#cluster) send(socket, { type: 'cluster', cluster: this.#cluster });
    if (this.#map.current) send(socket, { type: 'map', map: this.#map.current });
    this.#ensureGlobalWatches();
    const joined = lab;
    socket.on('close', () => {
      joined.sockets.delete(socket);
      if (joined.sockets.size === 0) {
        clearInterval(joined.timer);
        this.#labs.delete(labId);
      }
      if (this.#labs.size === 0) this.#stopGlobalWatches();
    });
  }

  /** The check running per lab, and the one queued behind it. */
  readonly #running = new Map<string, Promise<LabReport>>();
  readonly #queued = new Map<string, Promise<LabReport>>();

  /**
   * Checks a lab now and pushes the result (after an action: Check, solve, reset, apply). However
   * many requests ask at once, at most one check per lab runs and one waits: a caller during a
   * running check gets the next one (which sees what changed meanwhile), shared with the others.
   */
  checkNow(labId: string): Promise<LabReport> {
    const queued = this.#queued.get(labId);
    if (queued) return queued;
    const running = this.#running.get(labId);
    if (!running) return this.#startCheck(labId);
    const next = running.catch(() => undefined).then(() => {
      this.#queued.delete(labId);
      return this.#startCheck(labId);
    });
    this.#queued.set(labId, next);
    return next;
  }

  #startCheck(labId: string): Promise<LabReport> {
    const check = (async () => {
      const report = await this.#engine.check(labId);
      const lab = this.#labs.get(labId);
      if (lab) this.#publish(labId, lab, report);
      return report;
    })().finally(() => this.#running.delete(labId));
    this.#running.set(labId, check);
    return check;
  }

  /** Pushes a report produced elsewhere (start, solve, reset) to a lab's pages. */
  publishReport(labId: string, report: LabReport): void {
    const lab = this.#labs.get(labId);
    if (lab) this.#publish(labId, lab, report);
  }

  /** Stops every timer and closes every socket. */
  close(): void {
    for (const lab of this.#labs.values()) {
      clearInterval(lab.timer);
      for (const socket of lab.sockets) socket.close(1001, 'The lab server stopped');
    }
    this.#labs.clear();
    this.#stopGlobalWatches();
  }

  async #check(labId: string, lab: OpenLab): Promise<void> {
    // A slow check (cluster restarting) must not pile up behind itself.
    if (lab.checking) return;
    lab.checking = true;
    try {
      // Through checkNow, which publishes: the timer and requests share one check.
      await this.checkNow(labId);
    } catch {
      // The engine reports environment problems in the report; anything thrown is a bug that
      // the next tick retries, and the Check button shows.
    } finally {
      lab.checking = false;
    }
  }

  #publish(labId: string, lab: OpenLab, report: LabReport): void {
    const key = reportKey(report);
    lab.lastReport = report;
    if (key === lab.lastKey) return;
    lab.lastKey = key;
    const event = this.#reportEvent(labId, report);
    for (const socket of lab.sockets) send(socket, event);
  }

  /** A report with the lab's stored progress (which outlives a cluster outage or a restart). */
  #reportEvent(labId: string, report: LabReport): LiveEvent {
    let progress;
    try {
      progress = this.#engine.progress().labs.find((entry) => entry.labId === labId);
    } catch {
      // No store (yet): the report alone shows the state.
    }
    return { type: 'report', report, ...(progress ? { progress } : {}) };
  }

  #ensureGlobalWatches(): void {
    if (!this.#statusTimer) {
      this.#statusTimer = setInterval(() => void this.#refreshStatus(), STATUS_INTERVAL_MS);
      void this.#refreshStatus();
    }
    this.#unsubscribeMap ??= this.#map.subscribe((map) => this.#broadcast({ type: 'map', map }));
  }

  #stopGlobalWatches(): void {
    clearInterval(this.#statusTimer);
    this.#statusTimer = undefined;
    this.#unsubscribeMap?.();
    this.#unsubscribeMap = undefined;
  }

  #refreshing: Promise<ClusterInfo> | undefined;

  #refreshStatus(): Promise<ClusterInfo> {
    this.#refreshing ??= (async () => {
      let info: ClusterInfo;
      try {
        info = clusterInfo(await this.#provider.status(), this.#starting);
      } catch (error) {
        info = clusterInfo({ provider: this.#provider.name, running: false, nodes: [], summary: (error as Error).message }, this.#starting);
      }
      if (JSON.stringify(info) !== JSON.stringify(this.#cluster)) {
        this.#cluster = info;
        this.#broadcast({ type: 'cluster', cluster: info });
      }
      return info;
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  #broadcast(event: LiveEvent): void {
    for (const lab of this.#labs.values()) for (const socket of lab.sockets) send(socket, event);
  }
}

function send(socket: WebSocket, event: LiveEvent): void {
  if (socket.readyState === 1) socket.send(JSON.stringify(event));
}

export type { DaemonSetMap };
