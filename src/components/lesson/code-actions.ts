/**
 * Adds lab buttons under the lesson's code blocks:
 *
 * - shell blocks: "Run in terminal" and "Ctrl-C, then run";
 * - YAML blocks: "Open in editor".
 *
 * The buttons stay hidden until a lab workspace is reachable, either in this
 * page (`window.daemonsetLab`) or in another tab through the
 * `daemonset-lab` BroadcastChannel. See `lab-bridge.ts` for the protocol.
 *
 * Kept dependency-free and small: it runs on every lesson page.
 */
import {
  LAB_BRIDGE_READY_EVENT,
  LAB_CHANNEL_NAME,
  isLabToLessonMessage,
  type DaemonsetLabBridge,
  type LessonToLabMessage,
} from './lab-bridge.ts';

const SHELL_LANGUAGES = new Set(['bash', 'sh', 'shell', 'shellscript', 'zsh']);
const YAML_LANGUAGES = new Set(['yaml', 'yml']);

/**
 * A `<name>` placeholder such as `<pod-name>` outside a comment. Such blocks
 * are templates, not commands: running them would make the shell try to read
 * a file called `pod-name`, so they get no run buttons.
 */
const PLACEHOLDER = /<[a-z][\w.-]*>/i;

/** Labs that spoke on the channel (instance id → time last heard), in the order they last spoke. */
const labsOnChannel = new Map<string, number>();
/** How long a lab gets to answer a ping before it is considered gone. */
const PING_TIMEOUT_MS = 1000;
/** Opened by {@link start} on lesson pages only. */
let channel: BroadcastChannel | undefined;

/** Toolbars added by {@link enhanceCodeBlocks}, shown only while a lab is reachable. */
const toolbars: HTMLElement[] = [];

/** The lab to talk to: an in-page bridge wins over a lab in another tab. */
function findLab(): DaemonsetLabBridge | undefined {
  if (window.daemonsetLab) return window.daemonsetLab;
  const target = [...labsOnChannel.keys()].at(-1);
  const labChannel = channel;
  if (!labChannel || target === undefined) return undefined;
  const post = (message: LessonToLabMessage) => labChannel.postMessage(message);
  return {
    sendToTerminal: (text, { interruptFirst }) =>
      post({ type: 'send-to-terminal', target, text, interruptFirst }),
    openInEditor: (fileName, yaml) => post({ type: 'open-in-editor', target, fileName, yaml }),
  };
}

function updateToolbars(): void {
  const hidden = findLab() === undefined;
  for (const toolbar of toolbars) toolbar.hidden = hidden;
}

/** The exact source of a code block, as Expressive Code's copy button would copy it. */
function codeOf(figure: Element): string {
  const copyButton = figure.querySelector<HTMLElement>('.copy button[data-code]');
  // Expressive Code encodes line breaks in data-code as U+007F.
  if (copyButton?.dataset.code !== undefined) return copyButton.dataset.code.replace(/\u007f/g, '\n');
  return [...figure.querySelectorAll('.ec-line')].map((line) => line.textContent ?? '').join('\n');
}

/** True when the block contains a `<placeholder>` on a line that is not a comment. */
function hasPlaceholder(shellCode: string): boolean {
  return shellCode.split('\n').some((line) => !line.trimStart().startsWith('#') && PLACEHOLDER.test(line));
}

/**
 * A file name for a YAML block: its Expressive Code title (taken from a
 * leading `# name.yaml` comment), else `<metadata.name>.yaml`, else a name
 * derived from the page and the block's position.
 */
