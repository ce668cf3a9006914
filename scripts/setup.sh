#!/usr/bin/env bash
# Installs everything tinyq needs on Debian 12: the Debian packages (apt-get)
# and the npm peers (npm ci with the committed lock file). Safe to run again:
# it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
  build-essential cmake pkg-config git ca-certificates
  libhdf5-dev nlohmann-json3-dev libcli11-dev            # Keras .h5, JSON, CLI
  libprotobuf-dev protobuf-compiler libonnx-dev           # ONNX import and export
  libtorch-dev                                           # TorchScript and state_dict export
  graphviz libgraphviz-dev                               # graph pictures (libgvc and its render plugins)
  libcurl4-openssl-dev libarchive-dev libssl-dev         # tinyq fetch: HTTP(S), .tar.gz, SHA-256
  libflatbuffers-dev flatbuffers-compiler                # .tflite models
  libcpp-httplib-dev                                     # tinyq serve (the playground's HTTP server)
  libsimde-dev                                           # --kernels avx512-emulated: the AVX-512 kernels on portable intrinsics
  chromium                                               # the playground's browser test (driven by npm playwright-core)
  libgtest-dev libgmock-dev libbenchmark-dev             # tests and benchmarks
  clang libclang-rt-14-dev                               # libFuzzer targets (scripts/fuzz.sh)
  python3 python3-h5py python3-numpy                     # test fixtures and independent checks
  python3-onnx python3-torch                             # peers: onnx.checker, PyTorch
)
# Node.js (for the TensorFlow.js and ONNX Runtime peers): Debian's, unless one is already installed.
command -v node >/dev/null 2>&1 || debian_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || debian_packages+=(npm)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm peers, exactly as locked. .npmrc sets ignore-scripts: onnxruntime-node's
# install script downloads GPU binaries from a host we cannot reach, and the
# CPU library it needs ships inside the package.
# A copy of the lock file inside node_modules records what was installed.
if ! cmp -s package-lock.json node_modules/.tinyq-installed-lock.json; then
  echo "setup: npm ci"
  npm ci --ignore-scripts --no-audit --no-fund
  cp package-lock.json node_modules/.tinyq-installed-lock.json
fi
echo "setup: done"
