#!/usr/bin/env bash
# The playground's edit loop: the time of one edit-and-re-evaluate on 1,000
# test images (goal: under 300 ms), measured on a running `tinyq serve`.
# Each edit changes one layer's bits (2..8, round robin over the layers) and
# the server answers with the new accuracy and per-layer statistics; the
# table splits the server's own timings (build = quantizer build + integer
# executor, evaluate = the 1,000 images, statistics = per-layer SQNR on 100
# images) from the client's round trip. Then the same for one sensitivity
# trial (build + evaluate only) and for all 10,000 test images.
# Usage: bench/playground.sh [MODEL]   (EDITS=30 by default)
set -euo pipefail
source "$(dirname "$0")/common.sh"
edits=${EDITS:-30}
"$tinyq" serve "$model" --port 0 --eval-count 1000 > "$tmp/url" 2> "$tmp/serve.log" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 600); do grep -q http "$tmp/url" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$tmp/url")
/usr/bin/python3 - "$url" "$edits" "$(grep -m1 -o 'model name.*' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)" <<'PY'
import json, statistics, sys, time, urllib.request
url, edits, cpu, cores = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3], sys.argv[4]

def post(path, body):
    t = time.perf_counter()
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        j = json.load(r)
    return j, 1000 * (time.perf_counter() - t)

layers = [l["name"] for l in json.load(urllib.request.urlopen(url + "/api/model"))["layers"]]
rows = {k: [] for k in ("build", "evaluate", "build+evaluate", "layer statistics", "round trip")}
for i in range(edits):
    layer, bits = layers[i % len(layers)], 2 + i % 7
    j, rt = post("/api/edit", {"overrides": {"layers": {layer: {"activation_bits": bits}}}})
    t = j["timing_ms"]
    for k, v in (("build", t["build"]), ("evaluate", t["evaluate"]), ("build+evaluate", t["build"] + t["evaluate"]),
                 ("layer statistics", t["layer_statistics"]), ("round trip", rt)):
        rows[k].append(v)
trials = [post("/api/trial", {"overrides": {"layers": {layers[i % len(layers)]: {"keep_float": True}}}})[1] for i in range(10)]
full, full_rt = post("/api/edit", {"settings": {"eval_count": 10000}, "overrides": {}})  # first use also runs the float model once
full, full_rt = post("/api/edit", {"overrides": {"layers": {layers[0]: {"activation_bits": 4}}}})

print(f"CPU: {cpu} ({cores} cores); tinyq serve, {edits} edits of one layer's bits, 1,000 evaluation images")
print(f"{'step (ms)':34} {'median':>8} {'p90':>8} {'max':>8}")
for k, v in rows.items():
    v = sorted(v)
    print(f"{k:34} {statistics.median(v):8.1f} {v[int(0.9 * (len(v) - 1))]:8.1f} {v[-1]:8.1f}")
trials.sort()
print(f"{'sensitivity trial (round trip)':34} {statistics.median(trials):8.1f} {trials[int(0.9 * (len(trials) - 1))]:8.1f} {trials[-1]:8.1f}")
t = full["timing_ms"]
print(f"{'one edit on 10,000 images':34} {t['build'] + t['evaluate']:8.1f}   (build {t['build']:.1f} + evaluate {t['evaluate']:.1f}; round trip {full_rt:.1f})")
goal = statistics.median(rows["build+evaluate"])
print(f"goal: edit and re-evaluate 1,000 images in < 300 ms: {'met' if goal < 300 else 'NOT met'} ({goal:.0f} ms median)")
PY
