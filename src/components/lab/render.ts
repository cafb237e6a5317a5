/**
 * Rendering of the lab page's live parts: steps with their checks, and the DaemonSet map.
 * Plain DOM; every text goes through textContent, so cluster data cannot inject markup.
 */
import type { CheckResult, CheckStatus, LabReport } from '../../shared/lab-results.ts';
import type { LabSummary } from '../../shared/lab-summary.ts';
import type { DaemonSetMap, MapPod } from '../../shared/workspace-protocol.ts';
import { checkKey, waitingChecks, type WaitsFor } from './check-changes.ts';

/** Creates an element with a class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** How each check status looks, and what a screen reader says instead of the sign. */
const CHECK_LOOK: Record<CheckStatus, { icon: string; label: string }> = {
  pass: { icon: '✓', label: 'Passes: ' },
  fail: { icon: '✗', label: 'Not yet: ' },
  'not-applicable': { icon: '–', label: 'Not applicable on this cluster engine: ' },
};

/** Text only screen readers read (the visible sign says the same to the eye). */
function srOnly(text: string): HTMLSpanElement {
  return el('span', 'visually-hidden', text);
}

function checkItem(stepIndex: number, check: CheckResult, waitsFor: WaitsFor | undefined): HTMLLIElement {
  const item = el('li', `check check--${check.status}`);
  item.dataset.check = check.id;
  const title = el('div', 'check__title');
  const look = CHECK_LOOK[check.status];
  const icon = el('span', 'check__icon', look.icon);
  icon.setAttribute('aria-hidden', 'true');
  title.append(icon, srOnly(look.label), el('span', undefined, check.title));
  item.append(title);
  if (waitsFor) {
    // Same observation and hint as an earlier check: say which one, not the hint again.
    const where = waitsFor.stepIndex === stepIndex ? '' : ` (step ${waitsFor.stepIndex + 1})`;
    item.append(el('div', 'check__waits', `Waits for “${waitsFor.checkTitle}”${where}.`));
    return item;
  }
  item.append(el('div', 'check__observed', check.observed));
  if (check.status === 'fail' && check.hint) item.append(el('div', 'check__hint', `Hint: ${check.hint}`));
  return item;
}

/**
 * The step's instructions as the build rendered them (the page's `labSteps` entries, with their
 * Run buttons), moved into the step. A step the build does not know (a server newer than the
 * page) shows its Markdown as plain text and says to rebuild, rather than nothing.
 */
function stepInstructions(step: LabSummary['steps'][number]): HTMLElement {
  const rendered = document.querySelector<HTMLElement>(`[data-step-instructions="${CSS.escape(step.id)}"]`);
  if (rendered) return rendered;
  const fallback = el('div', 'step__instructions step__instructions--raw');
  fallback.append(el('p', 'step__stale', 'These instructions are newer than this page: rebuild the site (npm run build) to render them.'), el('pre', undefined, step.instructions));
  return fallback;
}

function stepSection(step: LabSummary['steps'][number], index: number): HTMLElement {
  const section = el('section', 'step');
  section.dataset.step = step.id;
  const header = el('h2', 'step__title');
  header.id = `step-${step.id}`;
  section.setAttribute('aria-labelledby', header.id);
  const badge = el('span', 'step__badge', String(index + 1));
  badge.setAttribute('aria-hidden', 'true');
  header.append(badge, el('span', 'visually-hidden', `Step ${index + 1}: `), el('span', undefined, step.title), el('span', 'step__state visually-hidden'));
  const body = el('div', 'step__body');
  body.append(stepInstructions(step));
  const checks = el('ul', 'checks');
  checks.setAttribute('aria-label', `Checks of step ${index + 1}`);
  section.append(header, body, checks);
  return section;
}

