/**
 * The lab page: wires the instructions and live checks, the editor, the map, the terminal, the
 * cluster status and the lesson bridge to the workspace server. Imports only browser code and
 * shared schemas (src/shared), never server code.
 */
import type { LabReport } from '../../shared/lab-results.ts';
import { LabReportSchema } from '../../shared/lab-results.ts';
import type { LabProgress, LabSummary } from '../../shared/lab-summary.ts';
import {
  LiveEventSchema,
  type ApplyResponse,
  type ClusterInfo,
  type DaemonSetMap,
  type SolutionFile,
  type WorkspaceFile,
} from '../../shared/workspace-protocol.ts';
import { checkAnnouncer, focusableWhileScrolling, keepCodeScrollable, rovingTabIndex, screenReaderModeWanted, wireScreenReaderButton, wireSkipLinks, wireTabKeyButtons, wireTabList } from './a11y.ts';
import { api, LabApiError, openSocket, post } from './api.ts';
import { connectLessonBridge } from './bridge.ts';
import { configureYaml, createDiff, createEditor, fileUri, monaco, problemsOf, readDraft, setEditorTheme, tabKey, writeDraft } from './editor.ts';
import { el, renderMap, renderSteps } from './render.ts';
import { progressLine } from './progress.ts';
import { makeSplitter } from './split.ts';
import { LabTerminal } from './terminal.ts';

const labId = document.body.dataset.labId!;
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const theme = () => (document.documentElement.dataset.theme === 'light' ? 'light' : 'dark');

let lab: LabSummary | undefined;
let report: LabReport | undefined;
/** The latest report whose checks ran: shown (as last known) while the cluster is away. */
let lastChecked: LabReport | undefined;
let progress: LabProgress | undefined;
let map: DaemonSetMap | undefined;
let cluster: ClusterInfo | undefined;
let serverReachable = true;

/** Open files: path → the text last saved on the server. */
const saved = new Map<string, string>();
let currentPath: string | undefined;

const editor = createEditor($('editor'), theme());
/** Settles once the page's start of the lab has (main below); the shell opens only then. */
let labStartSettled: () => void = () => undefined;
const labStarted = new Promise<void>((resolve) => (labStartSettled = resolve));
const terminal = new LabTerminal(labId, $('terminal'), (state, detail) => {
  const labels = { connecting: 'connecting…', connected: 'connected', reconnecting: 'reconnecting…', 'taken-over': 'open in another tab' };
  const node = $('terminal-state');
  node.textContent = detail ? `${labels[state]} — ${detail}` : labels[state];
  node.dataset.state = state;
  if (state === 'taken-over') {
    node.replaceChildren(el('span', undefined, `${detail} `));
    const button = el('button', 'btn btn--small', 'Use it here');
    button.type = 'button';
    button.onclick = () => terminal.reconnect();
    node.append(button);
  }
}, { screenReaderMode: screenReaderModeWanted(), tabKey, connectAfter: labStarted });

// ---- status line and banner ---------------------------------------------------------------

function say(text: string, kind: 'info' | 'error' = 'info'): void {
  const node = $('action-status');
  node.textContent = text;
  node.dataset.kind = kind;
}

function showError(error: unknown): void {
  if (error instanceof LabApiError) say(`${error.message}${error.fix ? ` — ${error.fix}` : ''}`, 'error');
  else say(String(error), 'error');
}

let unauthorized = false;

/** The page lacks the server's current token (never had it, or the server restarted). */
function showUnauthorized(): void {
  unauthorized = true;
  document.body.dataset.ready = 'unauthorized';
  renderBanner();
}

function renderBanner(): void {
  const banner = $('banner');
  const action = $<HTMLButtonElement>('banner-action');
  let text: string | undefined;
  let button: string | undefined;
  if (unauthorized) text = 'This page needs the lab server’s token. Open the URL that `npm start` printed (it ends in ?token=…); your unsaved editor text is kept.';
  else if (!serverReachable) text = 'The lab server does not answer. Start it again (npm start); this page reconnects by itself.';
  else if (cluster && cluster.state !== 'running') {
    text = cluster.state === 'starting' ? 'The cluster is starting… this page continues by itself.' : `The cluster is down. ${cluster.fix?.message ?? ''} Checks and the map resume by themselves.`;
    button = cluster.state === 'down' && cluster.fix?.action === 'cluster-up' ? 'Start the cluster' : undefined;
  } else if (report?.environment) text = `${report.environment.message} — Fix: ${report.environment.fix}`;
  banner.hidden = text === undefined;
  banner.dataset.kind = cluster?.state ?? 'down';
  $('banner-text').textContent = text ?? '';
  action.hidden = button === undefined;
  action.textContent = button ?? '';
}

