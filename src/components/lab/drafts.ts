/**
 * Unsaved editor text, kept in localStorage per lab and file, so it survives a reload and a server
 * restart. No Monaco here: the page drops a lab's drafts on reset whether or not its editor loaded.
 */

/** The localStorage key of a file's unsaved text. */
function draftKey(labId: string, path: string): string {
  return `daemonset-lab:draft:${labId}:${path}`;
}

/** Unsaved text of a file, with the saved text it started from. */
export interface Draft {
  text: string;
  base: string;
}

/** A file's unsaved text, if the browser kept any (unreadable storage counts as none). */
export function readDraft(labId: string, path: string): Draft | undefined {
  try {
    const raw = localStorage.getItem(draftKey(labId, path));
    return raw ? (JSON.parse(raw) as Draft) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps a file's unsaved text; no draft, or text equal to the saved text, removes it. */
export function writeDraft(labId: string, path: string, draft: Draft | undefined): void {
  try {
    if (draft === undefined || draft.text === draft.base) localStorage.removeItem(draftKey(labId, path));
    else localStorage.setItem(draftKey(labId, path), JSON.stringify(draft));
  } catch {
    // Storage full or disabled: the text stays in the editor, only the reload safety is lost.
  }
}

/** Drops every unsaved draft of a lab (its reset brings the start files back). */
export function dropDrafts(labId: string): void {
  try {
    const prefix = draftKey(labId, '');
    const keys = Array.from({ length: localStorage.length }, (_, index) => localStorage.key(index)).filter((key) => key?.startsWith(prefix));
    for (const key of keys) localStorage.removeItem(key!);
  } catch {
    // Storage disabled: there are no drafts to drop.
  }
}
