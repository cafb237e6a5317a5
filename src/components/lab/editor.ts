/**
 * The manifest editor: Monaco with monaco-yaml, validating against the Kubernetes schema the
 * server derives from the running cluster. Loaded only by lab pages (lesson pages stay light).
 *
 * Files are the lab workspace's real files. Unsaved text is kept in localStorage per lab and
 * file, so it survives a reload and a server restart.
 */
import * as monaco from './monaco.ts';
import 'monaco-editor/languages/definitions/yaml/register';
// @ts-expect-error -- untyped internal module; it is what Monaco's own JSON/CSS services use.
import { createWebWorker as createLabelledWebWorker } from 'monaco-editor/esm/vs/internal/common/workers.js';
import { configureMonacoYaml } from 'monaco-yaml';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import YamlWorker from './yaml.worker.ts?worker';

export { monaco };

globalThis.MonacoEnvironment = {
  getWorker(_moduleId: string, label: string) {
    return label === 'yaml' ? new YamlWorker() : new EditorWorker();
  },
};

/** The schema URI the manifests are validated against. */
const SCHEMA_URI = `${location.origin}/api/schema`;

let yaml: ReturnType<typeof configureMonacoYaml> | undefined;

/** Configures YAML validation and completion with the cluster's schema (none until it loads). */
export function configureYaml(schema: object | undefined): void {
  const options = {
    enableSchemaRequest: false,
    validate: true,
    completion: true,
    hover: true,
    format: {},
    schemas: schema ? [{ uri: SCHEMA_URI, fileMatch: ['*.yaml', '*.yml', '**/*.yaml', '**/*.yml'], schema: schema as never }] : [],
  };
  if (yaml) {
    void yaml.update(options);
    return;
  }
  // monaco-yaml 5.5 creates its worker the pre-0.55 way ({ label, createData }); Monaco 0.57's
  // editor.createWebWorker wants a Worker instead. Monaco's own label-based factory bridges both.
  const monacoForYaml = { ...monaco, editor: { ...monaco.editor, createWebWorker: createLabelledWebWorker as typeof monaco.editor.createWebWorker } };
  yaml = configureMonacoYaml(monacoForYaml as typeof monaco, options);
}

/** The model URI of a workspace file. */
export function fileUri(labId: string, path: string): monaco.Uri {
  return monaco.Uri.parse(`file:///${labId}/${path}`);
}

/** Problems of a model as "line L, column C: message", for the list under the editor. */
export function problemsOf(model: monaco.editor.ITextModel): Array<{ line: number; column: number; message: string; severity: 'error' | 'warning' }> {
  return monaco.editor
    .getModelMarkers({ resource: model.uri })
    .filter((m) => m.severity >= monaco.MarkerSeverity.Warning)
    .sort((a, b) => a.startLineNumber - b.startLineNumber || a.startColumn - b.startColumn)
    .map((m) => ({
      line: m.startLineNumber,
      column: m.startColumn,
      message: m.message,
      severity: m.severity === monaco.MarkerSeverity.Error ? 'error' : 'warning',
    }));
}


const reducedMotion = () => matchMedia('(prefers-reduced-motion: reduce)').matches;

/**
 * Monaco's own themes, with the one colour that misses WCAG AA's 4.5:1 replaced: vs-dark's
 * comments (#608b4e on #1e1e1e, 4.2:1) take VS Code Dark+'s #6a9955 (5.0:1).
 */
monaco.editor.defineTheme('daemonset-lab-dark', { base: 'vs-dark', inherit: true, rules: [{ token: 'comment', foreground: '6a9955' }], colors: {} });
monaco.editor.defineTheme('daemonset-lab-light', { base: 'vs', inherit: true, rules: [], colors: {} });
const monacoTheme = (theme: 'light' | 'dark') => (theme === 'light' ? 'daemonset-lab-light' : 'daemonset-lab-dark');

/** Creates the editor in `host`. */
export function createEditor(host: HTMLElement, theme: 'light' | 'dark'): monaco.editor.IStandaloneCodeEditor {
  return monaco.editor.create(host, {
    automaticLayout: true,
    theme: monacoTheme(theme),
    fontSize: 13,
    minimap: { enabled: false },
    scrollBeyondLastLine: false,
    tabSize: 2,
    insertSpaces: true,
    // Manifests are typed, not pasted only: keep autoindent but avoid surprising bracket pairs.
    autoClosingBrackets: 'languageDefined',
    quickSuggestions: { other: true, strings: true, comments: false },
    renderWhitespace: 'boundary',
    fixedOverflowWidgets: true,
    ariaLabel: 'Manifest editor. Tab moves the focus on; press Ctrl+M to make Tab indent.',
    cursorBlinking: reducedMotion() ? 'solid' : 'blink',
    smoothScrolling: false,
    // Its header lines are Tab stops of their own, in between the editor and the page: manifests
    // are short enough to do without it.
    stickyScroll: { enabled: false },
  });
}

/** Switches the Monaco theme with the site's. */
export function setEditorTheme(theme: 'light' | 'dark'): void {
  monaco.editor.setTheme(monacoTheme(theme));
}

/** Shows `original` against `modified` in a read-only diff editor. */
export function createDiff(host: HTMLElement, labId: string, path: string, original: string, modified: string, theme: 'light' | 'dark'): monaco.editor.IStandaloneDiffEditor {
  const diff = monaco.editor.createDiffEditor(host, {
    automaticLayout: true,
    readOnly: true,
    originalEditable: false,
    renderSideBySide: true,
    minimap: { enabled: false },
    theme: monacoTheme(theme),
  });
  const stamp = Date.now();
  diff.setModel({
    original: monaco.editor.createModel(original, 'yaml', monaco.Uri.parse(`diff:///${labId}/yours/${stamp}/${path}`)),
    modified: monaco.editor.createModel(modified, 'yaml', monaco.Uri.parse(`diff:///${labId}/solution/${stamp}/${path}`)),
  });
  return diff;
}
