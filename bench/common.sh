# Shared preamble of the bench/ scripts (sourced): the built tinyq, the assets
# folder, the model (first argument or the default ResNet8) and a temporary
# folder removed on exit.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tinyq=build/src/tinyq
[ -x "$tinyq" ] || { echo "build tinyq first (cmake --build build)" >&2; exit 1; }
assets=${TINYQ_ASSETS:-../shared}
model=${1:-$assets/models/pretrainedResnet.h5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
