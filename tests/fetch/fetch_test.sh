#!/usr/bin/env bash
# tinyq fetch against a local mirror on 127.0.0.1 (made by make_mirror.py),
# one scenario per call:
#   clean        empty folder -> fetch -> eval gives 87.19%; a second fetch downloads nothing
#   checksum     a damaged file is rejected with a clear error and nothing is left behind
#   interrupted  the server dies mid-file: a clear error, nothing left; a second run completes
#   not_found    a 404 names the URL
#   demo         scripts/demo.sh on a machine without ../shared ends with 87.19%
# Usage: fetch_test.sh SCENARIO TINYQ MIRROR_DIR WORK_DIR
set -euo pipefail
scenario=$1 tinyq=$2 mirror=$3 work=$4/$scenario
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work/assets"
export TINYQ_ASSETS=$work/assets
server_pid=

fail() { echo "FAIL ($scenario): $*" >&2; exit 1; }
start_server() {  # root [--die-in NAME]
  rm -f "$work/port"
  /usr/bin/python3 "$here/mirror_server.py" "$1" "$work/port" "$work/requests.log" "${@:2}" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
  [ -s "$work/port" ] || fail "mirror server did not start"
  export TINYQ_MIRROR=http://127.0.0.1:$(cat "$work/port")
}
stop_server() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=; }
trap stop_server EXIT
no_leftovers() {  # nothing under a temporary name, and none of the files given
  if find "$TINYQ_ASSETS" -name '*.tinyq-part-*' | grep -q .; then fail "temporary files left: $(find "$TINYQ_ASSETS" -name '*.tinyq-part-*')"; fi
  for f in "$@"; do [ ! -e "$TINYQ_ASSETS/$f" ] || fail "$f exists after a failed fetch"; done
}
expect_failure() {  # pattern, then the command
  local pattern=$1; shift
  if "$@" >"$work/out.txt" 2>&1; then cat "$work/out.txt"; fail "expected a failure"; fi
  grep -Eq "$pattern" "$work/out.txt" || { cat "$work/out.txt"; fail "message does not match: $pattern"; }
  grep -E "error" "$work/out.txt"
}

case $scenario in
  clean)
    start_server "$mirror/good"
    "$tinyq" fetch | tee "$work/first.txt"
    grep -q "done    8 downloaded, 0 already present" "$work/first.txt" || fail "first run did not download all 8 files"
    no_leftovers
    [ ! -e "$work/outside.txt" ] && ! find "$work" -name outside.txt | grep -q . || fail "an archive path was written to disk"
    "$tinyq" eval | tee "$work/eval.txt"
    grep -q "accuracy   87.19%  (8,719 / 10,000 correct)" "$work/eval.txt" || fail "eval after fetch is not 87.19%"
    requests=$(wc -l <"$work/requests.log")
    "$tinyq" fetch | tee "$work/second.txt"
    grep -q "done    0 downloaded, 8 already present" "$work/second.txt" || fail "second run downloaded something"
    [ "$(wc -l <"$work/requests.log")" -eq "$requests" ] || fail "second run sent requests to the server"
    ;;
  checksum)
    start_server "$mirror/damaged"
    expect_failure "models/pretrainedResnet.h5 from http://127.0.0.1:[0-9]+/benchmark/.*pretrainedResnet.h5: SHA-256 [0-9a-f]{64} does not match the expected 5f938a8e.*nothing was written" \
      "$tinyq" fetch
    no_leftovers models/pretrainedResnet.h5
    ;;
  interrupted)
    start_server "$mirror/good" --die-in pretrainedResnet.h5
    expect_failure "download of http://127.0.0.1:[0-9]+/.*pretrainedResnet.h5 was interrupted .*run the command again" \
      "$tinyq" fetch
    no_leftovers models/pretrainedResnet.h5
    stop_server
    start_server "$mirror/good"
    "$tinyq" fetch | tee "$work/second.txt"
    grep -q "done    8 downloaded, 0 already present" "$work/second.txt" || fail "the second run did not complete"
    no_leftovers
    ;;
  not_found)
    start_server "$mirror/missing"
    expect_failure "HTTP 404 for http://127.0.0.1:[0-9]+/benchmark/training/image_classification/trained_models/pretrainedResnet.h5" \
      "$tinyq" fetch
    no_leftovers models/pretrainedResnet.h5
    ;;
  demo)
    start_server "$mirror/good"
    "$here/../../scripts/demo.sh" | tee "$work/demo.txt"
    tail -n 20 "$work/demo.txt" | grep -q "accuracy   87.19%" || fail "demo.sh did not end with 87.19%"
    ;;
  *) fail "unknown scenario" ;;
esac
echo "PASS ($scenario)"
