/**
 * The contract between lesson pages and a lab workspace (terminal + editor).
 *
 * A lesson's code blocks can push a command to the lab terminal or a manifest
 * to the lab editor. Two transports are supported, tried in this order:
 *
 * 1. **In-page bridge** — a lab page that renders lesson content in the same
 *    document assigns an object implementing {@link DaemonsetLabBridge} to
 *    `window.daemonsetLab`, then dispatches {@link LAB_BRIDGE_READY_EVENT} on
 *    `window` so that already-loaded lesson scripts notice it.
 * 2. **Cross-tab channel** — a lab page open in another tab of the same origin
 *    listens on `new BroadcastChannel(LAB_CHANNEL_NAME)`. Lessons send
 *    `{ type: 'ping' }`; every lab answers `{ type: 'pong', ... }` and announces
 *    itself unprompted with `hello` when it opens and `bye` when it closes.
 *    Commands carry a `target` so that only one lab (the most recent to speak)
 *    acts on them even when several lab tabs are open.
 *
 * This module holds only types and constants so the lab side can import it
 * without pulling in any lesson code.
 */

/** The object a lab page exposes as `window.daemonsetLab`. */
export interface DaemonsetLabBridge {
  /**
   * Types `text` into the lab terminal. The text is sent as-is; lessons end it
   * with a newline so the shell runs it.
   * @param opts.interruptFirst send Ctrl-C (`\x03`) before the text, to stop a
   *   running foreground command such as `kubectl get pods -w`.
   */
  sendToTerminal(text: string, opts: { interruptFirst: boolean }): void;
  /**
   * Opens `yaml` in the lab editor as a file called `fileName`
   * (e.g. `nginx-daemonset.yaml`), creating or replacing that file.
   */
  openInEditor(fileName: string, yaml: string): void;
}

declare global {
  interface Window {
    /** Present only on pages that host a lab workspace. */
    daemonsetLab?: DaemonsetLabBridge;
  }
}

/** Name of the BroadcastChannel shared by lesson pages and lab pages. */
export const LAB_CHANNEL_NAME = 'daemonset-lab';

/** Event a lab page dispatches on `window` after assigning `window.daemonsetLab`. */
export const LAB_BRIDGE_READY_EVENT = 'daemonset-lab:ready';

/** Messages lesson pages post on the channel. */
export type LessonToLabMessage =
  | { type: 'ping' }
  | {
      type: 'send-to-terminal';
      /** `labInstanceId` of the lab that should act; other labs ignore the message. */
      target: string;
      text: string;
      interruptFirst: boolean;
    }
  | {
      type: 'open-in-editor';
      /** `labInstanceId` of the lab that should act; other labs ignore the message. */
      target: string;
      fileName: string;
      yaml: string;
    };

/** Messages lab pages post on the channel. */
export type LabToLessonMessage =
  | {
      /** `pong` answers a ping; `hello` is sent unprompted when a lab page opens. */
      type: 'pong' | 'hello';
      /** Unique per lab tab, e.g. `crypto.randomUUID()`. */
      labInstanceId: string;
      /** The lab's id, e.g. `first-daemonset`. */
      labId: string;
    }
  | {
      /** Sent when a lab page closes (`pagehide`). */
      type: 'bye';
      labInstanceId: string;
    };

/** Type guard for messages received from a lab page. */
export function isLabToLessonMessage(data: unknown): data is LabToLessonMessage {
  if (typeof data !== 'object' || data === null) return false;
  const message = data as Record<string, unknown>;
  if (typeof message.labInstanceId !== 'string') return false;
  if (message.type === 'bye') return true;
  return (message.type === 'pong' || message.type === 'hello') && typeof message.labId === 'string';
}