/** Renders the steps (instructions once; status and checks on every report). */
export function renderSteps(host: HTMLElement, lab: LabSummary, report: LabReport | undefined): void {
  if (host.dataset.lab !== lab.id) {
    host.dataset.lab = lab.id;
    host.replaceChildren(...lab.steps.map(stepSection));
  }
  const waiting = waitingChecks(report);
  host.querySelectorAll<HTMLElement>('section.step').forEach((section, stepIndex) => {
    const stepReport = report?.steps.find((s) => s.id === section.dataset.step);
    section.dataset.status = stepReport ? (stepReport.passed ? 'pass' : 'fail') : 'unknown';
    section.querySelector('.step__state')!.textContent = stepReport?.passed ? ' (done)' : '';
    section.querySelector('ul.checks')!.replaceChildren(
      ...(stepReport?.checks ?? []).map((check) => checkItem(stepIndex, check, waiting.get(checkKey(stepReport!.id, check)))),
    );
  });
}

/**
 * Gives code blocks that scroll sideways a tab stop and a name, so keyboard users can scroll
 * them (WCAG 2.1.1); blocks that fit get neither. Call after rendering and on resize.
 */
export function makeScrollableCodeFocusable(host: HTMLElement): void {
  host.querySelectorAll<HTMLElement>('pre').forEach((pre, index) => {
    const scrolls = pre.scrollWidth > pre.clientWidth + 1;
    if (scrolls === (pre.getAttribute('tabindex') === '0')) return;
    if (scrolls) {
      pre.tabIndex = 0;
      pre.setAttribute('role', 'region');
      const step = pre.closest('section.step')?.querySelector('.step__badge')?.textContent ?? '';
      pre.setAttribute('aria-label', `Code example ${index + 1}${step ? ` (step ${step})` : ''}`);
    } else {
      pre.removeAttribute('tabindex');
      pre.removeAttribute('role');
      pre.removeAttribute('aria-label');
    }
  });
}

function podChip(pod: MapPod): HTMLElement {
  const state = pod.terminating ? 'terminating' : pod.ready ? 'ready' : pod.phase === 'Running' ? 'unready' : pod.phase.toLowerCase();
  const chip = el('div', `pod pod--${state}`);
  chip.dataset.pod = pod.name;
  chip.dataset.revision = pod.revision === undefined ? '' : String(pod.revision);
  chip.title = `${pod.name}: ${pod.terminating ? 'Terminating' : pod.phase}${pod.ready ? ', Ready' : ''}${pod.reason ? ` (${pod.reason})` : ''}`;
  chip.append(el('span', 'pod__name', pod.name.replace(/^.*-(\w{5})$/, '…$1')), el('span', 'pod__rev', pod.revision === undefined ? 'rev ?' : `rev ${pod.revision}`));
  chip.append(el('span', 'pod__state', podState(pod)));
  return chip;
}

function podState(pod: MapPod): string {
  return pod.terminating ? 'Terminating' : pod.ready ? 'Ready' : (pod.reason ?? pod.phase);
}

