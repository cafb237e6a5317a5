/**
 * Rendering of the lab page's live parts: steps with their checks, and the DaemonSet map.
 * Plain DOM; every text goes through textContent, so cluster data cannot inject markup.
 */
import type { CheckStatus, LabReport } from '../../shared/lab-results.ts';
import type { LabSummary } from '../../shared/lab-summary.ts';
import type { DaemonSetMap, MapPod } from '../../shared/workspace-protocol.ts';
import { renderMarkdown } from './markdown.ts';

/** Creates an element with a class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** How each check status looks: a not-applicable check is neither a tick nor a cross. */
const CHECK_LOOK: Record<CheckStatus, { icon: string; label: string }> = {
  pass: { icon: '✓', label: 'passes' },
  fail: { icon: '✗', label: 'fails' },
  'not-applicable': { icon: '–', label: 'not applicable on this cluster engine' },
};

/** Renders the steps (instructions once; status and checks on every report). */
export function renderSteps(host: HTMLElement, lab: LabSummary, report: LabReport | undefined): void {
  if (host.dataset.lab !== lab.id) {
    host.dataset.lab = lab.id;
    host.replaceChildren(
      ...lab.steps.map((step, index) => {
        const section = el('section', 'step');
        section.dataset.step = step.id;
        const header = el('h2', 'step__title');
        header.append(el('span', 'step__badge', String(index + 1)), el('span', undefined, step.title));
        const body = el('div', 'step__body');
        body.innerHTML = renderMarkdown(step.instructions);
        section.append(header, body, el('ul', 'checks'));
        return section;
      }),
    );
  }
  for (const section of host.querySelectorAll<HTMLElement>('section.step')) {
    const stepReport = report?.steps.find((s) => s.id === section.dataset.step);
    section.dataset.status = stepReport ? (stepReport.passed ? 'pass' : 'fail') : 'unknown';
    section.querySelector('.step__badge')?.setAttribute('aria-label', stepReport?.passed ? 'passed' : 'not passed yet');
    const list = section.querySelector('ul.checks')!;
    list.replaceChildren(
      ...(stepReport?.checks ?? []).map((check) => {
        const item = el('li', `check check--${check.status}`);
        item.dataset.check = check.id;
        const title = el('div', 'check__title');
        const look = CHECK_LOOK[check.status];
        title.append(el('span', 'check__icon', look.icon), el('span', undefined, check.title));
        title.querySelector('.check__icon')!.setAttribute('aria-label', look.label);
        item.append(title, el('div', 'check__observed', check.observed));
        if (check.status === 'fail' && check.hint) item.append(el('div', 'check__hint', `Hint: ${check.hint}`));
        return item;
      }),
    );
  }
}

function podChip(pod: MapPod): HTMLElement {
  const state = pod.terminating ? 'terminating' : pod.ready ? 'ready' : pod.phase === 'Running' ? 'unready' : pod.phase.toLowerCase();
  const chip = el('div', `pod pod--${state}`);
  chip.dataset.pod = pod.name;
  chip.dataset.revision = pod.revision === undefined ? '' : String(pod.revision);
  chip.title = `${pod.name}: ${pod.terminating ? 'Terminating' : pod.phase}${pod.ready ? ', Ready' : ''}${pod.reason ? ` (${pod.reason})` : ''}`;
  chip.append(el('span', 'pod__name', pod.name.replace(/^.*-(\w{5})$/, '…$1')), el('span', 'pod__rev', pod.revision === undefined ? 'rev ?' : `rev ${pod.revision}`));
  chip.append(el('span', 'pod__state', pod.terminating ? 'Terminating' : pod.ready ? 'Ready' : (pod.reason ?? pod.phase)));
  return chip;
}

/** Renders the DaemonSet map: a card per node, with each DaemonSet's pods or why it skips the node. */
export function renderMap(host: HTMLElement, map: DaemonSetMap | undefined): void {
  if (!map) {
    host.replaceChildren(el('p', 'map__empty', 'Waiting for the cluster…'));
    return;
  }
  const legend = el('div', 'map__summary');
  if (map.daemonSets.length === 0) legend.append(el('span', undefined, 'No DaemonSets yet (outside kube-system). Apply one and watch its pods appear here.'));
  for (const ds of map.daemonSets) {
    const item = el('span', 'map__ds', `${ds.id.replace(/^default\//, '')}: ${ds.ready}/${ds.desired} ready, ${ds.updated} updated${ds.currentRevision ? `, revision ${ds.currentRevision}` : ''}`);
    legend.append(item);
  }
  const grid = el('div', 'map__nodes');
  for (const node of map.nodes) {
    const card = el('article', `node ${node.ready ? '' : 'node--notready'}`);
    card.dataset.node = node.name;
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
    grid.append(card);
  }
  host.replaceChildren(legend, grid);
}
