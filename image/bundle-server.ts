/**
 * Bundles the learner pod's server (scripts/start.ts and everything it imports, the labs' code and
 * @kubernetes/client-node included) into one file, for the learner image:
 *   node image/bundle-server.ts <app folder>   → <app folder>/scripts/start.bundle.mjs
 *
 * Why: a cold pod's server loaded about 1,200 modules (most of them client-node's) before it could
 * start its cluster, 1.3–1.9 s in a pod; one file loads in about half the time or less. Only the
 * image uses the bundle: `npm start` and the tests run the sources.
 *
 * The bundle behaves as the sources do because the two things that depend on where a module lies
 * are rewritten, and the build fails when either is not as this script expects it (another
 * import.meta property in a source, or a registry that imports its labs some other way):
 * - `import.meta.url` in our sources becomes that source file's own URL (relative to the bundle),
 *   so REPO_ROOT, the simulated registry's YAML and the agent's sources are found as before;
 * - the lab registry's import of labs/<id>/lab.ts by path becomes a table of imports, so each
 *   lab's code is bundled with the one copy of the helpers it shares with the server (loaded by
 *   path, it would load a second copy of them and of client-node).
 * node-pty stays outside (a native addon): it resolves from the app's node_modules.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { LAB_CATALOG } from '../src/shared/lab-catalog.ts';

const LAB_IMPORT = "import(pathToFileURL(join(LABS_DIR, id, 'lab.ts')).href)";

/** Rewrites `import.meta.url` and the lab registry's import by path, in our own sources only. */
function sourceLocations(app: string, outDir: string, labIds: readonly string[]): Plugin {
  const registry = join(app, 'src', 'server', 'labs', 'registry.ts');
  const toBundle = (file: string) => relative(outDir, file).split(sep).join('/');
  return {
    name: 'daemonset-lab-source-locations',
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
        if (path.includes(`${sep}node_modules${sep}`)) return undefined;
        let source = await readFile(path, 'utf8');
        // Other import.meta properties would silently name the bundle's folder: refuse them.
        const other = /\bimport\.meta\.(?!url\b)(\w+)/.exec(source);
        if (other) throw new Error(`${path} uses import.meta.${other[1]}, which the bundle would answer for scripts/: use import.meta.url, or teach image/bundle-server.ts about it`);
        const ownUrl = `new URL(${JSON.stringify(toBundle(path))}, import.meta.url).href`;
        source = source.replace(/\bimport\.meta\.url\b/g, () => ownUrl);
        if (path === registry) {
          if (source.split(LAB_IMPORT).length !== 2) throw new Error(`${registry} no longer imports the labs as \`${LAB_IMPORT}\`: update image/bundle-server.ts`);
          const table = labIds.map((id) => `${JSON.stringify(id)}: () => import(${JSON.stringify(`../../../labs/${id}/lab.ts`)})`).join(',\n  ');
          // First in the module: the registry imports its labs while the module is evaluated.
          source = `const BUNDLED_LABS = {\n  ${table},\n};\n${source.replace(LAB_IMPORT, () => 'BUNDLED_LABS[id as keyof typeof BUNDLED_LABS]()')}`;
        }
        return { contents: source, loader: 'ts' };
      });
    },
  };
}

/**
 * Bundles `<app>/scripts/start.ts` into `outfile` (by default `<app>/scripts/start.bundle.mjs`;
 * another name must be in that folder too, as the rewritten URLs are relative to it). Returns it.
 */
export async function bundleServer(app: string, outfile = join(app, 'scripts', 'start.bundle.mjs')): Promise<string> {
  // The catalog's labs, as the registry looks them up: one without its lab.ts fails here, not in a pod.
  const labIds = LAB_CATALOG.map(({ id }) => id);
  const missing = labIds.filter((id) => !existsSync(join(app, 'labs', id, 'lab.ts')));
  if (missing.length > 0) throw new Error(`the catalog's labs ${missing.join(', ')} have no labs/<id>/lab.ts in ${app}: add it, or remove the lab from src/shared/lab-catalog.ts`);
  await build({
    entryPoints: [join(app, 'scripts', 'start.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: ['node-pty'],
    // CommonJS packages inside an ES module bundle call require(): give them Node's.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    plugins: [sourceLocations(app, dirname(outfile), labIds)],
    // esbuild's build() throws with its errors listed, each naming its file and line.
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  if (!process.argv[2]) {
    process.stderr.write('Usage: node image/bundle-server.ts <app folder>   (image/build.sh passes its build context)\n');
    process.exit(2);
  }
  const app = resolve(process.argv[2]);
  const file = await bundleServer(app);
  process.stdout.write(`bundled the server into ${relative(app, file)}\n`);
}