function nodeCard(map: DaemonSetMap, node: DaemonSetMap['nodes'][number]): HTMLElement {
  const card = el('article', `node ${node.ready ? '' : 'node--notready'}`);
  card.dataset.node = node.name;
  card.setAttribute('aria-label', `Node ${node.name}`);
  const head = el('header', 'node__head');
  head.append(el('span', 'node__name', node.name), el('span', `node__ready ${node.ready ? 'is-ready' : ''}`, node.ready ? 'Ready' : 'NotReady'));
  card.append(head);
  const meta = el('div', 'node__meta');
  for (const [key, value] of Object.entries(node.labels)) meta.append(el('span', 'tag tag--label', value ? `${key}=${value}` : key));
  for (const taint of node.taints) meta.append(el('span', 'tag tag--taint', taint));
  if (meta.childElementCount) card.append(meta);
  for (const ds of node.daemonSets) {
    const row = el('div', 'node__ds');
    if (map.daemonSets.length > 1) row.append(el('div', 'node__dsname', ds.daemonSet.replace(/^default\//, '')));
    if (ds.pods.length) {
      const pods = el('div', 'node__pods');
      pods.append(...ds.pods.map(podChip));
      row.append(pods);
    }
    if (ds.skipped) {
      const [kind = '', ...why] = ds.skipped.split(': ');
      const skipped = el('div', 'node__skipped');
      skipped.append(el('strong', undefined, `Skipped (${kind}): `), why.join(': '));
      skipped.dataset.skipped = kind;
      row.append(skipped);
    } else if (!ds.pods.length) row.append(el('div', 'node__nopod', 'No pod yet'));
    card.append(row);
  }
  return card;
}

function cell(tag: 'td' | 'th', text: string): HTMLTableCellElement {
  const node = el(tag, undefined, text);
  if (tag === 'th') node.scope = 'row';
  return node;
}

/** The map as a table: one row per node and DaemonSet, with pods, their state and revision. */
function mapRows(map: DaemonSetMap): HTMLTableRowElement[] {
  return map.nodes.flatMap((node) => {
    const nodeText = `${node.ready ? 'Ready' : 'NotReady'}${node.taints.length ? `; taints: ${node.taints.join(', ')}` : ''}`;
    const perDaemonSet = node.daemonSets.length ? node.daemonSets : [undefined];
    return perDaemonSet.map((ds) => {
      const row = el('tr');
      row.dataset.node = node.name;
      const pods = ds?.pods.map((pod) => `${pod.name}: ${podState(pod)}${pod.revision === undefined ? '' : `, revision ${pod.revision}`}`).join('; ');
      const why = ds?.skipped ? `Skipped, ${ds.skipped}` : ds && !ds.pods.length ? 'No pod yet' : '';
      row.append(cell('th', node.name), cell('td', nodeText), cell('td', ds ? ds.daemonSet.replace(/^default\//, '') : 'none'), cell('td', pods || '—'), cell('td', why || '—'));
      return row;
    });
  });
}

/** The map's parts that stay while it updates, so focus and the open table survive each update. */
function mapSkeleton(host: HTMLElement): { live: HTMLElement; body: HTMLTableSectionElement } {
  let live = host.querySelector<HTMLElement>(':scope > .map__live');
  if (!live) {
    live = el('div', 'map__live');
    const details = el('details', 'map__table');
    const table = el('table');
    table.append(el('caption', undefined, 'Every node, and for each DaemonSet its pods or why it has none'));
    const head = el('tr');
    for (const title of ['Node', 'Node status', 'DaemonSet', 'Pods (state, revision)', 'Why no pod']) {
      const th = el('th', undefined, title);
      th.scope = 'col';
      head.append(th);
    }
    table.append(el('thead'), el('tbody'));
    table.tHead!.append(head);
    details.append(el('summary', undefined, 'Nodes and pods as a table'), table);
    host.replaceChildren(live, details);
  }
  return { live, body: host.querySelector<HTMLTableSectionElement>('.map__table tbody')! };
}

/** Renders the DaemonSet map: a card per node, with each DaemonSet's pods or why it skips the node, and the same as a table. */
export function renderMap(host: HTMLElement, map: DaemonSetMap | undefined): void {
  const { live, body } = mapSkeleton(host);
  if (!map) {
    live.replaceChildren(el('p', 'map__empty', 'Waiting for the cluster…'));
    body.replaceChildren();
    return;
  }
  const legend = el('div', 'map__summary');
  if (map.daemonSets.length === 0) legend.append(el('span', undefined, 'No DaemonSets yet (outside kube-system). Apply one and watch its pods appear here.'));
  for (const ds of map.daemonSets) {
    const item = el('span', 'map__ds', `${ds.id.replace(/^default\//, '')}: ${ds.ready}/${ds.desired} ready, ${ds.updated} updated${ds.currentRevision ? `, revision ${ds.currentRevision}` : ''}`);
    legend.append(item);
  }
  const grid = el('div', 'map__nodes');
  grid.append(...map.nodes.map((node) => nodeCard(map, node)));
  live.replaceChildren(legend, grid);
  body.replaceChildren(...mapRows(map));
}
