/**
 * House rule: dependencies point one way. The cluster engines never import a module that imports
 * them back (baseline.ts → providers/status.ts → providers/provider.ts → baseline.ts was such a
 * cycle), and never import the layers above them (labs, web, scripts).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const clusterRoot = join(repo, 'src/server/cluster');

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typescriptFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of a file (type-only ones included: they tie modules together just as much). */
function relativeImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specifiers.map((specifier) => resolve(dirname(file), specifier));
}

type ImportGraph = Map<string, string[]>;

/** Each file's relative imports that stay among the files. */
function importGraph(files: readonly string[]): ImportGraph {
  return new Map(files.map((file) => [file, relativeImports(file).filter((target) => files.includes(target))]));
}

/** Every import cycle of the graph, each as the list of files around it. */
function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles.map((cycle) => cycle.map((file) => relative(repo, file)));
}

describe('imports of the cluster engines', () => {
  const files = typescriptFiles(clusterRoot);

  it('finds the cluster modules to check', () => {
    expect(files.map((f) => relative(clusterRoot, f))).toEqual(expect.arrayContaining(['baseline.ts', 'providers/provider.ts', 'providers/status.ts']));
  });

  it('form no cycle', () => {
    expect(findCycles(importGraph(files))).toEqual([]);
  });

  it('never reach up into labs, web or scripts', () => {
    const upward = files.flatMap((file) =>
      relativeImports(file)
        .filter((target) => !target.startsWith(`${clusterRoot}/`) && /\/(src\/server\/(labs|web)|scripts)\//.test(target))
        .map((target) => `${relative(repo, file)} → ${relative(repo, target)}`),
    );
    expect(upward).toEqual([]);
  });

  it('would show the cycle that was mended, were its imports put back', () => {
    const graph = importGraph(files);
    const at = (path: string) => join(clusterRoot, path);
    graph.set(at('baseline.ts'), [...graph.get(at('baseline.ts'))!, at('providers/status.ts')]);
    graph.set(at('providers/provider.ts'), [...graph.get(at('providers/provider.ts'))!, at('baseline.ts')]);
    expect(findCycles(graph)).toContainEqual(
      ['baseline.ts', 'providers/status.ts', 'providers/provider.ts', 'baseline.ts'].map((f) => `src/server/cluster/${f}`),
    );
  });
});
