/**
 * File operations of the lab engine on a learner's workspace (copy start files, back up edited
 * ones, write solution files) that never follow a symbolic link. The workspace is shared with the
 * lab shell, where `ln -s ~/.ssh ssh` is one command away: a walk that followed it would move the
 * learner's real keys into .backup/, and a copy through it would overwrite files elsewhere.
 */
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { UsageError } from '../errors.ts';

/** One entry below a workspace: a regular file, or a symlink (never followed, whatever it points at). */
export interface WorkspaceEntry {
  /** Relative to the workspace, "/"-separated. */
  readonly path: string;
  readonly kind: 'file' | 'symlink';
}

/** Every file and symlink below `root`, sorted; folders are entered only when they are real folders. */
export function walkWorkspace(root: string): WorkspaceEntry[] {
  const found: WorkspaceEntry[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split(sep).join('/');
      // Dirent types come from lstat: a symlink to a folder is a symlink here, not a folder.
      if (entry.isSymbolicLink()) found.push({ path: rel, kind: 'symlink' });
      else if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) found.push({ path: rel, kind: 'file' });
    }
  };
  walk(root);
  return found;
}

/**
 * Creates the folders of `relativePath` below `root` and returns the file's absolute path, after
 * checking with lstat that no folder on the way is a symlink (which would lead the write elsewhere).
 */
export function safeTarget(root: string, relativePath: string): string {
  const parts = relativePath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..') || parts.length === 0) throw new UsageError(`"${relativePath}" is not a path inside the workspace.`);
  let current = root;
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    let info;
    try {
      info = lstatSync(current);
    } catch {
      mkdirSync(current);
      continue;
    }
    if (info.isSymbolicLink() || !info.isDirectory()) {
      throw new UsageError(
        `${relative(root, current)} in the lab workspace ${root} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}, so the lab will not write ${relativePath} through it. Remove or rename it (in the lab shell: mv ${relative(root, current)} ${relative(root, current)}.mine), then try again.`,
      );
    }
  }
  return join(root, ...parts);
}

/**
 * Copies `source` to `relativePath` below `root` without following links: written under a
 * temporary name in the real folder, then renamed over the target, which replaces a symlink
 * there instead of writing through it.
 */
export function copyIntoWorkspace(source: string, root: string, relativePath: string): void {
  const target = safeTarget(root, relativePath);
  const temp = join(dirname(target), `.${process.pid}-${Date.now()}.copy.tmp`);
  copyFileSync(source, temp);
  renameSync(temp, target);
}

/** Whether something (a file, a folder, a dangling symlink) is at `path`. */
export function entryExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Moves every workspace entry that is not an untouched start file into `.backup/<stamp>/` (same
 * relative paths). A symlink is moved as a link: what it points at stays where it is. Entries
 * under `skip` prefixes (the backups themselves, solution/) stay. Returns the backup folder, or
 * undefined when nothing needed keeping.
 */
export function backUpEntries(root: string, stamp: string, isUntouchedStartFile: (path: string, content: Buffer) => boolean, skip: readonly string[]): string | undefined {
  let moved = 0;
  for (const entry of walkWorkspace(root)) {
    if (skip.some((prefix) => entry.path.startsWith(prefix))) continue;
    const absolute = join(root, entry.path);
    if (entry.kind === 'file' && isUntouchedStartFile(entry.path, readFileSync(absolute))) continue;
    // Through safeTarget: a learner's `.backup` symlink must not carry the files elsewhere either.
    renameSync(absolute, safeTarget(root, `.backup/${stamp}/${entry.path}`));
    moved += 1;
  }
  return moved ? join(root, '.backup', stamp) : undefined;
}
