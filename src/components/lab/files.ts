/**
 * The lab page's editor side: the workspace's files in Monaco, their tabs, Save and Apply, the
 * problems list and the solution diff. Monaco is most of the page's script, so the page loads this
 * module after its shell is on the way (workspace.ts): the terminal does not wait for the editor.
 */
import type { LabSummary } from '../../shared/lab-summary.ts';
import type { ApplyResponse, SolutionFile, WorkspaceFile } from '../../shared/workspace-protocol.ts';
import { rovingTabIndex } from './a11y.ts';
import { api, LabApiError, post } from './api.ts';
import { readDraft, writeDraft } from './drafts.ts';
import { configureYaml, createDiff, createEditor, fileUri, monaco, problemsOf, setEditorTheme } from './editor.ts';
import { el } from './render.ts';

type Theme = 'light' | 'dark';

/** What the editor side needs from the page around it. */
export interface FilesPage {
  readonly labId: string;
  /** The lab, once the server described it (its start files come first in the tabs). */
  readonly lab: () => LabSummary | undefined;
  readonly theme: () => Theme;
  readonly showError: (error: unknown) => void;
}

/** The editor side of a lab page, as the page drives it. */
export interface LabFiles {
  /** Loads the workspace's manifests into tabs; a file with unsaved text keeps it. */
  loadFiles(): Promise<void>;
  /** After a reset (the page dropped the drafts): shows the server's files again. */
  reloadAfterReset(): Promise<void>;
  /** Opens text in the editor as a file, creating or replacing it (unsaved until Save/Apply). */
  openInEditor(path: string, text: string): void;
  /** Shows the editor (not the map) and puts the focus in it. */
  focus(): void;
  /** Marks the file tabs (and the map tab) as selected or not, after the map was shown or hidden. */
  renderTabs(): void;
  setTheme(theme: Theme): void;
  setAriaLabel(label: string): void;
  /** Validates against the cluster's schema, or YAML syntax only while it cannot be read. */
  loadSchema(): Promise<void>;
  /** Opens the dialog with the reference solution beside the learner's files. */
  showSolution(): Promise<void>;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** Creates the editor in the page's editor area and wires its buttons. */
export function openFiles(page: FilesPage): LabFiles {
  const { labId } = page;
  /** Open files: path → the text last saved on the server. */
  const saved = new Map<string, string>();
  let currentPath: string | undefined;
  $('editor').replaceChildren();
  delete $('editor').dataset.loading;
  const editor = createEditor($('editor'), page.theme());

  const isDirty = (path: string) => {
    const model = monaco.editor.getModel(fileUri(labId, path));
    return model !== null && model.getValue() !== saved.get(path);
  };

  function renderTabs(): void {
    const paths = [...saved.keys()];
    $('file-tabs').replaceChildren(...paths.map((path, index) => fileTab(path, index)));
    $('map-tab').setAttribute('aria-selected', String(!$('map').hidden));
    rovingTabIndex($('tabs'));
    const selected = $('file-tabs').querySelector('[aria-selected="true"]');
    if (selected) $('editor-area').setAttribute('aria-labelledby', selected.id);
    const state = $('file-state');
    state.textContent = currentPath ? (isDirty(currentPath) ? 'Unsaved changes' : 'Saved') : '';
    state.dataset.dirty = String(currentPath !== undefined && isDirty(currentPath));
  }

  function fileTab(path: string, index: number): HTMLButtonElement {
    const tab = el('button', 'tab', path);
    tab.type = 'button';
    tab.setAttribute('role', 'tab');
    tab.dataset.path = path;
    tab.setAttribute('aria-selected', String(path === currentPath && $('map').hidden));
    tab.setAttribute('aria-controls', 'editor-area');
    tab.id = `file-tab-${index}`;
    if (isDirty(path)) tab.append(el('span', 'tab__dirty', ' ●'));
    tab.onclick = () => openFile(path);
    return tab;
  }

  function ensureModel(path: string, text: string): monaco.editor.ITextModel {
    const uri = fileUri(labId, path);
    const model = monaco.editor.getModel(uri) ?? monaco.editor.createModel(text, 'yaml', uri);
    if (model.getValue() !== text) model.setValue(text);
    return model;
  }

  /** A file's text on the server ('' for a file not written yet). */
  async function fetchFile(path: string): Promise<string> {
    try {
      return await api<string>(`/api/labs/${labId}/files/${encodePath(path)}`);
    } catch (error) {
      if (!(error instanceof LabApiError && error.status === 404)) throw error;
      return '';
    }
  }

  /** Shows a file as loaded: the server's text, or the unsaved draft kept from before a reload. */
  function showLoaded(path: string, text: string): void {
    saved.set(path, text);
    const draft = readDraft(labId, path);
    ensureModel(path, draft && draft.text !== text ? draft.text : text);
  }

  /** Makes a file the editor's, without showing the editor (the map may be showing). */
  function selectFile(path: string): void {
    currentPath = path;
    editor.setModel(monaco.editor.getModel(fileUri(labId, path)));
    $('file-name').textContent = path;
  }

  /** Shows a file in the editor; `focus` puts the keyboard focus in it (not when the page opens). */
  function openFile(path: string, focus = true): void {
    selectFile(path);
    $('map').hidden = true;
    $('editor-area').hidden = false;
    // While hidden the editor measured 0 px; lay it out now, not on the next resize tick.
    editor.layout();
    renderTabs();
    renderProblems();
    if (focus) editor.focus();
  }

  /** Loads the workspace's manifests; `replaceUnsaved` (after a reset) also replaces unsaved text and open tabs. */
  async function loadFiles(replaceUnsaved = false): Promise<void> {
    const files = await api<WorkspaceFile[]>(`/api/labs/${labId}/files`);
    const listed = files.filter((f) => /\.ya?ml$/.test(f.path) && !f.path.startsWith('solution/')).map((f) => f.path);
    const paths = [...new Set([...(page.lab()?.startFiles ?? []), ...listed])];
    // Fetched at once, each once, shown in the listed order (the tabs keep it).
    const fetched = replaceUnsaved ? [...new Set([...saved.keys(), ...paths])] : paths.filter((path) => !isDirty(path));
    const texts = await Promise.all(fetched.map(fetchFile));
    fetched.forEach((path, index) => showLoaded(path, texts[index]!));
    // Opening the page leaves the focus at its start (skip links first), not inside the editor, and
    // the map where it is if the learner opened it before the editor had loaded.
    if (!currentPath && paths[0]) {
      if ($('map').hidden) openFile(paths[0], false);
      else selectFile(paths[0]);
    }
    renderTabs();
  }

  async function save(): Promise<boolean> {
    const path = currentPath;
    const model = editor.getModel();
    if (!path || !model) return false;
    const text = model.getValue();
    try {
      await api(`/api/labs/${labId}/files/${encodePath(path)}`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: text });
      saved.set(path, text);
      writeDraft(labId, path, undefined);
      renderTabs();
      return true;
    } catch (error) {
      // The text stays in the editor and in the draft: nothing is lost.
      page.showError(error);
      return false;
    }
  }

