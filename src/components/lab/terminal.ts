/**
 * The lab terminal: xterm.js attached to the lab's shell over a WebSocket, with ack-based flow
 * control (acks are sent only once xterm has rendered output, so a flood pauses the shell on the
 * server instead of freezing this page) and reconnection that replays recent output.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type IDisposable } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { CLOSE, FLOW, TerminalServerMessageSchema, chunkInput, type TerminalClientMessage } from '../../shared/workspace-protocol.ts';
import { openSocket } from './api.ts';
import { TERMINAL_MIN_CONTRAST, dimTextStyles, terminalTheme } from './terminal-theme.ts';

/** Whether the learner asked for less motion (no blinking cursor then). */
const reducedMotion = () => matchMedia('(prefers-reduced-motion: reduce)').matches;

/** Options of {@link LabTerminal}. */
export interface LabTerminalOptions {
  /** Start in xterm.js's screen-reader mode. */
  readonly screenReaderMode?: boolean;
  /**
   * What Tab does, shared with the editor: while this says true, Tab and Shift+Tab move the focus
   * on instead of reaching the shell (no keyboard trap), and Ctrl+M switches it, as in VS Code.
   */
  readonly tabKey?: { movesFocus(): boolean; setMovesFocus(on: boolean): void };
  /**
   * Opens the shell only once this settles (the lab's start): a start resets the cluster, and a
   * command typed meanwhile would run before that reset and be undone by it. Keys typed until then
   * are held and sent in order.
   */
  readonly connectAfter?: Promise<unknown>;
}

/** Most input characters held while the shell is not attached (a learner typing into a dead page). */
const MAX_HELD_INPUT = 1024 * 1024;

/** Connection state, shown next to the terminal. */
export type TerminalState = 'connecting' | 'connected' | 'reconnecting' | 'taken-over';

/** A terminal bound to one lab's shell. */
export class LabTerminal {
  readonly terminal: Terminal;
  readonly #fit = new FitAddon();
  readonly #labId: string;
  readonly #disposables: IDisposable[] = [];
  readonly #onState: (state: TerminalState, detail?: string) => void;
  #socket: WebSocket | undefined;
  /** Whether the shell said `attached` on the current socket: input sent before then could be lost. */
  #attached = false;
  /** Input typed while no shell is attached, sent in order once one is. */
  readonly #held: string[] = [];
  #heldChars = 0;
  #received = 0;
  #acked = 0;
  #retryMs = 250;
  #closed = false;
  #resizeObserver: ResizeObserver | undefined;

