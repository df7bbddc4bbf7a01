#!/usr/bin/env bash
# Installs every build, test and run dependency of Omni from Debian 12 packages (and npm for the
# web console and the node-based tests). Idempotent; run as root on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev
  nlohmann-json3-dev libboost-dev libboost-system-dev libssl-dev
  libsndfile1-dev libsoxr-dev libpcre2-dev libespeak-ng-dev espeak-ng sox
  libsqlite3-dev sqlite3 zlib1g-dev libcurl4-openssl-dev libmosquitto-dev mosquitto mosquitto-clients
  libgtest-dev libgmock-dev libbenchmark-dev libwebp-dev libstb-dev libyaml-cpp-dev libreadline-dev
  chromium
)
# Node.js + npm: Debian's packages unless a node with npm is already installed (e.g. nodesource's).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# Debian 12's own npm (9.2) aborts with "Exit handler never called" after installs that run
# postinstall scripts (esbuild); npm 10 from the npm registry runs on Debian's Node 18 and does not.
npm_major=$(npm --version 2>/dev/null | cut -d. -f1)
if [ -n "$npm_major" ] && [ "$npm_major" -lt 10 ]; then
  echo "setup: npm $(npm --version) is too old, installing npm 10 from the npm registry"
  npm install -g npm@10 --no-audit --no-fund --loglevel=error
  hash -r
fi

# npm packages for the web console and node tests (only where their package.json exists).
for dir in web tests/node tests/browser; do
  if [ -f "$dir/package.json" ]; then
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package.json" -nt "$dir/node_modules" ]; then
      echo "setup: npm install in $dir"
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error && touch node_modules)
    fi
  fi
done