  async function apply(): Promise<void> {
    if (!currentPath || !(await save())) return;
    const box = $('apply-result');
    box.hidden = false;
    box.dataset.ok = '';
    box.textContent = `Applying ${currentPath}…`;
    try {
      const result = await post<ApplyResponse>(`/api/labs/${labId}/apply`, { path: currentPath });
      box.dataset.ok = String(result.ok);
      box.replaceChildren(
        el('strong', undefined, result.ok ? 'Applied. ' : 'The API server refused: '),
        ...result.results.map((r) => el('div', `apply-result__line ${r.ok ? '' : 'is-error'}`, `${r.object} ${r.message}`)),
      );
    } catch (error) {
      box.dataset.ok = 'false';
      box.textContent = error instanceof LabApiError ? `${error.message}${error.fix ? ` — ${error.fix}` : ''}` : String(error);
    }
  }

  function renderProblems(): void {
    const model = editor.getModel();
    const problems = model ? problemsOf(model) : [];
    $('problems').replaceChildren(
      ...problems.slice(0, 20).map((p) => {
        const item = el('li', `problem problem--${p.severity}`);
        const link = el('button', 'problem__pos', `Line ${p.line}, column ${p.column}`);
        link.type = 'button';
        link.onclick = () => {
          editor.setPosition({ lineNumber: p.line, column: p.column });
          editor.revealLineInCenter(p.line);
          editor.focus();
        };
        item.append(link, el('span', undefined, ` ${p.message}`));
        return item;
      }),
    );
  }

  function openInEditor(path: string, text: string): void {
    if (!saved.has(path)) saved.set(path, '');
    const model = ensureModel(path, text);
    writeDraft(labId, path, { text: model.getValue(), base: saved.get(path) ?? '' });
    openFile(path);
  }

  editor.onDidChangeModelContent(() => {
    if (!currentPath) return;
    writeDraft(labId, currentPath, { text: editor.getValue(), base: saved.get(currentPath) ?? '' });
    renderTabs();
  });
  monaco.editor.onDidChangeMarkers(() => renderProblems());
  editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => void save());
  editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, () => void apply());
  $('save-btn').onclick = () => void save();
  $('apply-btn').onclick = () => void apply();
  $('new-file').onclick = () => {
    const name = prompt('New file name (in the lab workspace):', 'daemonset.yaml');
    if (name) openInEditor(name, '');
  };

  let diffEditor: monaco.editor.IStandaloneDiffEditor | undefined;
  async function showSolution(): Promise<void> {
    const files = await api<SolutionFile[]>(`/api/labs/${labId}/solution`);
    const picker = $('solution-files');
    const show = (file: SolutionFile) => {
      diffEditor?.dispose();
      const mine = monaco.editor.getModel(fileUri(labId, file.path))?.getValue() ?? saved.get(file.path) ?? '';
      diffEditor = createDiff($('diff'), labId, file.path, mine, file.content, page.theme());
      picker.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.path === file.path)));
    };
    picker.replaceChildren(
      ...files.map((file) => {
        const button = el('button', 'tab', file.path);
        button.type = 'button';
        button.dataset.path = file.path;
        button.onclick = (event) => {
          event.preventDefault();
          show(file);
        };
        return button;
      }),
    );
    $<HTMLDialogElement>('solution-dialog').showModal();
    const first = files.find((f) => f.path === currentPath) ?? files[0];
    if (first) show(first);
    else $('diff').textContent = 'This lab has no solution files.';
  }

  return {
    loadFiles: () => loadFiles(),
    reloadAfterReset: () => loadFiles(true),
    openInEditor,
    focus() {
      if (currentPath && !$('map').hidden) openFile(currentPath);
      else editor.focus();
    },
    renderTabs,
    setTheme: setEditorTheme,
    setAriaLabel: (ariaLabel) => editor.updateOptions({ ariaLabel }),
    async loadSchema() {
      try {
        configureYaml(await api<object>('/api/schema'));
      } catch {
        // No schema yet (cluster never reached): YAML syntax is still checked.
        configureYaml(undefined);
      }
    },
    showSolution,
  };
}
