/**
 * What the workspace tests (and the benchmarks) share: a workspace server on the test cluster,
 * Chromium, raw WebSocket clients for the terminal, and polling.
 */
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { createLabEngine, type LabEngine } from '../../src/server/labs/engine.ts';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { embeddedProvider } from '../../src/server/cluster/providers/embedded.ts';
import { processRunner } from '../../src/server/cluster/providers/runner.ts';
import type { ClusterProvider } from '../../src/server/cluster/providers/provider.ts';
import { startWorkspaceServer, type WorkspaceServer } from '../../src/server/web/server.ts';
import { FLOW, type TerminalServerMessage } from '../../src/shared/workspace-protocol.ts';
import type { TestClusterInfo } from '../support/test-cluster.ts';

/** A workspace server, its engine and provider, on a running cluster. */
export interface TestWorkspace {
  /** Replaced by {@link restart}. */
  server: WorkspaceServer;
  readonly engine: LabEngine;
  readonly provider: ClusterProvider;
  readonly stateDir: string;
  /** Stops the server and starts a new one on the same port, with a new token (lab shells end). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a workspace server (free port) on the cluster described by `info`, with lab state in a
 * fresh folder so every test file starts from clean workspaces and progress.
 */
export async function startTestWorkspace(info: TestClusterInfo): Promise<TestWorkspace> {
  const provider = embeddedProvider({ stateDir: info.stateDir, portBase: info.portBase, runner: processRunner });
  const stateDir = await mkdtemp(join(tmpdir(), 'daemonset-lab-workspace-state-'));
  const engine = createLabEngine({ provider, stateDir });
  const start = (port: number) => startWorkspaceServer({ engine, provider, distDir: join(REPO_ROOT, 'dist'), stateDir, port });
  const workspace: TestWorkspace = {
    server: await start(0),
    engine,
    provider,
    stateDir,
    async restart() {
      const { port } = workspace.server;
      await workspace.server.close();
      workspace.server = await start(port);
    },
    async close() {
      await workspace.server.close();
      engine.close();
    },
  };
  return workspace;
}

/** Chromium, headless, as the test machines have it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Polls `probe` until it returns a value other than undefined/false; fails naming `what` and the last value. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Opens the start URL, as a learner does, and waits until its page stored the token and moved on. */
export async function openStartUrl(page: Page, server: WorkspaceServer): Promise<void> {
  await page.goto(server.url);
  await page.waitForURL((url) => !url.searchParams.has('token'));
}

/** Opens a lab page after the start URL (which gives the page the token) and waits until it is usable. */
export async function openLab(page: Page, server: WorkspaceServer, labId: string, theme: 'light' | 'dark' = 'dark'): Promise<void> {
  await openStartUrl(page, server);
  await page.evaluate((t) => localStorage.setItem('starlight-theme', t), theme);
  await page.goto(`${server.origin}/labs/${labId}/`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#terminal-state[data-state="connected"]');
}

/** The text on the lab page's terminal screen (xterm's DOM rows). */
export function terminalText(page: Page): Promise<string> {
  return page.locator('#terminal .xterm-rows').innerText();
}

/** A raw terminal client: what a page does, without a browser. */
export class TerminalClient {
  readonly socket: WebSocket;
  output = '';
  received = 0;
  acked = 0;
  autoAck: boolean;
  readonly controls: TerminalServerMessage[] = [];
  readonly #listeners = new Set<() => void>();

  constructor(url: string, options: { token?: string; origin?: string; autoAck?: boolean } = {}) {
    this.autoAck = options.autoAck ?? true;
    this.socket = new WebSocket(url, {
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.origin ? { origin: options.origin } : {}) },
    });
    this.socket.on('message', (data, isBinary) => {
      if (!isBinary) {
        this.controls.push(JSON.parse(String(data)) as TerminalServerMessage);
      } else {
        const bytes = data as Buffer;
        this.output += bytes.toString('utf8');
        this.received += bytes.length;
        if (this.autoAck && this.received - this.acked >= FLOW.ackEvery) this.ack();
      }
      for (const listener of this.#listeners) listener();
    });
  }

  /** Acknowledges everything received so far. */
  ack(): void {
    if (this.received > this.acked) this.send({ type: 'ack', bytes: this.received - this.acked });
    this.acked = this.received;
  }

  send(message: object): void {
    this.socket.send(JSON.stringify(message));
  }

  type(data: string): void {
    this.send({ type: 'input', data });
  }

  /** Resolves when the socket opened, or rejects with the HTTP status of a refused upgrade. */
  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      this.socket.once('error', reject);
    });
  }

  /** Resolves once the output contains `text` (counting from `from`). */
  waitFor(text: string | RegExp, from = 0, timeoutMs = 20_000): Promise<void> {
    const matches = () => (typeof text === 'string' ? this.output.indexOf(text, from) >= 0 : text.test(this.output.slice(from)));
    if (matches()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(check);
        reject(new Error(`Timed out waiting for ${String(text)} in terminal output: …${JSON.stringify(this.output.slice(-400))}`));
      }, timeoutMs);
      const check = () => {
        if (matches()) {
          clearTimeout(timer);
          this.#listeners.delete(check);
          resolve();
        }
      };
      this.#listeners.add(check);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/** The terminal WebSocket URL of a lab on a server. */
