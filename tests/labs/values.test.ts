/** Values compared by meaning: image references, label selectors, quantities, int-or-percent. */
import { describe, expect, it } from 'vitest';
import { formatLabelSelector, labelSelectorMatches, normalizeImage, parseQuantity, resolveIntOrPercent, sameImage } from '../../src/server/labs/checks/values.ts';

describe('normalizeImage', () => {
  it('writes Docker Hub references in full, as containerd resolves them', () => {
    expect(normalizeImage('nginx:1.19')).toBe('docker.io/library/nginx:1.19');
    expect(normalizeImage('nginx')).toBe('docker.io/library/nginx:latest');
    expect(normalizeImage('docker.io/nginx:1.19')).toBe('docker.io/library/nginx:1.19');
    expect(normalizeImage('fluent/fluentd:v1.14-1')).toBe('docker.io/fluent/fluentd:v1.14-1');
    expect(normalizeImage('registry.k8s.io/pause:3.10')).toBe('registry.k8s.io/pause:3.10');
    expect(normalizeImage('localhost:5000/agent')).toBe('localhost:5000/agent:latest');
    expect(normalizeImage('nginx@sha256:abc')).toBe('docker.io/library/nginx@sha256:abc');
  });

  it('tells the same image from another one', () => {
    expect(sameImage('nginx:1.19', 'docker.io/library/nginx:1.19')).toBe(true);
    expect(sameImage('nginx:1.19', 'nginx:1.19.10')).toBe(false);
    expect(sameImage('nginx', 'nginx:latest')).toBe(true);
    expect(sameImage(undefined, 'nginx')).toBe(false);
  });
});

describe('labelSelectorMatches', () => {
  const labels = { name: 'nginx-daemonset', tier: 'web' };
  it('judges matchLabels and matchExpressions by what they select', () => {
    expect(labelSelectorMatches({ matchLabels: { name: 'nginx-daemonset' } }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'name', operator: 'In', values: ['nginx-daemonset'] }] }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, labels)).toBe(false);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchLabels: { name: 'nginx' } }, labels)).toBe(false);
    expect(labelSelectorMatches(undefined, labels)).toBe(false);
  });

  it('prints a selector as kubectl does', () => {
    expect(formatLabelSelector({ matchLabels: { name: 'x' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'gpu', operator: 'Exists' }] })).toBe('name=x,tier in (a,b),gpu');
  });
});

describe('parseQuantity', () => {
  it('reads binary, decimal and milli quantities', () => {
    expect(parseQuantity('4Gi')).toBe(4 * 2 ** 30);
    expect(parseQuantity('0.25Gi')).toBe(2 ** 28);
    expect(parseQuantity('100m')).toBeCloseTo(0.1);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('500M')).toBe(5e8);
    expect(parseQuantity('lots')).toBeUndefined();
  });
});

describe('resolveIntOrPercent', () => {
  it('rounds a percentage up, as the DaemonSet controller does for maxUnavailable', () => {
    expect(resolveIntOrPercent('34%', 3, 1)).toBe(2);
    expect(resolveIntOrPercent('33%', 3, 1)).toBe(1);
    expect(resolveIntOrPercent('100%', 3, 1)).toBe(3);
    expect(resolveIntOrPercent(1, 3, 1)).toBe(1);
    expect(resolveIntOrPercent(undefined, 3, 1)).toBe(1);
  });
});
