/**
 * Writing a file so that a crash (kill -9, a power cut) leaves either the old content or the new,
 * never half of it: the content goes to a temporary file beside the target, is flushed to disk,
 * and is renamed over the target; then the folder itself is flushed so the rename survives.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temporary files of {@link writeFileAtomic} end with this; {@link removeStaleTemporaries} knows them by it. */
export const TEMPORARY_SUFFIX = '.daemonset-lab-tmp';

/** State files (progress, kubeconfigs, the saved engine) are private to the user. */
export const PRIVATE_FILE_MODE = 0o600;

/** A temporary name beside `file`: hidden, unique per write, recognisable after a crash. */
function temporaryName(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}${TEMPORARY_SUFFIX}`);
}

/** Flushes a folder's entries (the rename) to disk; some file systems refuse, which changes nothing. */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every file system lets a folder be opened or flushed; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Replaces `file` with `content` atomically and durably. `mode` applies to the new file (default
 * 0600: a state file); the folder must exist.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array, mode: number = PRIVATE_FILE_MODE): Promise<void> {
  const temp = temporaryName(file);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, file);
  syncFolder(dirname(file));
}

/** {@link writeFileAtomic}, synchronously (for callers that are synchronous). */
export function writeFileAtomicSync(file: string, content: string | Uint8Array, mode: number = PRIVATE_FILE_MODE): void {
  const temp = temporaryName(file);
  const fd = openSync(temp, 'wx', mode);
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temp, file);
  syncFolder(dirname(file));
}

/**
 * Removes the temporary files a killed writer left in `dir` and its sub-folders (never following
 * a symlink). Call it at start, before any write of this process can be in flight.
 */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (folder: string) => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isFile() && entry.name.endsWith(TEMPORARY_SUFFIX)) {
        await rm(path, { force: true });
        removed.push(path);
      } else if (entry.isDirectory() && !entry.isSymbolicLink()) await walk(path);
    }
  };
  await walk(dir);
  return removed;
}
