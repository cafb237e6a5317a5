#!/usr/bin/env bash
# Prints an id of what the learner image is built from: the committed files that go into it
# (image/build.sh stages `git archive HEAD`, node_modules from the lock file, dist from the site's
# sources, the binaries from versions.ts). build.sh labels the image with it, and the classroom
# tests rebuild an image whose label differs, so they never run an older hub or workspace server.
# Tests, docs, CI and the README are left out: changing them does not change the image.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-tree -r HEAD -- astro.config.mjs content hub image labs package.json package-lock.json public scripts src tsconfig.json \
  | sha256sum | cut -c1-16