  constructor(labId: string, host: HTMLElement, onState: (state: TerminalState, detail?: string) => void, options: LabTerminalOptions = {}) {
    this.#labId = labId;
    this.#onState = onState;
    this.terminal = new Terminal({
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
      fontSize: 13,
      cursorBlink: !reducedMotion(),
      scrollback: 5000,
      theme: terminalTheme(document.documentElement.dataset.theme === 'light' ? 'light' : 'dark'),
      minimumContrastRatio: TERMINAL_MIN_CONTRAST,
      screenReaderMode: options.screenReaderMode ?? false,
    });
    this.terminal.loadAddon(this.#fit);
    this.terminal.open(host);
    if (!document.getElementById('terminal-dim-text')) {
      const style = document.createElement('style');
      style.id = 'terminal-dim-text';
      style.textContent = dimTextStyles();
      document.head.append(style);
    }
    // What a screen reader says when the terminal gets the focus (xterm's default: "Terminal input").
    this.terminal.textarea?.setAttribute('aria-label', 'Terminal: a shell with kubectl for this lab');
    const tabKey = options.tabKey;
    if (tabKey) {
      // Returning false leaves the key to the browser: Tab then moves the focus as anywhere else.
      this.terminal.attachCustomKeyEventHandler((event) => {
        if (event.key === 'Tab' && !event.ctrlKey && !event.altKey && !event.metaKey) return !tabKey.movesFocus();
        if (event.type === 'keydown' && event.ctrlKey && !event.altKey && event.key.toLowerCase() === 'm') {
          event.preventDefault();
          tabKey.setMovesFocus(!tabKey.movesFocus());
          return false;
        }
        return true;
      });
    }
    this.#disposables.push(
      this.terminal.onData((data) => this.#input(data)),
      this.terminal.onResize(({ cols, rows }) => this.#send({ type: 'resize', cols, rows })),
    );
    this.#resizeObserver = new ResizeObserver(() => this.fit());
    this.#resizeObserver.observe(host);
    this.fit();
    if (!options.connectAfter) {
      this.#connect();
      return;
    }
    this.#onState('connecting', 'setting up the lab');
    void options.connectAfter.catch(() => undefined).then(() => {
      if (!this.#closed && !this.#socket) this.#connect();
    });
  }

  /** Follows the site's light/dark theme. */
  setTheme(theme: 'light' | 'dark'): void {
    this.terminal.options.theme = terminalTheme(theme);
  }

  /**
   * xterm.js's screen-reader mode: output is mirrored into an accessible live tree that screen
   * readers read and announce, and the rows can be read line by line.
   */
  setScreenReaderMode(on: boolean): void {
    this.terminal.options.screenReaderMode = on;
  }

  /** Puts the keyboard focus in the terminal. */
  focus(): void {
    this.terminal.focus();
  }

  /** Fits the terminal to its box (after a splitter moved). */
  fit(): void {
    try {
      this.#fit.fit();
    } catch {
      // Not laid out yet (hidden); the next resize fits it.
    }
  }

  /** Types text into the shell, as the lesson bridge's "Run in terminal" does. */
  type(text: string, interruptFirst = false): void {
    this.terminal.focus();
    if (!interruptFirst) {
      this.#input(text);
      return;
    }
    // The terminal discards typed-ahead input when Ctrl-C interrupts a command: let the
    // interrupt land first.
    this.#input('\x03');
    setTimeout(() => this.#input(text), 150);
  }

  /** Reconnects now (after a lab reset ended the shell, or to take the shell back). */
  reconnect(): void {
    this.#socket?.close();
    this.#retryMs = 0;
    if (!this.#socket || this.#socket.readyState === WebSocket.CLOSED) this.#connect();
  }

  dispose(): void {
    this.#closed = true;
    this.#socket?.close();
    this.#resizeObserver?.disconnect();
    for (const d of this.#disposables) d.dispose();
    this.terminal.dispose();
  }

  #connect(): void {
    const socket = openSocket(`/api/labs/${this.#labId}/terminal`);
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    this.#attached = false;
    this.#onState(this.#received === 0 ? 'connecting' : 'reconnecting');
    socket.onmessage = (event) => {
      if (typeof event.data === 'string') {
        const parsed = TerminalServerMessageSchema.safeParse(JSON.parse(event.data));
        if (!parsed.success) return;
        if (parsed.data.type === 'attached') {
          // The replay that follows is the shell's recent output: start from a clean screen so
          // nothing shows twice.
          this.terminal.reset();
          this.#received = 0;
          this.#acked = 0;
          this.#retryMs = 250;
          this.#attached = true;
          this.#onState('connected');
          this.#send({ type: 'resize', cols: this.terminal.cols, rows: this.terminal.rows });
          this.#sendHeld();
        } else {
          this.terminal.write(`\r\n\x1b[2m[shell exited with code ${parsed.data.code}]\x1b[0m\r\n`);
        }
        return;
      }
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      this.terminal.write(bytes, () => {
        this.#received += bytes.length;
        if (this.#received - this.#acked >= FLOW.ackEvery) {
          this.#send({ type: 'ack', bytes: this.#received - this.#acked });
          this.#acked = this.#received;
        }
      });
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket || this.#closed) return;
      this.#attached = false;
      if (event.code === CLOSE.takenOver) {
        this.#onState('taken-over', 'The shell is open in another tab.');
        return;
      }
      this.#onState('reconnecting', event.code === CLOSE.reset ? 'The lab was reset; starting a new shell.' : event.code === CLOSE.exited ? 'The shell exited; starting a new one.' : undefined);
      const delay = event.code === CLOSE.reset || event.code === CLOSE.exited ? 0 : this.#retryMs;
      this.#retryMs = Math.min(Math.max(this.#retryMs * 2, 250), 4000);
      setTimeout(() => {
        if (this.#socket === socket && !this.#closed) this.#connect();
      }, delay);
    };
  }

  /**
   * Sends typed or pasted text in order, in pieces the server accepts. Until the shell is attached
   * (the page has just opened, or is reconnecting) it is held, never dropped: keys typed the moment
   * the terminal appears arrive whole and in order.
   */
  #input(data: string): void {
    if (this.#heldChars + data.length > MAX_HELD_INPUT) return;
    this.#held.push(...chunkInput(data));
    this.#heldChars += data.length;
    if (this.#attached) this.#sendHeld();
  }

  #sendHeld(): void {
    while (this.#held.length > 0 && this.#attached && this.#socket?.readyState === WebSocket.OPEN) {
      const data = this.#held.shift()!;
      this.#heldChars -= data.length;
      this.#socket.send(JSON.stringify({ type: 'input', data } satisfies TerminalClientMessage));
    }
  }

  #send(message: TerminalClientMessage): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }
}
