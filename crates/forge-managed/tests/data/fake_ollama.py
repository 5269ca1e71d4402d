#!/usr/bin/env python3
"""A stand-in for Ollama, for forge-managed's tests. Two roles, like the real `ollama` binary:

  fake_ollama.py serve --port N   the daemon: GET /api/version, POST /api/generate (an unload
                                  request is recorded), GET /fake/unloaded lists unloaded models
  fake_ollama.py stop MODEL       the CLI: asks the daemon at $OLLAMA_HOST to unload MODEL, the
                                  way `ollama stop` does (keep_alive 0)
"""

import json
import os
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(port):
    unloaded = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def send_json(self, status, payload):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/api/version":
                self.send_json(200, {"version": "0.0.0-fake"})
            elif self.path == "/fake/unloaded":
                self.send_json(200, unloaded)
            else:
                self.send_json(404, {"error": "not found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/api/generate" and request.get("keep_alive") == 0:
                unloaded.append(request["model"])
                self.send_json(200, {"model": request["model"], "done": True})
            else:
                self.send_json(400, {"error": "unexpected request"})

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def stop(model):
    host = os.environ.get("OLLAMA_HOST", "127.0.0.1:11434")
    body = json.dumps({"model": model, "keep_alive": 0}).encode()
    request = urllib.request.Request(
        f"http://{host}/api/generate", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        urllib.request.urlopen(request, timeout=5).read()
    except Exception as err:  # noqa: BLE001 - report any failure like the real CLI does
        print(f"Error: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[sys.argv.index("--port") + 1]))
    elif sys.argv[1:2] == ["stop"] and len(sys.argv) == 3:
        stop(sys.argv[2])
    else:
        print(f"usage: {sys.argv[0]} serve --port N | stop MODEL", file=sys.stderr)
        sys.exit(2)
