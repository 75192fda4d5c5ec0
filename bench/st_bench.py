"""sentence-transformers side of the benchmark.

Server mode (default): reads one JSON command per line on stdin and answers one JSON line on stdout, so the
TypeScript driver can alternate rounds between this process and its own runners. Commands:
  {"cmd": "load", "model": DIR, "backend": "torch"|"onnx", "variant": "fp32"|"int8", "threads": N}
  {"cmd": "run", "workloads": FILE, "key": KEY, "batch": 32}   -> per-call milliseconds and raw logits
  {"cmd": "gemm", "n": 1024, "seconds": 2}                     -> numpy fp32 GEMM GFLOP/s
  {"cmd": "matmul_onnx", "path": FILE, "n": 1024}              -> writes a one-MatMul ONNX graph
  {"cmd": "quit"}
Cold mode: `st_bench.py cold MODEL BACKEND VARIANT THREADS WORKLOADS` prints load-to-first-score time and peak
RSS after one DL19 call, for a fresh process.
Threads: the driver sets OMP/MKL/OPENBLAS thread variables; torch.set_num_threads is applied on load too.
"""

import json
import os
import resource
import sys
import time

_model = None
_workloads = {}


def _load(model_dir, backend, variant, threads):
    import torch
    from sentence_transformers import CrossEncoder

    torch.set_num_threads(threads)
    kwargs = {}
    if backend == "onnx":
        name = "onnx/model.onnx" if variant == "fp32" else "onnx/model_quantized.onnx"
        kwargs["model_kwargs"] = {
            "file_name": name,
            "provider": "CPUExecutionProvider",
        }
    return CrossEncoder(model_dir, device="cpu", backend=backend, **kwargs)


def _items(path, key):
    if path not in _workloads:
        with open(path, encoding="utf8") as f:
            _workloads[path] = {w["key"]: w for w in json.load(f)}
    return _workloads[path][key]["items"]


def _predict(model, item, batch):
    import torch

    pairs = [(item["query"], p) for p in item["passages"]]
    return model.predict(
        pairs,
        batch_size=batch,
        activation_fn=torch.nn.Identity(),
        convert_to_numpy=True,
        show_progress_bar=False,
    )


def _gemm(n, seconds):
    import numpy as np

    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ b
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def _matmul_onnx(path, n):
    import onnx
    from onnx import TensorProto, helper

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm", [a, b], [c])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def serve():
    global _model
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        cmd = msg["cmd"]
        try:
            if cmd == "load":
                t = time.perf_counter()
                _model = _load(msg["model"], msg["backend"], msg["variant"], msg["threads"])
                out = {"ok": True, "load_ms": (time.perf_counter() - t) * 1e3}
            elif cmd == "run":
                items = _items(msg["workloads"], msg["key"])[: msg.get("first")]
                per_call, scores = [], []
                t0 = time.perf_counter()
                for item in items:
                    t = time.perf_counter()
                    logits = _predict(_model, item, msg["batch"])
                    per_call.append((time.perf_counter() - t) * 1e3)
                    scores.append([float(x) for x in logits])
                out = {
                    "ok": True,
                    "per_call_ms": per_call,
                    "total_ms": (time.perf_counter() - t0) * 1e3,
                    "scores": scores,
                }
            elif cmd == "gemm":
                out = {"ok": True, "gflops": _gemm(msg["n"], msg["seconds"])}
            elif cmd == "matmul_onnx":
                _matmul_onnx(msg["path"], msg["n"])
                out = {"ok": True}
            elif cmd == "quit":
                print(json.dumps({"ok": True}), flush=True)
                return
            else:
                out = {"ok": False, "error": f"unknown command {cmd}"}
        except Exception as e:  # reported to the driver, which records the runner as unavailable
            out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


def cold(model_dir, backend, variant, threads, workloads):
    t = time.perf_counter()
    model = _load(model_dir, backend, variant, int(threads))
    item = _items(workloads, "dl19")[0]
    _predict(model, item, 32)
    cold_ms = (time.perf_counter() - t) * 1e3
    for item in _items(workloads, "dl19"):
        _predict(model, item, 32)
    print(json.dumps({"cold_ms": cold_ms, "peak_rss_mb": _peak_rss_kb() / 1024}), flush=True)


def _peak_rss_kb():
    # The process's own high-water mark: getrusage's ru_maxrss would include the parent's peak (Linux carries it
    # into a forked child), and the parent here is the benchmark driver.
    try:
        with open("/proc/self/status", encoding="utf8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "cold":
        cold(*sys.argv[2:7])
    else:
        serve()
