/**
 * The lab workspace's files, confined to the workspace: relative paths only, no `..`, and no
 * symlink (or symlinked folder) that leads outside. The terminal sees the same files.
 */
import { lstat, mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { writeFileAtomic } from '../atomic-file.ts';
import type { WorkspaceFile } from '../../shared/workspace-protocol.ts';
import { HttpError } from './http-error.ts';

/** Largest file the editor may read or write. */
export const MAX_FILE_BYTES = 512 * 1024;

/** A new file the learner makes: theirs to read and write, as an editor would create it. */
const LEARNER_FILE_MODE = 0o644;

/** Folders not listed: shell history and caches the terminal makes. */
const HIDDEN = /^\./;

/**
 * Resolves a workspace-relative path to an absolute one inside `root`, or throws 400/403.
 * Checks the real path of the deepest existing ancestor, so a symlink pointing out is refused
 * even when the file itself does not exist yet.
 */
export async function confinedPath(root: string, path: string): Promise<string> {
  if (path === '' || path.includes('\0')) throw new HttpError(400, `File path "${path}" is empty or invalid`, 'Name a file in the lab workspace, e.g. daemonset.yaml.');
  if (isAbsolute(path) || /^[a-zA-Z]:/.test(path)) {
    throw new HttpError(403, `File path "${path}" is absolute; only files in the lab workspace can be opened`, 'Use a path relative to the workspace, e.g. daemonset.yaml.');
  }
  const parts = path.split(/[\\/]/);
  if (parts.includes('..')) {
    throw new HttpError(403, `File path "${path}" leaves the lab workspace ("..")`, 'Use a path inside the workspace, without "..".');
  }
  const named = parts.filter((p) => p !== '' && p !== '.');
  // "./" or "/" alone name the workspace itself: there is no file to read or write (and a write
  // would put its temporary file in the workspace's parent).
  if (named.length === 0) throw new HttpError(400, `File path "${path}" names no file`, 'Name a file in the lab workspace, e.g. daemonset.yaml.');
  const realRoot = await realpath(root);
  const target = join(realRoot, ...named);
  // Walk up to the deepest part that exists and check where it really is.
  let existing = target;
  for (;;) {
    try {
      await lstat(existing);
      break;
    } catch {
      existing = dirname(existing);
    }
  }
  const real = await realpath(existing);
  const inside = relative(realRoot, real);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new HttpError(403, `File path "${path}" leads outside the lab workspace through a symlink`, 'Open files that live in the workspace itself.');
  }
  return target;
}

/** Lists the workspace's files (not hidden ones), sorted by path. */
export async function listFiles(root: string): Promise<WorkspaceFile[]> {
  const files: WorkspaceFile[] = [];
  const walk = async (dir: string) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (HIDDEN.test(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const info = await stat(path);
        files.push({ path: relative(root, path).split(sep).join('/'), size: info.size, modifiedAt: info.mtime.toISOString() });
      }
    }
  };
  await walk(root);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Reads a workspace file as text; 404 when missing, 413 when too big for the editor. */
export async function readWorkspaceFile(root: string, path: string): Promise<string> {
  const file = await confinedPath(root, path);
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new HttpError(404, `File "${path}" does not exist in the lab workspace`, 'Create it from the editor (New file) or the terminal.');
  }
  if (!info.isFile()) throw new HttpError(400, `"${path}" is not a file`, 'Open a file, not a folder.');
  if (info.size > MAX_FILE_BYTES) {
    throw new HttpError(413, `File "${path}" is ${info.size} bytes; the editor opens files up to ${MAX_FILE_BYTES} bytes`, 'Use the terminal for big files.');
  }
  return readFile(file, 'utf8');
}

/**
 * Writes a workspace file atomically and durably (temp file, fsync, rename), creating folders: a
 * server killed mid-save leaves the old text or the new, never half; its mode is kept.
 */
export async function writeWorkspaceFile(root: string, path: string, content: string): Promise<WorkspaceFile> {
  if (Buffer.byteLength(content) > MAX_FILE_BYTES) {
    throw new HttpError(413, `File "${path}" would be ${Buffer.byteLength(content)} bytes; files are limited to ${MAX_FILE_BYTES} bytes`, 'Split the manifest into smaller files.');
  }
  const file = await confinedPath(root, path);
  await mkdir(dirname(file), { recursive: true });
  // Re-check after mkdir: a folder created in between must still be inside.
  await confinedPath(root, path);
  const existing = await lstat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw new HttpError(400, `"${path}" is a folder`, 'Name a file inside it, e.g. ' + `${path.replace(/\/$/, '')}/daemonset.yaml.`);
  await writeFileAtomic(file, content, existing ? existing.mode & 0o7777 : LEARNER_FILE_MODE);
  const info = await stat(file);
  return { path: relative(await realpath(root), file).split(sep).join('/'), size: info.size, modifiedAt: info.mtime.toISOString() };
}
