/**
 * Progress for long steps on the command line: what is happening and for how long.
 * On a terminal the line updates in place; elsewhere (CI logs) a line is printed every 30 s,
 * so a build of tens of minutes never looks hung.
 */

/** Formats milliseconds as "0.19ms", "850ms", "12.3s" or "4m05s". */
export function formatDuration(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/** Where progress lines go; stderr, so that `cluster env` output on stdout stays clean for eval. */
export interface ProgressSink {
  write(text: string): void;
  readonly isTTY?: boolean;
}

/**
 * Runs `work` while showing `label` and the elapsed time; prints a ✓ or ✗ line at the end: ✗ when
 * it throws, or when `succeeded` says its result is a failure (a lab that did not verify).
 * `detail` may be updated by the work (e.g. the last line of a build log) to show what it does now.
 */
export async function withProgress<T>(
  label: string,
  work: (setDetail: (detail: string) => void) => Promise<T>,
  sink: ProgressSink = process.stderr,
  succeeded: (result: T) => boolean = () => true,
): Promise<T> {
  const started = Date.now();
  let detail = '';
  const interactive = Boolean(sink.isTTY);
  const render = () => {
    const elapsed = formatDuration(Date.now() - started);
    const suffix = detail ? ` · ${detail.slice(0, 60)}` : '';
    if (interactive) sink.write(`\r\x1b[2K… ${label} (${elapsed})${suffix}`);
    else sink.write(`… ${label} (${elapsed})${suffix}\n`);
  };
  if (interactive) render();
  else sink.write(`… ${label}\n`);
  const timer = setInterval(render, interactive ? 1000 : 30_000);
  try {
    const result = await work((next) => {
      detail = next;
    });
    const line = `${succeeded(result) ? '✓' : '✗'} ${label} (${formatDuration(Date.now() - started)})\n`;
    sink.write(interactive ? `\r\x1b[2K${line}` : line);
    return result;
  } catch (error) {
    const line = `✗ ${label} (${formatDuration(Date.now() - started)})\n`;
    sink.write(interactive ? `\r\x1b[2K${line}` : line);
    throw error;
  } finally {
    clearInterval(timer);
  }
}
