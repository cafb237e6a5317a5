/**
 * The lab page: wires the instructions and live checks, the editor, the map, the terminal, the
 * cluster status and the lesson bridge to the workspace server. Imports only browser code and
 * shared schemas (src/shared), never server code.
 *
 * The editor side (files.ts, with Monaco: most of the page's script) is a chunk of its own, loaded
 * while the lab starts, so the shell opens without waiting for it to download and run.
 */
import type { LabReport } from '../../shared/lab-results.ts';
import { LabReportSchema } from '../../shared/lab-results.ts';
import type { LabProgress, LabSummary } from '../../shared/lab-summary.ts';
import { LiveEventSchema, type ClusterInfo, type DaemonSetMap } from '../../shared/workspace-protocol.ts';
import { checkAnnouncer, focusableWhileScrolling, keepCodeScrollable, rovingTabIndex, screenReaderModeWanted, wireScreenReaderButton, wireSkipLinks, wireTabKeyButtons, wireTabList } from './a11y.ts';
import { api, LabApiError, openSocket, post } from './api.ts';
import { connectLessonBridge } from './bridge.ts';
import type { LabFiles } from './files.ts';
import { el, renderMap, renderSteps } from './render.ts';
import { dropDrafts } from './drafts.ts';
import { progressLine } from './progress.ts';
import { makeSplitter } from './split.ts';
import { tabKey } from './tab-key.ts';
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

/** Settles once the page's start of the lab has (main below); the shell opens only then. */
let labStartSettled: () => void = () => undefined;
const labStarted = new Promise<void>((resolve) => (labStartSettled = resolve));
/** Settles when the shell first connects. */
let shellConnected: () => void = () => undefined;
const shellFirstConnected = new Promise<void>((resolve) => (shellConnected = resolve));
const terminal = new LabTerminal(labId, $('terminal'), (state, detail) => {
  if (state === 'connected') shellConnected();
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

/**
 * Once the shell is connected, or after EDITOR_AT_LATEST_MS: running Monaco's chunk holds this
 * page's only thread for a second or more, and the shell's socket would wait behind it. A lab that
 * is slow to start (its cluster is starting) gets its editor at that time, to read the files.
 */
const EDITOR_AT_LATEST_MS = 1500;
const editorMayLoad = Promise.race([shellFirstConnected, new Promise((resolve) => setTimeout(resolve, EDITOR_AT_LATEST_MS))]);
/** The editor side: its chunk loads once the shell is connected (above). */
const files: Promise<LabFiles> = editorMayLoad.then(() => import('./files.ts')).then(
  (module) => module.openFiles({ labId, lab: () => lab, theme, showError }),
  () => {
    throw new LabApiError(0, 'The editor could not be loaded', 'Reload the page; your unsaved editor text is kept.');
  },
);
/** The editor side once it has loaded. */
let loadedFiles: LabFiles | undefined;
void files.then((loaded) => (loadedFiles = loaded), () => undefined);
/** Runs `use` once the editor side is there; a failure is shown in the status line. */
function withFiles(use: (files: LabFiles) => unknown): void {
  files.then(use).catch(showError);
}

/**
 * The editor skip link. Before the editor has loaded, the focus goes to its placeholder and moves
 * into the editor when it arrives, unless the learner has gone elsewhere meanwhile (the terminal).
 */
function focusEditor(): void {
  if (loadedFiles) return loadedFiles.focus();
  const placeholder = $('editor');
  placeholder.tabIndex = -1;
  placeholder.focus();
  withFiles((loaded) => {
    if (document.activeElement === placeholder) loaded.focus();
  });
}

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
      withFiles((files) => files.loadFiles());
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
      if (wasDown && cluster.state === 'running') withFiles((files) => files.loadSchema());
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

$('map-tab').onclick = () => {
  $('map').hidden = false;
  $('editor-area').hidden = true;
  renderMap($('map'), map);
  // The map tab is selected and reachable even if the editor never loads.
  $('map-tab').setAttribute('aria-selected', 'true');
  rovingTabIndex($('tabs'));
  withFiles((files) => files.renderTabs());
};
rovingTabIndex($('tabs'));

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
$('solve-btn').onclick = () => void action('Solving', 'solve').then(() => withFiles((files) => files.loadFiles()));
$('reset-btn').onclick = () => $<HTMLDialogElement>('reset-dialog').showModal();
$<HTMLDialogElement>('reset-dialog').addEventListener('close', () => {
  if ($<HTMLDialogElement>('reset-dialog').returnValue !== 'reset') return;
  // Before the reset: a reload while it runs must not bring the old text back over the start files.
  dropDrafts(labId);
  void action('Resetting', 'reset').then(async () => {
    try {
      await (await files).reloadAfterReset();
    } finally {
      terminal.reconnect();
    }
  }).catch(showError);
});
$('solution-btn').onclick = () => withFiles((files) => files.showSolution());

// ---- keyboard and screen readers -----------------------------------------------------------

wireSkipLinks({
  steps: () => $('steps').focus(),
  editor: focusEditor,
  terminal: () => terminal.focus(),
  checks: () => $('check-btn').focus(),
});
wireTabList($('tabs'));
wireTabKeyButtons({ editor: $<HTMLButtonElement>('tab-mode'), terminal: $<HTMLButtonElement>('terminal-tab-mode') }, tabKey, (ariaLabel) => withFiles((files) => files.setAriaLabel(ariaLabel)));
wireScreenReaderButton($<HTMLButtonElement>('screen-reader-mode'), (on) => terminal.setScreenReaderMode(on));
focusableWhileScrolling($('feedback'), 'Problems and apply result');

// ---- layout and theme ----------------------------------------------------------------------

makeSplitter($('split-main'), $('layout'), 'x', '--instructions-width', `daemonset-lab:split-main`, () => terminal.fit());
makeSplitter($('split-work'), $('work'), 'y', '--top-height', `daemonset-lab:split-work`, () => terminal.fit());

function applyTheme(next: 'light' | 'dark'): void {
  document.documentElement.dataset.theme = next;
  withFiles((files) => files.setTheme(next));
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
  withFiles((files) => files.loadSchema());
  connectLessonBridge(labId, {
    sendToTerminal: (text, { interruptFirst }) => terminal.type(text, interruptFirst),
    openInEditor: (fileName, yaml) => withFiles((files) => files.openInEditor(fileName, yaml)),
  });
  // The start's report is shown when it comes, whether or not the editor has loaded by then.
  const startShown = started.then((answer) => {
    report = LabReportSchema.parse(answer);
    renderReport();
  }).catch(showError);
  let startOver = false;
  void startShown.then(() => (startOver = true));
  try {
    const loaded = await files;
    // Usually the start is over by now (the editor loads once the shell is connected): the files
    // read next are its result, and are read once.
    const readAfterStart = startOver;
    await loaded.loadFiles();
    document.body.dataset.ready = 'true';
    await startShown;
    // Otherwise the start may have written the lab's start files since.
    if (!readAfterStart) await loaded.loadFiles();
  } catch (error) {
    showError(error);
  }
}

// A page that stops before its start (no token, no lab) still gets its shell, which says why.
void main().finally(labStartSettled);