function yamlFileName(figure: Element, yaml: string, index: number): string {
  const title = figure.querySelector('.title')?.textContent?.trim() ?? '';
  if (/\.ya?ml$/.test(title)) return title.split('/').at(-1) ?? title;
  const name = /^metadata:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:\s*["']?([\w.-]+)/m.exec(yaml)?.[1];
  if (name) return `${name}.yaml`;
  const page = location.pathname.split('/').filter(Boolean).at(-1) ?? 'lesson';
  return `${page}-snippet-${index}.yaml`;
}

function makeButton(
  label: string,
  description: string,
  send: (lab: DaemonsetLabBridge) => void,
  status: HTMLElement,
): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'lab-code-actions__button';
  button.textContent = label;
  button.title = description;
  button.addEventListener('click', () => {
    const lab = findLab();
    if (!lab) {
      updateToolbars();
      return;
    }
    send(lab);
    status.textContent = '';
    // Re-set on the next frame so screen readers announce repeated clicks too.
    requestAnimationFrame(() => (status.textContent = 'Sent to the lab.'));
  });
  return button;
}

function enhanceCodeBlocks(): void {
  let yamlIndex = 0;
  for (const figure of document.querySelectorAll('.sl-markdown-content .expressive-code figure')) {
    if (figure.parentElement?.querySelector(':scope > .lab-code-actions')) continue;
    const language = figure.querySelector('pre')?.dataset.language ?? '';
    const code = codeOf(figure).replace(/\n+$/, '');
    if (!code) continue;

    const toolbar = document.createElement('div');
    toolbar.className = 'lab-code-actions';
    toolbar.hidden = true;
    const status = document.createElement('span');
    status.className = 'lab-code-actions__status';
    status.setAttribute('role', 'status');

    if (SHELL_LANGUAGES.has(language) && !hasPlaceholder(code)) {
      // The trailing newline is the Enter key that makes the shell run it.
      const command = `${code}\n`;
      toolbar.append(
        makeButton(
          'Run in terminal',
          'Type this command into the lab terminal and run it',
          (lab) => lab.sendToTerminal(command, { interruptFirst: false }),
          status,
        ),
        makeButton(
          'Ctrl-C, then run',
          'Stop whatever is running in the lab terminal, then run this command',
          (lab) => lab.sendToTerminal(command, { interruptFirst: true }),
          status,
        ),
      );
    } else if (YAML_LANGUAGES.has(language)) {
      const fileName = yamlFileName(figure, code, ++yamlIndex);
      toolbar.append(
        makeButton(
          'Open in editor',
          `Open this manifest in the lab editor as ${fileName}`,
          (lab) => lab.openInEditor(fileName, `${code}\n`),
          status,
        ),
      );
    } else {
      continue;
    }
    toolbar.append(status);
    figure.after(toolbar);
    toolbars.push(toolbar);
  }
  updateToolbars();
}

function pingLabs(): void {
  channel?.postMessage({ type: 'ping' } satisfies LessonToLabMessage);
}

/** Wires the page to the lab transports and adds the buttons. */
function start(): void {
  channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(LAB_CHANNEL_NAME) : undefined;
  channel?.addEventListener('message', (event: MessageEvent<unknown>) => {
    const message = event.data;
    if (!isLabToLessonMessage(message)) return;
    // Delete first so that re-inserting moves this lab to the end: the most recent speaker wins.
    labsOnChannel.delete(message.labInstanceId);
    if (message.type !== 'bye') labsOnChannel.set(message.labInstanceId, Date.now());
    updateToolbars();
  });

  window.addEventListener(LAB_BRIDGE_READY_EVENT, updateToolbars);
  // A lab tab may have closed without a `bye` (crashed or killed tab). Whenever the learner
  // comes back to this tab, ask again and forget the labs that stay silent.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    const pingedAt = Date.now();
    pingLabs();
    setTimeout(() => {
      for (const [labInstanceId, heardAt] of labsOnChannel) {
        if (heardAt < pingedAt) labsOnChannel.delete(labInstanceId);
      }
      updateToolbars();
    }, PING_TIMEOUT_MS);
  });

  enhanceCodeBlocks();
  pingLabs();
}

// LessonContent.astro renders this marker on lesson pages only.
if (document.querySelector('[data-lesson-code-actions]')) start();
