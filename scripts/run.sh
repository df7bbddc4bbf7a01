#!/usr/bin/env bash
# The README's main-job command: installs dependencies, builds Omni (C++ and the web console) and
# runs `omni serve` with the demo action catalog, the 3D console at / and the scene saved in
# .omni/omni.db. Prints the console's URL. Optional environment:
#   OMNI_PORT (8080), OMNI_HOST (127.0.0.1), OMNI_MODEL (an LLM .gguf for tier 1),
#   OMNI_ASR_MODEL (a Whisper ggml .bin), OMNI_LLM_BACKEND (a remote OpenAI-compatible URL),
#   OMNI_SKIP_BUILD=1 (run what is already built).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${OMNI_SKIP_BUILD:-0}" != 1 ]; then
  bash scripts/setup.sh
  bash scripts/build.sh release
fi
omni=./build/release/omni
[ -x "$omni" ] || { echo "run: $omni is missing (build failed?)" >&2; exit 1; }
[ -f web/dist/index.html ] || echo "run: web/dist is missing: the console will show a placeholder (run: cd web && npm install && npm run build)" >&2

host="${OMNI_HOST:-127.0.0.1}"
port="${OMNI_PORT:-8080}"
mkdir -p .omni
args=(serve --host "$host" --port "$port" --catalog catalogs/demo.yaml --db .omni/omni.db --web-dir web/dist)
# The real Silero VAD weights ship with the tests (MIT): they give the console hands-free voice turns.
vad=tests/data/models/silero-vad-v6.2.0.ggml.bin
[ -f "$vad" ] && args+=(--vad-model "$vad")
# One person at the console: decode on the matrix-vector kernels (a lone stream at full speed,
# still batch-invariant); `omni serve`'s default (gemm) favours many concurrent clients.
[ -n "${OMNI_MODEL:-}" ] && args+=(-m "$OMNI_MODEL" --decode-kernels matvec)
[ -n "${OMNI_ASR_MODEL:-}" ] && args+=(--asr-model "$OMNI_ASR_MODEL")
[ -n "${OMNI_LLM_BACKEND:-}" ] && args+=(--llm-backend "$OMNI_LLM_BACKEND")

cat <<MSG

  Omni console:  http://$host:$port/
  Try typing or saying: "put a nordic sofa by the window", "add a plant in the corner",
  "make everything japanese style", "switch to the top view", "turn off the room lights".
  No model given: tier 0 (the catalog's templates) runs the actions. To add an LLM or Whisper:
    ./build/release/omni pull hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf
    OMNI_MODEL=qwen2.5-0.5b-instruct-q4_k_m.gguf OMNI_ASR_MODEL=ggml-base.en.bin bash scripts/run.sh
  Stop with Ctrl-C.

MSG
exec "$omni" "${args[@]}"
