#!/usr/bin/env python3
"""A stand-in for llama-server, a llamafile runtime or `vllm serve`, for forge-managed's tests.

It accepts the command lines forge builds (unknown flags are ignored) and reads its behaviour
from flags passed through --extra-flags:

  --fake-mode healthy      serve /health, /props (llama) and /v1/models (vllm) (default)
  --fake-mode crash        print an error to stderr and exit 1 at once
  --fake-mode never-ready  answer every request with 503 "Loading model"
  --fake-n-ctx N           the context reported when no -c / --max-model-len is given (4096)
  --fake-loading-probes N  answer 503 to the first N readiness probes, then be healthy
  --fake-ignore-term       ignore SIGTERM (forge must escalate to SIGKILL)
  --fake-term-file PATH    on SIGTERM, write "SIGTERM" to PATH before exiting
"""

import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def flag_value(argv, *names, default=None):
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return default


def main(argv):
    mode = flag_value(argv, "--fake-mode", default="healthy")
    host = flag_value(argv, "--host", default="127.0.0.1")
    port = int(flag_value(argv, "--port", default="8080"))
    is_vllm = len(argv) > 0 and argv[0] == "serve"
    served = argv[1] if is_vllm and len(argv) > 1 else None
    ctx_flag = flag_value(argv, "--max-model-len") if is_vllm else flag_value(argv, "-c", "--ctx-size")
    n_ctx = int(ctx_flag or flag_value(argv, "--fake-n-ctx", default="4096"))
    loading_probes = int(flag_value(argv, "--fake-loading-probes", default="0"))
    term_file = flag_value(argv, "--fake-term-file")

    print(f"fake server argv: {' '.join(argv)}", file=sys.stderr, flush=True)
    if mode == "crash":
        print("error: failed to load model: fake crash requested", file=sys.stderr, flush=True)
        sys.exit(1)

    if "--fake-ignore-term" in argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        def on_term(_signum, _frame):
            if term_file:
                with open(term_file, "w") as f:
                    f.write("SIGTERM")
            sys.exit(0)

        signal.signal(signal.SIGTERM, on_term)

    state = {"probes": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            print("request: " + fmt % args, file=sys.stderr, flush=True)

        def send_json(self, status, payload):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if mode == "never-ready":
                self.send_json(503, {"error": {"code": 503, "message": "Loading model"}})
                return
            if self.path in ("/props", "/v1/models"):
                state["probes"] += 1
                if state["probes"] <= loading_probes:
                    self.send_json(503, {"error": {"code": 503, "message": "Loading model"}})
                    return
            if self.path == "/health":
                self.send_json(200, {"status": "ok"})
            elif self.path == "/props" and not is_vllm:
                self.send_json(200, {"default_generation_settings": {"n_ctx": n_ctx}})
            elif self.path == "/v1/models" and is_vllm:
                self.send_json(200, {"object": "list", "data": [{"id": served, "max_model_len": n_ctx}]})
            else:
                self.send_json(404, {"error": "not found"})

    server = ThreadingHTTPServer((host, port), Handler)
    print(f"listening on {host}:{port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
