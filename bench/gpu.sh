#!/usr/bin/env bash
# The GPU benchmark in one command: builds the 100M and 400M cost twins of stories260K (same function,
# the cost of a 100M / 400M-parameter model), then runs `decodekit bench` for AR and the top strategies on
# every GPU backend that works here — WebGPU (Dawn on Vulkan) and CUDA when onnxruntime's CUDA provider
# libraries are present — and falls back to the CPU backend when none does. Writes one bench.json/bench.md
# per backend and twin under $OUT (or .bench/gpu), plus summary.txt. Fits in 10 minutes.
#
# A GPU machine has no Node.js and no network, and takes at most 64 MiB of files, so the run needs a
# bundle made beforehand on a machine with Node and a built checkout:
#
#   bench/gpu.sh --pack     # writes bench/.gpu-bundle/ (xz-compressed node and libonnxruntime, the CLI in
#                           # one file, onnxruntime-node's JS, libvulkan, the llama2.c models); carry it along
#   bench/gpu.sh            # the benchmark (uses the bundle when there is no node on PATH or GPU_BENCH_BUNDLE=1)
#
# Environment: OUT (report folder), DECODEKIT_MODELS (models mirror; default ../shared/models, else the
# bundle's), GPU_BENCH_TWINS (default "100M 400M"), GPU_BENCH_LIMIT (prompts per file, default 4),
# GPU_BENCH_TOKENS (default 64), GPU_BENCH_STRATEGIES, GPU_BENCH_BACKENDS (skip detection, e.g. "cpu").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$ROOT/bench/.gpu-bundle"
STRATEGIES="${GPU_BENCH_STRATEGIES:-ar,prompt-lookup,token-recycling,copyspec,draft-model,dyspec}"
LIMIT="${GPU_BENCH_LIMIT:-4}"
TOKENS="${GPU_BENCH_TOKENS:-64}"
START=$SECONDS

log() { printf '[gpu.sh %3ds] %s\n' "$((SECONDS - START))" "$*" >&2; }

