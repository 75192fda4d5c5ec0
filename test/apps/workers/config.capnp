# workerd's configuration for the two Workers: `web` (worker.js, the browser build scoring inline) and `remote`
# (remote-worker.js, RemoteScorer). Every outgoing fetch of `web` is answered from the folder `files` (models and
# ONNX Runtime's WebAssembly, a stand-in for R2 or any static host); `remote`'s go to the rerank server whose
# address scripts/app-check.ts writes in place of RERANK_ADDRESS.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "web", worker = .web),
    (name = "remote", worker = .remote),
    (name = "files", disk = (path = "files")),
    (name = "rerank", external = (address = "RERANK_ADDRESS", http = ())),
    (name = "cache", worker = .cache),
  ],
  sockets = [
    (name = "web", address = "127.0.0.1:*", http = (), service = "web"),
    (name = "remote", address = "127.0.0.1:*", http = (), service = "remote"),
  ],
);

const web :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "bundle/worker.js")],
  compatibilityDate = "2025-09-01",
  bindings = [
    (name = "MODEL_URL", text = "http://files/models/tiny"),
    (name = "WASM_URL", text = "http://files/ort/"),
  ],
  globalOutbound = "files",
  cacheApiOutbound = "cache",
);

const remote :Workerd.Worker = (
  modules = [(name = "remote-worker.js", esModule = embed "bundle/remote-worker.js")],
  compatibilityDate = "2025-09-01",
  bindings = [(name = "RERANK_URL", text = "http://rerank")],
  globalOutbound = "rerank",
);

const cache :Workerd.Worker = (
  modules = [(name = "cache.js", esModule = embed "cache.js")],
  compatibilityDate = "2025-09-01",
);
