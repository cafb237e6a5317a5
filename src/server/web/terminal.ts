/**
 * Lab shells: one node-pty shell per lab, kept by the server across WebSocket drops and page
 * reloads, with a ring buffer of recent output to replay on reconnect and ack-based flow control
 * so that a flood (`yes`, a huge `kubectl get -o yaml`) pauses the shell instead of the page.
 *
 * A shell ends only when its lab is reset ({@link TerminalSessions.end}) or the server stops.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import * as pty from 'node-pty';
import type { WebSocket } from 'ws';
import { CLOSE, FLOW, TerminalClientMessageSchema, type TerminalServerMessage } from '../../shared/workspace-protocol.ts';

/** How much recent output is kept for replay. */
export const REPLAY_BYTES = 256 * 1024;

/** Size of the blocks the replay buffer copies output into. */
const REPLAY_BLOCK_BYTES = 16 * 1024;

/**
 * Keeps the last `capacity` bytes written to it, copied into blocks of its own. It never keeps
 * the chunks it is given: a small Buffer is a view of an 8 KiB pool slab shared with whatever
 * else was allocated meanwhile, so keeping thousands of keystroke echoes (a few bytes each) would
 * keep thousands of slabs alive, hundreds of MB for 256 KiB of output.
 */
export class RingBuffer {
  readonly #capacity: number;
  readonly #blocks: Buffer[] = [];
  /** Bytes of the first block already dropped. */
  #start = 0;
  /** Bytes written into the last block. */
  #end = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  push(chunk: Buffer): void {
    // Only the last `capacity` bytes of a chunk can ever be replayed.
    const kept = chunk.length > this.#capacity ? chunk.subarray(chunk.length - this.#capacity) : chunk;
    for (let offset = 0; offset < kept.length; ) {
      let last = this.#blocks.at(-1);
      if (!last || this.#end === last.length) {
        // Unpooled: the block owns its memory, and nothing else lives in it.
        last = Buffer.allocUnsafeSlow(REPLAY_BLOCK_BYTES);
        this.#blocks.push(last);
        this.#end = 0;
      }
      const copied = kept.copy(last, this.#end, offset);
      this.#end += copied;
      offset += copied;
    }
    this.#size += kept.length;
    this.#trim();
  }

  contents(): Buffer {
    const parts = this.#blocks.map((block, index) => block.subarray(index === 0 ? this.#start : 0, index === this.#blocks.length - 1 ? this.#end : block.length));
    return Buffer.concat(parts, this.#size);
  }

  /** Drops the oldest bytes beyond the capacity, and the blocks that held only those. */
  #trim(): void {
    while (this.#size > this.#capacity) {
      const first = this.#blocks[0]!;
      const firstEnd = this.#blocks.length === 1 ? this.#end : first.length;
      const dropped = Math.min(this.#size - this.#capacity, firstEnd - this.#start);
      this.#start += dropped;
      this.#size -= dropped;
      if (this.#start === firstEnd && this.#blocks.length > 1) {
        this.#blocks.shift();
        this.#start = 0;
      }
    }
  }
}

/** What a lab shell needs: where it runs and how it reaches the cluster. */
export interface ShellSpec {
  /** Shown in the prompt: the lab id. */
  readonly label: string;
  readonly cwd: string;
  readonly kubeconfig: string;
  readonly kubectlDir: string;
}

/**
 * The name of the user the server runs as. A container may run it as a uid with no passwd entry
 * (a learner pod's securityContext picks the uid), where os.userInfo() throws: the uid stands in.
 */
function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? String(process.getuid?.() ?? 'learner');
  }
}

/**
 * The shell's environment: minimal and explicit, never the server's own (which may hold tokens
 * or a different KUBECONFIG).
 */
export function shellEnvironment(spec: ShellSpec): Record<string, string> {
  const user = userName();
  return {
    HOME: spec.cwd,
    USER: user,
    LOGNAME: user,
    SHELL: shellPath(),
    PATH: `${spec.kubectlDir}:/usr/local/bin:/usr/bin:/bin`,
    KUBECONFIG: spec.kubeconfig,
    TERM: 'xterm-256color',
    COLORTERM: 'truecolor',
    LANG: 'C.UTF-8',
    // The history lives in memory only: the workspace holds the learner's manifests, not dotfiles.
    HISTFILE: '/dev/null',
    PS1: `\\[\\e[1;34m\\]${spec.label}\\[\\e[0m\\]:\\[\\e[36m\\]\\W\\[\\e[0m\\] \\$ `,
  };
}

function shellPath(): string {
  return existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
}

/** One lab's shell and the WebSocket attached to it, if any. */
export class TerminalSession {
  readonly labId: string;
  readonly #pty: pty.IPty;
  readonly #replay = new RingBuffer(REPLAY_BYTES);
  #socket: WebSocket | undefined;
  /** Output bytes sent (or, while detached, produced) and not yet acknowledged. */
  #unacked = 0;
  #paused = false;
  #exitCode: number | undefined;
  readonly #onExit: () => void;
  /**
   * Input not yet written to the shell, in the order it came. Everything waits here until the
   * shell first printed (its prompt), because a Ctrl-C reaching bash before it has set up its
   * signal handling would end the shell; later input waits only behind earlier input.
   */
  readonly #input: string[] = [];
  #ready = false;
  #writing = false;