$('banner-action').onclick = async () => {
  $<HTMLButtonElement>('banner-action').disabled = true;
  try {
    cluster = await post<ClusterInfo>('/api/cluster/up');
  } catch (error) {
    showError(error);
  } finally {
    $<HTMLButtonElement>('banner-action').disabled = false;
    renderCluster();
  }
};

function renderCluster(): void {
  const node = $('cluster-status');
  if (!cluster) return;
  node.dataset.state = cluster.state;
  node.textContent =
    cluster.state === 'running'
      ? `${cluster.engine} · ${cluster.readyNodes}/${cluster.totalNodes} nodes Ready`
      : `${cluster.engine} · ${cluster.state === 'starting' ? 'starting…' : 'down'}`;
  renderBanner();
}

const announceChecks = checkAnnouncer($('check-announcer'));
const updateCodeScrolling = keepCodeScrollable($('steps'));

function renderReport(): void {
  if (!lab) return;
  if (report && !report.environment) lastChecked = report;
  if (report) announceChecks(report);
  renderSteps($('steps'), lab, lastChecked);
  updateCodeScrolling();
  $('steps').dataset.stale = String(Boolean(report?.environment));
  // Progress comes from the engine's store, so it survives an outage and a restart; the live
  // report fills in before the store answers.
  const shown = progressLine(lab, progress, lastChecked);
  const line = $('progress');
  line.textContent = shown.text;
  line.dataset.complete = String(shown.complete);
  line.dataset.stale = String(shown.noLongerShown.length > 0);
  renderBanner();
}

// ---- live events ---------------------------------------------------------------------------

function connectEvents(retryMs = 250): void {
  const socket = openSocket(`/api/labs/${labId}/events`);
  let opened = false;
  socket.onopen = () => {
    opened = true;
    unauthorized = false;
    if (!serverReachable) {
      serverReachable = true;
      renderBanner();
      void loadFiles();
    }
  };
  socket.onmessage = (message) => {
    const parsed = LiveEventSchema.safeParse(JSON.parse(String(message.data)));
    if (!parsed.success) return;
    const event = parsed.data;
    if (event.type === 'report') {
      report = event.report;
      if (event.progress) progress = event.progress;
      renderReport();
    } else if (event.type === 'map') {
      map = event.map;
      renderMap($('map'), map);
    } else {
      const wasDown = cluster && cluster.state !== 'running';
      cluster = event.cluster;
      renderCluster();
      if (wasDown && cluster.state === 'running') void loadSchema();
    }
  };
  socket.onclose = () => {
    serverReachable = false;
    renderBanner();
    // A restarted server has a new token: say so instead of retrying silently.
    if (!opened) void api(`/api/labs/${labId}`).catch((error: unknown) => {
      if (error instanceof LabApiError && error.status === 401) showUnauthorized();
    });
    setTimeout(() => connectEvents(opened ? 250 : Math.min(retryMs * 2, 4000)), retryMs);
  };
}

// ---- files and editor ----------------------------------------------------------------------

function isDirty(path: string): boolean {
  const model = monaco.editor.getModel(fileUri(labId, path));
  return model !== null && model.getValue() !== saved.get(path);
}

