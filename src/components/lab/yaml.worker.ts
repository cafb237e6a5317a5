// Vite bundles monaco-yaml's worker through this file (see monaco-yaml's README, "Why doesn't it
// work with Vite?"): importing the package's worker directly breaks its foreign-module loading.
import 'monaco-yaml/yaml.worker.js';