  constructor(labId: string, spec: ShellSpec, onExit: () => void) {
    this.labId = labId;
    this.#onExit = onExit;
    const shell = shellPath();
    this.#pty = pty.spawn(shell, shell.endsWith('bash') ? ['--noprofile', '--norc', '-i'] : ['-i'], {
      name: 'xterm-256color',
      cols: 100,
      rows: 30,
      cwd: spec.cwd,
      env: shellEnvironment(spec),
    });
    let settle: NodeJS.Timeout | undefined;
    this.#pty.onData((data) => {
      this.#output(Buffer.from(data, 'utf8'));
      if (this.#ready) return;
      // The shell is ready once its start-up output (the prompt) has gone quiet for a moment.
      clearTimeout(settle);
      settle = setTimeout(() => {
        this.#ready = true;
        this.#drain();
      }, 150);
    });
    this.#pty.onExit(({ exitCode }) => {
      this.#exitCode = exitCode;
      this.#sendControl({ type: 'exit', code: exitCode });
      // The page reconnects, which starts a new shell (e.g. after the learner typed `exit`).
      this.#socket?.close(CLOSE.exited, 'The shell exited');
      this.#onExit();
    });
  }

  get pid(): number {
    return this.#pty.pid;
  }

  get exited(): boolean {
    return this.#exitCode !== undefined;
  }

  /** Attaches a WebSocket: an earlier one is closed (another tab took over), recent output is replayed. */
  attach(socket: WebSocket, fresh: boolean): void {
    const previous = this.#socket;
    this.#socket = socket;
    if (previous && previous !== socket) previous.close(CLOSE.takenOver, 'The lab shell was opened in another tab');
    const replay = this.#replay.contents();
    this.#sendControl({ type: 'attached', replay: replay.length, fresh });
    if (replay.length > 0) socket.send(replay, { binary: true });
    // The new page acks the replay like any output; the count starts from it.
    this.#unacked = replay.length;
    this.#updateFlow();
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.#handle(String(data));
    });
    socket.on('close', () => {
      if (this.#socket === socket) {
        this.#socket = undefined;
        this.#unacked = 0;
      }
    });
  }

  /**
   * Writes queued input in order. After a chunk holding an interrupt (Ctrl-C, Ctrl-Z, Ctrl-\\) it
   * waits a moment: the terminal discards input that is already queued when the signal arrives.
   */
  #drain(): void {
    if (!this.#ready || this.#writing || this.exited) return;
    while (this.#input.length > 0) {
      const chunk = this.#input.shift()!;
      try {
        this.#pty.write(chunk);
      } catch {
        // The shell is gone; onExit tells the page.
        return;
      }
      if (/[\x03\x1a\x1c]/.test(chunk) && this.#input.length > 0) {
        this.#writing = true;
        setTimeout(() => {
          this.#writing = false;
          this.#drain();
        }, 100);
        return;
      }
    }
  }

  /** Types text into the shell, after any input still waiting. */
  write(data: string): void {
    this.#input.push(data);
    this.#drain();
  }

  /** Ends the shell (lab reset or server stop). */
  end(code: number = CLOSE.reset, reason = 'The lab was reset'): void {
    this.#socket?.close(code, reason);
    this.#socket = undefined;
    try {
      this.#pty.kill('SIGHUP');
    } catch {
      // Already gone.
    }
  }

  #handle(text: string): void {
    let parsed;
    try {
      parsed = TerminalClientMessageSchema.safeParse(JSON.parse(text));
    } catch {
      return;
    }
    // A malformed message is dropped, never fatal: the shell keeps running.
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === 'input') this.write(message.data);
    else if (message.type === 'resize') {
      try {
        this.#pty.resize(message.cols, message.rows);
      } catch {
        // The shell has just exited.
      }
    } else {
      this.#unacked = Math.max(0, this.#unacked - message.bytes);
      this.#updateFlow();
    }
  }

  #output(chunk: Buffer): void {
    this.#replay.push(chunk);
    this.#unacked += chunk.length;
    if (this.#socket?.readyState === 1) this.#socket.send(chunk, { binary: true });
    this.#updateFlow();
  }

  /** Pauses the shell above the high watermark and resumes it below the low one. */
  #updateFlow(): void {
    if (!this.#paused && this.#unacked > FLOW.high) {
      this.#paused = true;
      this.#pty.pause();
    } else if (this.#paused && this.#unacked < FLOW.low) {
      this.#paused = false;
      this.#pty.resume();
    }
  }

  #sendControl(message: TerminalServerMessage): void {
    if (this.#socket?.readyState === 1) this.#socket.send(JSON.stringify(message));
  }
}

/** The lab shells of one server, keyed by lab id. */
export class TerminalSessions {
  readonly #sessions = new Map<string, TerminalSession>();

  /** The lab's shell, started when there is none (or the last one exited). */
  get(labId: string, spec: () => ShellSpec): { session: TerminalSession; fresh: boolean } {
    const existing = this.#sessions.get(labId);
    if (existing && !existing.exited) return { session: existing, fresh: false };
    const session = new TerminalSession(labId, spec(), () => {
      if (this.#sessions.get(labId) === session) this.#sessions.delete(labId);
    });
    this.#sessions.set(labId, session);
    return { session, fresh: true };
  }

  /** The running shell of a lab, if any. */
  find(labId: string): TerminalSession | undefined {
    return this.#sessions.get(labId);
  }

  /** Ends a lab's shell: a lab reset starts the learner afresh. */
  end(labId: string): void {
    this.#sessions.get(labId)?.end();
    this.#sessions.delete(labId);
  }

  /** Ends every shell (server stop). */
  endAll(): void {
    for (const session of this.#sessions.values()) session.end(1001, 'The lab server stopped');
    this.#sessions.clear();
  }
}
