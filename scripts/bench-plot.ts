/**
 * The scale curve as an SVG line chart: seconds per phase against the number of nodes (log scale),
 * and beside it the engine's memory and CPU seconds. No dependencies: a few lines of SVG.
 */
import type { ScalePoint } from './bench-scale.ts';

interface Series {
  readonly label: string;
  readonly colour: string;
  readonly values: readonly number[];
}

const WIDTH = 420;
const HEIGHT = 300;
const MARGIN = { left: 56, right: 16, top: 36, bottom: 44 };

const escape = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(value, 1e-9)));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value) ?? 10 * power;
}

/** One panel: a log x axis over the node counts, a linear y axis from 0, one line per series. */
function panel(title: string, unit: string, nodes: readonly number[], series: readonly Series[], offsetX: number, target?: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const yMax = niceMax(Math.max(target ?? 0, ...series.flatMap((s) => s.values)));
  const [lo, hi] = [Math.log10(Math.min(...nodes)), Math.log10(Math.max(...nodes))];
  const x = (n: number) => MARGIN.left + (hi === lo ? plotW / 2 : ((Math.log10(n) - lo) / (hi - lo)) * plotW);
  const y = (v: number) => MARGIN.top + plotH - (v / yMax) * plotH;
  const parts = [`<g transform="translate(${offsetX},0)">`, `<text x="${MARGIN.left}" y="20" font-weight="bold">${escape(title)}</text>`];
  for (let i = 0; i <= 4; i += 1) {
    const v = (yMax * i) / 4;
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end">${+v.toFixed(1)}</text>`);
  }
  for (const n of nodes) parts.push(`<text x="${x(n)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${n}</text>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">nodes (log scale)</text>`);
  parts.push(`<text transform="translate(14,${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(unit)}</text>`);
  if (target !== undefined) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(target)}" y2="${y(target)}" stroke="#c00" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${MARGIN.left + plotW}" y="${y(target) - 4}" text-anchor="end" fill="#c00">target ${target}</text>`);
  }
  series.forEach((s, index) => {
    const points = s.values.map((v, i) => `${x(nodes[i]!)},${y(v)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${s.colour}" stroke-width="2"/>`);
    for (const [i, v] of s.values.entries()) parts.push(`<circle cx="${x(nodes[i]!)}" cy="${y(v)}" r="3" fill="${s.colour}"><title>${escape(`${s.label}: ${v.toFixed(1)} ${unit} at ${nodes[i]} nodes`)}</title></circle>`);
    parts.push(`<text x="${MARGIN.left + 8}" y="${MARGIN.top + 14 + index * 15}" fill="${s.colour}">${escape(s.label)}</text>`);
  });
  parts.push('</g>');
  return parts.join('\n');
}

/** The whole figure for the scale curve, with the run's date and load in its caption. */
export function scaleCurveSvg(points: readonly ScalePoint[], caption: string): string {
  const nodes = points.map((p) => p.nodes);
  const seconds = (f: (p: ScalePoint) => number) => points.map((p) => f(p) / 1000);
  const time = panel('Time to converge', 'seconds', nodes, [
    { label: 'all nodes Ready', colour: '#1f77b4', values: seconds((p) => p.nodesReadyMs) },
    { label: 'new DaemonSet Ready everywhere', colour: '#2ca02c', values: seconds((p) => p.daemonSetReadyMs) },
    { label: 'rolling update, maxUnavailable 10%', colour: '#ff7f0e', values: seconds((p) => p.rolloutMs) },
  ], 0, 60);
  const cost = panel('Engine cost', 'MB / CPU seconds', nodes, [
    { label: 'memory (RSS, MB)', colour: '#9467bd', values: points.map((p) => p.memoryMB) },
    { label: 'CPU seconds, whole run', colour: '#8c564b', values: points.map((p) => Object.values(p.cpuSeconds).reduce((a, b) => a + b, 0)) },
  ], WIDTH);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * WIDTH}" height="${HEIGHT + 24}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    time,
    cost,
    `<text x="8" y="${HEIGHT + 16}" fill="#555">${escape(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