export function terminalUrl(server: WorkspaceServer, labId: string): string {
  return `${server.origin.replace(/^http/, 'ws')}/api/labs/${labId}/terminal`;
}

/** What came back on a raw socket: the status line's code, the headers (lower-case) and the body. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends `request` byte for byte over a new TCP connection to 127.0.0.1:`port` and reads the
 * answer until the server closes. Attack tests use it because fetch and browsers normalize what
 * they send (`..`, `%2e%2e`, `//`, header values); an attacker's client does not. The request
 * should say `Connection: close`.
 */
export function rawRequest(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No complete answer within ${timeoutMs} ms to ${JSON.stringify(String(request).slice(0, 80))}`));
    }, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    let failure: Error | undefined;
    // A server that refuses a body stops reading it and closes: writing the rest then fails, but
    // the answer it sent first is still what counts.
    socket.on('error', (error) => (failure = error));
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      if (!status) return reject(new Error(`The server closed the connection without an HTTP answer (got ${JSON.stringify(text.slice(0, 80))}${failure ? `; ${failure.message}` : ''})`));
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers, body: rest.join('\r\n\r\n') });
    });
    socket.write(request);
  });
}

/** Whether the server still answers an authorized API call (after an attack). */
export async function serverAnswers(server: WorkspaceServer): Promise<boolean> {
  const response = await fetch(`${server.origin}/api/labs`, { headers: { authorization: `Bearer ${server.token}` } });
  return response.status === 200;
}

/** Opens a lab's shell over a new socket, runs `echo`, and resolves once its output came back. */
export async function shellEchoes(server: WorkspaceServer, labId: string, word = `alive-${Date.now()}`): Promise<void> {
  const client = new TerminalClient(terminalUrl(server, labId), { token: server.token });
  try {
    await client.opened();
    // Ctrl-U first: an attack may have left text on the shell's line.
    client.send({ type: 'resize', cols: 100, rows: 30 });
    client.type('\x15');
    const from = client.output.length;
    client.type(`echo "${word}:$((20+22))"\r`);
    await client.waitFor(`${word}:42`, from);
  } finally {
    await client.close();
  }
}

/**
 * Records exceptions nobody caught while attacks run. In production such an exception ends the
 * server and every lab shell; under vitest it would only be listed at the end, so attack tests
 * assert after each test that there was none.
 */
export function recordUncaughtErrors(): { readonly errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const record = (error: unknown) => errors.push(error);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    errors,
    stop() {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    },
  };
}

/**
 * Replaces the text of `file` in the lab page's editor by pasting `text`, then saves it, as a
 * learner does. The start file loads after the page: the paste waits for it, or it would land in an
 * empty editor that the file's text then joins; Ctrl+A waits for Monaco to have the focus.
 */
export async function pasteAndSave(page: Page, file: string, text: string): Promise<void> {
  await page.waitForSelector(`.tab[data-path="${file}"]`);
  await until('the start file in the editor', async () => (await page.locator('#editor .view-lines').innerText()).includes('apiVersion'));
  await page.click('#editor .view-lines');
  await page.waitForSelector('#editor .monaco-editor.focused');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.evaluate((pasted) => navigator.clipboard.writeText(pasted), text);
  await page.keyboard.press('Control+V');
  await page.click('#save-btn');
  await page.waitForSelector('#file-state[data-dirty="false"]');
}
