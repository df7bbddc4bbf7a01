#!/usr/bin/env bash
# Configures and builds one CMake preset (release by default): scripts/build.sh [release|debug|asan]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
if [ "$preset" = release ] && [ -f web/package.json ] && [ -d web/node_modules ]; then
  (cd web && npm run build --silent)
fi