pack() {
  command -v node >/dev/null || { echo "gpu.sh --pack needs node" >&2; exit 2; }
  local cli="$ROOT/packages/cli/dist/bin.js"
  [[ -f "$cli" ]] || { echo "build the CLI first: pnpm turbo run build --filter=@decodekit/cli..." >&2; exit 2; }
  local esbuild ort common models
  esbuild="$(ls -d "$ROOT"/node_modules/.pnpm/esbuild@*/node_modules/esbuild/bin/esbuild | head -1)"
  ort="$(ls -d "$ROOT"/node_modules/.pnpm/onnxruntime-node@1.30.0/node_modules/onnxruntime-node)"
  common="$(ls -d "$ROOT"/node_modules/.pnpm/onnxruntime-common@1.30.0/node_modules/onnxruntime-common)"
  models="${DECODEKIT_MODELS:-$ROOT/../shared/models}"
  rm -rf "$BUNDLE" && mkdir -p "$BUNDLE/node_modules" "$BUNDLE/lib" "$BUNDLE/models"
  # One ESM file; native and optional packages stay external (only onnxruntime-node is needed here).
  "$esbuild" "$cli" --bundle --platform=node --format=esm --target=node20 --log-level=error \
    --external:onnxruntime-node --external:onnxruntime-web --external:@huggingface/transformers \
    --external:better-sqlite3 --external:usearch \
    --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" \
    --outfile="$BUNDLE/decodekit.mjs"
  mkdir -p "$BUNDLE/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
  cp -r "$ort/package.json" "$ort/dist" "$ort/lib" "$BUNDLE/node_modules/onnxruntime-node/"
  cp "$ort/bin/napi-v6/linux/x64/onnxruntime_binding.node" "$BUNDLE/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/"
  xz -T0 -2 -c "$ort/bin/napi-v6/linux/x64/libonnxruntime.so.1" >"$BUNDLE/libonnxruntime.so.1.xz"
  cp -r "$common" "$BUNDLE/node_modules/onnxruntime-common"
  xz -T0 -2 -c "$(readlink -f "$(command -v node)")" >"$BUNDLE/node.xz"
  # The Vulkan loader (Dawn's WebGPU needs it; the NVIDIA driver brings only the ICD).
  local vulkan
  vulkan="$(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 2>/dev/null || true)"
  if [[ -z "$vulkan" ]]; then
    local deb_dir
    deb_dir="$(mktemp -d)"
    (cd "$deb_dir" && apt-get download libvulkan1 >/dev/null 2>&1 && dpkg -x ./*.deb extract) || true
    vulkan="$(ls "$deb_dir"/extract/usr/lib/x86_64-linux-gnu/libvulkan.so.1 2>/dev/null || true)"
  fi
  if [[ -n "$vulkan" ]]; then cp -L "$vulkan" "$BUNDLE/lib/libvulkan.so.1"; else log "no libvulkan.so.1 found: WebGPU will need the GPU machine's own"; fi
  for file in karpathy/tinyllamas/stories260K/stories260K.bin karpathy/tinyllamas/stories260K/tok512.bin llama2xs/model.bin llama2xs/tok512.bin; do
    mkdir -p "$BUNDLE/models/$(dirname "$file")" && cp "$models/$file" "$BUNDLE/models/$file"
  done
  local size
  size=$(du -sb "$BUNDLE" | cut -f1)
  log "wrote $BUNDLE ($((size / 1048576)) MiB; carry it to the GPU machine)"
  ((size <= 64 * 1048576)) || { echo "the bundle is over 64 MiB" >&2; exit 1; }
}

if [[ "${1:-}" == "--pack" ]]; then
  pack
  exit 0
fi

WORK="${TMPDIR:-/tmp}/decodekit-gpu"
OUT_DIR="${OUT:-$ROOT/.bench/gpu}"
mkdir -p "$WORK" "$OUT_DIR"

# Node and the CLI: the checkout's when Node is here, else the bundle's (unpacked once).
if command -v node >/dev/null && [[ "${GPU_BENCH_BUNDLE:-0}" != 1 ]]; then
  NODE=node
  CLI="$ROOT/packages/cli/dist/bin.js"
  [[ -f "$CLI" ]] || { echo "build the CLI first: pnpm turbo run build --filter=@decodekit/cli..." >&2; exit 2; }
  MODELS="${DECODEKIT_MODELS:-$ROOT/../shared/models}"
else
  [[ -f "$BUNDLE/node.xz" ]] || { echo "no node and no bundle: run bench/gpu.sh --pack on a machine with Node and carry bench/.gpu-bundle" >&2; exit 2; }
  RUNTIME="$WORK/runtime"
  if [[ ! -x "$RUNTIME/node" ]]; then
    log "unpacking node and onnxruntime"
    rm -rf "$RUNTIME" && mkdir -p "$RUNTIME"
    cp -r "$BUNDLE/node_modules" "$BUNDLE/decodekit.mjs" "$RUNTIME/"
    xz -dc "$BUNDLE/node.xz" >"$RUNTIME/node" && chmod +x "$RUNTIME/node"
    xz -dc "$BUNDLE/libonnxruntime.so.1.xz" >"$RUNTIME/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
  fi
  NODE="$RUNTIME/node"
  CLI="$RUNTIME/decodekit.mjs"
  MODELS="${DECODEKIT_MODELS:-$BUNDLE/models}"
  [[ -d "$ROOT/../shared/models" && -z "${DECODEKIT_MODELS:-}" ]] && MODELS="$ROOT/../shared/models"
  [[ -f "$BUNDLE/lib/libvulkan.so.1" ]] && export LD_LIBRARY_PATH="$BUNDLE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export DECODEKIT_MODELS="$MODELS" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
decodekit() { "$NODE" "$CLI" "$@"; }

# The NVIDIA Vulkan ICD ships inside libGLX_nvidia; containers often lack its manifest.
if [[ -z "${VK_ICD_FILENAMES:-}" ]] && ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
  glx="$(ls /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 /usr/lib64/libGLX_nvidia.so.0 2>/dev/null | head -1 || true)"
  if [[ -n "$glx" ]]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$glx" >"$WORK/nvidia_icd.json"
    export VK_ICD_FILENAMES="$WORK/nvidia_icd.json"
  fi
fi

# Which backends run: a one-token generation on stories260K decides.
if [[ -n "${GPU_BENCH_BACKENDS:-}" ]]; then
  read -r -a BACKENDS <<<"$GPU_BENCH_BACKENDS"
else
  BACKENDS=()
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    nvidia-smi -L | sed 's/^/[gpu.sh] /' >&2
    for backend in webgpu cuda; do
      if timeout 120 "$NODE" "$CLI" generate --backend "$backend" --prompt "Once upon a time" --max-tokens 1 >"$WORK/probe-$backend.log" 2>&1; then
        BACKENDS+=("$backend")
      else
        log "$backend unavailable: $(tail -1 "$WORK/probe-$backend.log")"
      fi
    done
  fi
  if ((${#BACKENDS[@]} == 0)); then
    log "no GPU backend works here: CPU fallback"
    BACKENDS=(cpu)
  fi
fi

read -r -a TWINS <<<"${GPU_BENCH_TWINS:-100M 400M}"
if [[ "${BACKENDS[*]}" == cpu && -z "${GPU_BENCH_TWINS:-}" ]]; then
  # On CPU a 400M twin is slow; keep the fallback within the time limit.
  TWINS=(100M)
  ((${GPU_BENCH_LIMIT:-0} > 0)) || LIMIT=2
  [[ -n "${GPU_BENCH_TOKENS:-}" ]] || TOKENS=32
fi

for size in "${TWINS[@]}"; do
  twin="$WORK/stories260K-twin-$size"
  [[ -f "$twin/config.json" ]] || decodekit convert stories260K --twin "$size" --out "$twin" --overwrite
done

summary="$OUT_DIR/summary.txt"
: >"$summary"
status=0
for backend in "${BACKENDS[@]}"; do
  for size in "${TWINS[@]}"; do
    out="$OUT_DIR/$backend-$size"
    log "bench $backend, twin $size (stories260K function, $size-parameter cost)"
    extra=(--threads "${GPU_BENCH_THREADS:-1,2}") # swept on the CPU backend only
    if decodekit bench --model "$WORK/stories260K-twin-$size" --backend "$backend" --strategies "$STRATEGIES" \
      --draft-model llama2xs --prompts "$ROOT/bench/stories.jsonl" --prompts "$ROOT/bench/grounded.jsonl" \
      --limit "$LIMIT" --max-tokens "$TOKENS" --no-transformers --no-random-model "${extra[@]}" --out "$out" \
      >"$out.log" 2>&1; then
      { echo "== $backend, stories260K function, $size-parameter cost"; grep -E 'speedup' "$out.log"; } >>"$summary"
    else
      status=1
      { echo "== $backend, $size: failed"; tail -5 "$out.log"; } >>"$summary"
    fi
  done
done
cat "$summary" >&2
log "reports in $OUT_DIR"
exit "$status"
