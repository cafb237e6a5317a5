/**
 * The lab side of the lesson bridge (src/components/lesson/lab-bridge.ts): lesson code blocks can
 * run commands in this lab's terminal and open manifests in its editor, in this page
 * (`window.daemonsetLab`) or from another tab (BroadcastChannel).
 */
import {
  LAB_BRIDGE_READY_EVENT,
  LAB_CHANNEL_NAME,
  type DaemonsetLabBridge,
  type LabToLessonMessage,
  type LessonToLabMessage,
} from '../lesson/lab-bridge.ts';

/** Exposes `bridge` to lesson code on this page and in other tabs. */
export function connectLessonBridge(labId: string, bridge: DaemonsetLabBridge): void {
  window.daemonsetLab = bridge;
  window.dispatchEvent(new Event(LAB_BRIDGE_READY_EVENT));
  if (typeof BroadcastChannel === 'undefined') return;
  const labInstanceId = crypto.randomUUID();
  const channel = new BroadcastChannel(LAB_CHANNEL_NAME);
  const post = (message: LabToLessonMessage) => channel.postMessage(message);
  channel.onmessage = (event: MessageEvent<LessonToLabMessage>) => {
    const message = event.data;
    if (typeof message !== 'object' || message === null) return;
    if (message.type === 'ping') post({ type: 'pong', labInstanceId, labId });
    else if (message.type === 'send-to-terminal' && message.target === labInstanceId) {
      bridge.sendToTerminal(String(message.text), { interruptFirst: Boolean(message.interruptFirst) });
    } else if (message.type === 'open-in-editor' && message.target === labInstanceId) {
      bridge.openInEditor(String(message.fileName), String(message.yaml));
    }
  };
  post({ type: 'hello', labInstanceId, labId });
  addEventListener('pagehide', () => post({ type: 'bye', labInstanceId }));
}
