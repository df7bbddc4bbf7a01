#!/usr/bin/env bash
# The README's test command: installs dependencies, builds the release and the ASan+UBSan presets,
# runs every test (ctest) on the release build and the unit tests on the sanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
ctest --preset release -j "$(nproc)"
bash scripts/build.sh asan
ctest --preset asan -j "$(nproc)"
