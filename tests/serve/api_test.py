#!/usr/bin/env python3
"""Every endpoint of `tinyq serve`'s API, the bad inputs it must refuse with a
400 and a message, and a bounded load test on loopback.

Usage: api_test.py TINYQ TEST_BATCH.bin WORK_DIR

Values are checked against what can be derived independently: image bytes
against the CIFAR-10 file, dequantized weights against half a quantization
step, integer activations against their scale's grid, the exported models
against onnx.checker, the golden archive's members by name.
"""
import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import onnx

tinyq, test_batch, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


server = subprocess.Popen([tinyq, "serve", "--port", "0", "--eval-count", "200", "--calib-count", "500"],
                          stdout=subprocess.PIPE, text=True)
line = server.stdout.readline()
match = re.search(r"(http://\S+)", line)
if not match:
    server.kill()
    sys.exit(f"tinyq serve did not print its address: {line!r}")
base = match.group(1).rstrip("/")


def request(method, path, body=None, raw=None, headers=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def get_json(path):
    status, body, _ = request("GET", path)
    assert status == 200, (path, status, body[:300])
    return json.loads(body)


try:
    records = np.fromfile(test_batch, dtype=np.uint8).reshape(-1, 3073)

    # --- every endpoint -----------------------------------------------------
    model = get_json("/api/model")
    check(len(model["classes"]) == 10 and len(model["layers"]) >= 10, f"/api/model: {len(model['layers'])} layers, 10 classes")
    state = get_json("/api/state")
    check(state["eval_count"] == 200 and 0 < state["int8_accuracy"] <= 100, f"/api/state: int8 {state['int8_accuracy']}% on 200 images")
    check(all(math.isfinite(l["sqnr_accumulated_db"]) for l in state["layers"]), "/api/state: every layer has a finite SQNR")
    evaluation = get_json("/api/evaluation")
    idx = evaluation["test_batch_indices"]
    check(len(idx) == 200 and evaluation["labels"] == [int(records[i, 0]) for i in idx], "/api/evaluation: indices and labels match test_batch.bin")
    counts = np.bincount(evaluation["labels"], minlength=10)
    check(counts.min() == counts.max() == 20, "/api/evaluation: stratified (20 images per class)")
    status, svg, ctype = request("GET", "/api/graph.svg")
    check(status == 200 and b"<svg" in svg and "svg" in ctype, "/api/graph.svg is an SVG")
    status, pixels, _ = request("GET", "/api/image?index=7")
    check(status == 200 and pixels == records[7, 1:].tobytes(), "/api/image: the test image's 3072 bytes")

    layer = get_json("/api/layer?name=conv2d")
    w = layer["weights"]
    err = np.abs(np.array(w["error"]))
    scales = np.array(layer["weight_scales"])
    bound = (scales[:, None] if len(scales) > 1 else scales[0]) / 2 + 1e-7
    check(w["shape"] == [16, 3, 3, 3] and np.all(err <= bound), "/api/layer: weights [16,3,3,3], |dequantized - float| <= scale/2")
    check(layer["operation"]["op"] == "QLinearConv" and layer["operation"]["quantization"]["accumulator"]["fits_int32"],
          "/api/layer: the integer model's QLinearConv with its accumulator bound")
    check(sum(layer["histogram"]["counts"]) > 0 and "grid" in layer["histogram"], "/api/layer: histogram with the quantization grid")

    act = get_json("/api/activation?layer=conv2d&image=3")
    out = [t for t in layer["tensors"] if t["role"] == "output"][0]
    codes = np.array(act["int8_dequantized"]) / out["scale"] + out["zero_point"]
    check(act["shape"] == [1, 16, 32, 32] and np.allclose(codes, np.round(codes), atol=1e-3),
          "/api/activation: [1,16,32,32], integer values on the output's scale grid")
    div = get_json("/api/divergence?image=3")
    check(len(div["layers"]) == len(state["layers"]) and div["label"] == int(records[3, 0]), "/api/divergence: one SQNR per layer")

    # An edit, then a trial that must not change the current model.
    edited = request("POST", "/api/edit", {"overrides": {"layers": {"conv2d_2": {"bits": 4}}}})
    e = json.loads(edited[1])
    row = [l for l in e["layers"] if l["layer"] == "conv2d_2"][0]
    check(edited[0] == 200 and row["bits"] == 4 and row["weight_bits"] == 4 and e["version"] > state["version"],
          "/api/edit: 4 bits on conv2d_2, new version")
    status, body, _ = request("POST", "/api/trial", {"overrides": {"layers": {"conv2d_2": {"keep_float": True}}}})
    check(status == 200 and "int8_accuracy" in json.loads(body), "/api/trial answers")
    check(get_json("/api/state")["version"] == e["version"], "/api/trial leaves the current model alone")
    status, body, _ = request("POST", "/api/edit", {"settings": {"method": "entropy", "per_channel": True, "requant": "fixed"}})
    check(status == 200 and json.loads(body)["settings"]["method"] == "entropy", "/api/edit: global settings")

    # Exports.
    for name in ("qdq", "qop"):
        status, data, _ = request("GET", f"/api/export/{name}.onnx")
        path = os.path.join(work, f"{name}.onnx")
        open(path, "wb").write(data)
        try:
            onnx.checker.check_model(onnx.load(path), full_check=True)
            ok = status == 200
        except Exception as ex:  # noqa: BLE001 - reported as a failure
            print(ex)
            ok = False
        check(ok, f"/api/export/{name}.onnx passes onnx.checker (full check)")
    ops = get_json("/api/export/ops.json")
    check(any(n["op"] == "QLinearConv" for n in ops["nodes"]), "/api/export/ops.json lists the QLinearConv nodes")
    ov = get_json("/api/export/overrides.json")
    check(ov["layers"]["conv2d_2"]["weight_bits"] == 4 and "--per-channel" in ov["scheme"]["quantize_flags"], "/api/export/overrides.json")
    status, tgz, _ = request("GET", "/api/export/golden?layer=conv2d&image=5")
    names = tarfile.open(fileobj=io.BytesIO(tgz)).getnames() if status == 200 else []
    layer_files = [n for n in names if re.match(r"golden/\d+_conv2d/", n)]
    check("golden/manifest.json" in names and any(n.endswith("/accumulator.npy") for n in layer_files)
          and len(layer_files) == len(names) - 1, f"/api/export/golden: manifest and {len(layer_files)} files of layer conv2d only")

    # --- bad inputs: 400 with a message, the model untouched ------------------
    version = get_json("/api/state")["version"]
    bad = [
        ("POST", "/api/edit", b"{not json", "not valid JSON"),
        ("POST", "/api/edit", b"[1,2]", "must be a JSON object"),
        ("POST", "/api/edit", b'{"colour": 1}', "unknown field 'colour'"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"conv2d": {"range_scale": NaN}}}}', "not valid JSON"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"conv2d": {"range_scale": Infinity}}}}', "not valid JSON"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"conv2d": {"range_scale": 1e999}}}}', "not valid JSON"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"conv2d": {"range_scale": 0}}}}', "must be positive"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"conv2d": {"range_scale": -2}}}}', "must be positive"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"conv2d": {"bits": 1}}}}', "bits must be 2..8"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"conv2d": {"bits": 9}}}}', "bits must be 2..8"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"conv2d": {"bits": "4"}}}}', "expected an integer"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"conv2d": {"bits": 4.5}}}}', "expected an integer"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"no_such_layer": {"bits": 4}}}}', "no layer named 'no_such_layer'"),
        ("POST", "/api/edit", b'{"overrides": {"tensors": {"no_such_tensor": {"bits": 4}}}}', "no float activation tensor named"),
        ("POST", "/api/edit", b'{"overrides": {"tensors": {"input": {"rmin": 5, "rmax": 1}}}}', "must be below rmax"),
        ("POST", "/api/edit", b'{"overrides": {"tensors": {"input": {"rmin": -1e39, "rmax": 1}}}}', "within +-1e30"),
        ("POST", "/api/edit", b'{"overrides": {"layers": {"add": {"weight_bits": 4}}}}', "has no weights"),
        ("POST", "/api/edit", b'{"settings": {"eval_count": 0}}', "1..10000"),
        ("POST", "/api/edit", b'{"settings": {"eval_count": 10001}}', "1..10000"),
        ("POST", "/api/edit", b'{"settings": {"activation": "u16"}}', "expected \\\"u8\\\" or \\\"s8\\\""),
        ("POST", "/api/edit", b'{"settings": {"requant": "tflite"}}', "expected \\\"float\\\" or \\\"fixed\\\""),
        ("POST", "/api/edit", b'{"settings": {"speed": 11}}', "unknown setting"),
        ("POST", "/api/trial", b'{"overrides": {"layers": {"conv2d": {"bits": 0}}}}', "bits must be 2..8"),
        ("GET", "/api/layer", None, "missing query parameter 'name'"),
        ("GET", "/api/layer?name=zzz", None, "no quantized layer named 'zzz'"),
        ("GET", "/api/image?index=-1", None, "must be an integer 0..9999"),
        ("GET", "/api/image?index=10000", None, "must be an integer 0..9999"),
        ("GET", "/api/image?index=abc", None, "must be an integer 0..9999"),
        ("GET", "/api/image?index=1e3", None, "must be an integer 0..9999"),
        ("GET", "/api/activation?layer=conv2d&image=99999999999999999999", None, "must be an integer"),
        ("GET", "/api/activation?layer=nope&image=1", None, "no quantized layer named 'nope'"),
        ("GET", "/api/divergence", None, "missing query parameter 'image'"),
        ("GET", "/api/export/golden?layer=conv2d&image=-5", None, "must be an integer"),
    ]
    for method, path, raw, message in bad:
        status, body, ctype = request(method, path, raw=raw, headers={"Content-Type": "application/json"} if raw else None)
        try:
            text = json.loads(body)["error"]
        except Exception:  # noqa: BLE001
            text = body[:200].decode(errors="replace")
        check(status == 400 and message.replace('\\"', '"') in text, f"{method} {path[:60]} -> {status}: {text[:110]}")
    # An oversized body is refused from its Content-Length, before it is sent.
    import socket
    host, port = re.match(r"http://([^:/]+):(\d+)", base).groups()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"POST /api/edit HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {64 << 20}\r\n\r\n".encode())
        # The reply may arrive in pieces (headers, then body: seen under the
        # sanitizers): read until the message is there or the server closes.
        received = b""
        while b"the limit is" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        reply = received.decode(errors="replace")
    check(reply.startswith("HTTP/1.1 400") and "the limit is" in reply, "a 64 MiB body is refused with 400 before it is read")
    status, body, _ = request("GET", "/api/no-such-thing")
    check(status == 404 and "error" in json.loads(body), "unknown path -> 404 with a JSON error")
    check(get_json("/api/state")["version"] == version, "no bad request changed the model")

    # --- bounded load test: concurrent clients for a few seconds --------------
    duration, clients = 4.0, 6
    latencies = {}
    errors = []
    lock = threading.Lock()

    def client(k):
        deadline = time.time() + duration
        i = 0
        while time.time() < deadline:
            i += 1
            kind = ["state", "layer", "trial", "edit", "image"][(k + i) % 5]
            t = time.perf_counter()
            if kind == "state":
                status, body, _ = request("GET", "/api/state")
            elif kind == "layer":
                status, body, _ = request("GET", "/api/layer?name=conv2d_3")
            elif kind == "image":
                status, body, _ = request("GET", f"/api/image?index={(k * 97 + i) % 10000}")
            else:
                bits = 2 + (k + i) % 7
                status, body, _ = request("POST", f"/api/{kind}", {"overrides": {"layers": {"conv2d_4": {"bits": bits}}}})
                if status == 200 and kind == "edit":
                    got = json.loads(body)["overrides"]["layers"]["conv2d_4"]
                    if got.get("activation_bits") != bits:
                        with lock:
                            errors.append(f"edit to {bits} bits answered with {got}")
            dt = time.perf_counter() - t
            with lock:
                latencies.setdefault(kind, []).append(dt)
                if status != 200:
                    errors.append(f"{kind}: HTTP {status} {body[:100]!r}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(len(v) for v in latencies.values())
    print(f"load: {clients} clients, {duration:.0f} s, {total} requests")
    print(f"{'endpoint':10} {'requests':>8} {'median ms':>10} {'p99 ms':>8}")
    for kind, v in sorted(latencies.items()):
        v = sorted(v)
        p99 = v[min(len(v) - 1, int(math.ceil(0.99 * len(v))) - 1)]
        print(f"{kind:10} {len(v):8d} {1000 * statistics.median(v):10.1f} {1000 * p99:8.1f}")
    check(not errors, f"load test: no errors ({len(errors)}: {errors[:3]})")
    check(server.poll() is None, "the server is still running")
    check(get_json("/api/state")["version"] > version, "the server still answers after the load test")
finally:
    server.kill()

print(f"{len(failures)} failure(s)" if failures else "all checks passed")
sys.exit(1 if failures else 0)