function renderFileTabs(): void {
  const tabs = $('file-tabs');
  tabs.replaceChildren(
    ...[...saved.keys()].map((path) => {
      const tab = el('button', 'tab', path);
      tab.type = 'button';
      tab.setAttribute('role', 'tab');
      tab.dataset.path = path;
      tab.setAttribute('aria-selected', String(path === currentPath && $('map').hidden));
      tab.setAttribute('aria-controls', 'editor-area');
      tab.id = `file-tab-${[...saved.keys()].indexOf(path)}`;
      if (isDirty(path)) tab.append(el('span', 'tab__dirty', ' ●'));
      tab.onclick = () => openFile(path);
      return tab;
    }),
  );
  $('map-tab').setAttribute('aria-selected', String(!$('map').hidden));
  rovingTabIndex($('tabs'));
  const selected = $('file-tabs').querySelector('[aria-selected="true"]');
  if (selected) $('editor-area').setAttribute('aria-labelledby', selected.id);
  const state = $('file-state');
  state.textContent = currentPath ? (isDirty(currentPath) ? 'Unsaved changes' : 'Saved') : '';
  state.dataset.dirty = String(currentPath !== undefined && isDirty(currentPath));
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

async function loadFile(path: string): Promise<void> {
  showLoaded(path, await fetchFile(path));
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** Shows a file in the editor; `focus` puts the keyboard focus in it (not when the page opens). */
function openFile(path: string, focus = true): void {
  currentPath = path;
  editor.setModel(monaco.editor.getModel(fileUri(labId, path)));
  $('map').hidden = true;
  $('editor-area').hidden = false;
  // While hidden the editor measured 0 px; lay it out now, not on the next resize tick.
  editor.layout();
  $('file-name').textContent = path;
  renderFileTabs();
  renderProblems();
  if (focus) editor.focus();
}

async function loadFiles(): Promise<void> {
  const files = await api<WorkspaceFile[]>(`/api/labs/${labId}/files`);
  const paths = [...new Set([...(lab?.startFiles ?? []), ...files.filter((f) => /\.ya?ml$/.test(f.path) && !f.path.startsWith('solution/')).map((f) => f.path)])];
  // Fetched at once, shown in the listed order (the tabs keep it).
  const clean = paths.filter((path) => !isDirty(path));
  const texts = await Promise.all(clean.map(fetchFile));
  clean.forEach((path, index) => showLoaded(path, texts[index]!));
  // Opening the page leaves the focus at its start (skip links first), not inside the editor.
  if (!currentPath && paths[0]) openFile(paths[0], false);
  renderFileTabs();
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
    renderFileTabs();
    return true;
  } catch (error) {
    // The text stays in the editor and in the draft: nothing is lost.
    showError(error);
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
  const list = $('problems');
  const problems = model ? problemsOf(model) : [];
  list.replaceChildren(
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

editor.onDidChangeModelContent(() => {
  if (!currentPath) return;
  writeDraft(labId, currentPath, { text: editor.getValue(), base: saved.get(currentPath) ?? '' });
  renderFileTabs();
});
monaco.editor.onDidChangeMarkers(() => renderProblems());
editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => void save());
editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, () => void apply());
$('save-btn').onclick = () => void save();
$('apply-btn').onclick = () => void apply();
$('new-file').onclick = () => {
  const name = prompt('New file name (in the lab workspace):', 'daemonset.yaml');
  if (!name) return;
  openInEditor(name, '');
};
$('map-tab').onclick = () => {
  $('map').hidden = false;
  $('editor-area').hidden = true;
  renderMap($('map'), map);
  renderFileTabs();
};

/** Opens text in the editor as a file, creating or replacing it (unsaved until Save/Apply). */
function openInEditor(path: string, text: string): void {
  if (!saved.has(path)) saved.set(path, '');
  const model = ensureModel(path, text);
  writeDraft(labId, path, { text: model.getValue(), base: saved.get(path) ?? '' });
  openFile(path);
}

async function loadSchema(): Promise<void> {
  try {
    configureYaml(await api<object>('/api/schema'));
  } catch {
    // No schema yet (cluster never reached): YAML syntax is still checked.
    configureYaml(undefined);
  }
}

// ---- lab actions ---------------------------------------------------------------------------

async function action(label: string, path: string): Promise<void> {
  const buttons = document.querySelectorAll<HTMLButtonElement>('.actions button');
  buttons.forEach((b) => (b.disabled = true));
  say(`${label}…`);
  try {
    report = LabReportSchema.parse(await post(`/api/labs/${labId}/${path}`));
    renderReport();
    say(`${label}: done.`);
  } catch (error) {
    showError(error);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

$('check-btn').onclick = () => void action('Checking', 'check');
$('solve-btn').onclick = () => void action('Solving', 'solve').then(() => loadFiles());
$('reset-btn').onclick = () => $<HTMLDialogElement>('reset-dialog').showModal();
$<HTMLDialogElement>('reset-dialog').addEventListener('close', () => {
  if ($<HTMLDialogElement>('reset-dialog').returnValue !== 'reset') return;
  for (const path of saved.keys()) writeDraft(labId, path, undefined);
  void action('Resetting', 'reset').then(async () => {
    for (const path of saved.keys()) await loadFile(path);
    await loadFiles();
    terminal.reconnect();
  });
});

let diffEditor: monaco.editor.IStandaloneDiffEditor | undefined;
$('solution-btn').onclick = async () => {
  try {
    const files = await api<SolutionFile[]>(`/api/labs/${labId}/solution`);
    const dialog = $<HTMLDialogElement>('solution-dialog');
    const picker = $('solution-files');
    const show = (file: SolutionFile) => {
      diffEditor?.dispose();
      const mine = monaco.editor.getModel(fileUri(labId, file.path))?.getValue() ?? saved.get(file.path) ?? '';
      diffEditor = createDiff($('diff'), labId, file.path, mine, file.content, theme());
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
    dialog.showModal();
    const first = files.find((f) => f.path === currentPath) ?? files[0];
    if (first) show(first);
    else $('diff').textContent = 'This lab has no solution files.';
  } catch (error) {
    showError(error);
  }
};

// ---- keyboard and screen readers -----------------------------------------------------------

/** Shows the editor (not the map) and puts the focus in it. */
function focusEditor(): void {
  if (currentPath && !$('map').hidden) openFile(currentPath);
  else editor.focus();
}

wireSkipLinks({
  steps: () => $('steps').focus(),
  editor: focusEditor,
  terminal: () => terminal.focus(),
  checks: () => $('check-btn').focus(),
});
wireTabList($('tabs'));
wireTabKeyButtons({ editor: $<HTMLButtonElement>('tab-mode'), terminal: $<HTMLButtonElement>('terminal-tab-mode') }, tabKey, (ariaLabel) => editor.updateOptions({ ariaLabel }));
wireScreenReaderButton($<HTMLButtonElement>('screen-reader-mode'), (on) => terminal.setScreenReaderMode(on));
focusableWhileScrolling($('feedback'), 'Problems and apply result');

// ---- layout and theme ----------------------------------------------------------------------

makeSplitter($('split-main'), $('layout'), 'x', '--instructions-width', `daemonset-lab:split-main`, () => terminal.fit());
makeSplitter($('split-work'), $('work'), 'y', '--top-height', `daemonset-lab:split-work`, () => terminal.fit());

function applyTheme(next: 'light' | 'dark'): void {
  document.documentElement.dataset.theme = next;
  setEditorTheme(next);
  terminal.setTheme(next);
}
$('theme-toggle').onclick = () => {
  const next = theme() === 'light' ? 'dark' : 'light';
  localStorage.setItem('starlight-theme', next);
  applyTheme(next);
};
// Another tab (a lesson page's theme picker) changed the theme.
addEventListener('storage', (event) => {
  if (event.key === 'starlight-theme') applyTheme(event.newValue === 'light' ? 'light' : event.newValue === 'dark' ? 'dark' : matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark');
});

// ---- start ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  // The lab's start goes out with the page's first request, so the shell can open while the page
  // loads the files. The shell opens once the start is over, however it ended (a learner fixes a
  // failed start there).
  const started = post(`/api/labs/${labId}/start`);
  void started.finally(labStartSettled).catch(() => undefined);
  try {
    lab = await api<LabSummary>(`/api/labs/${labId}`);
  } catch (error) {
    if (error instanceof LabApiError && error.status === 401) {
      showUnauthorized();
      return;
    }
    showError(error);
    return;
  }
  document.title = `${lab.title} · DaemonSet Lab`;
  $('lab-title').textContent = lab.title;
  $('lab-summary').textContent = lab.summary;
  renderReport();
  connectEvents();
  void loadSchema();
  connectLessonBridge(labId, {
    sendToTerminal: (text, { interruptFirst }) => terminal.type(text, interruptFirst),
    openInEditor: (fileName, yaml) => openInEditor(fileName, yaml),
  });
  await loadFiles();
  document.body.dataset.ready = 'true';
  try {
    report = LabReportSchema.parse(await started);
    renderReport();
    await loadFiles();
  } catch (error) {
    showError(error);
  }
}

// A page that stops before its start (no token, no lab) still gets its shell, which says why.
void main().finally(labStartSettled);
