#!/usr/bin/env python3
"""A stand-in llama-server for the proxy's managed-mode tests.

Accepts forge's llama-server command line (unknown flags ignored) and serves /props, /health and
POST /v1/chat/completions (a `search` tool call when tools are offered, else text). Flags through
--extra-flags:

  --fake-crash          exit 1 at once with an error on stderr
  --fake-term-file P    on SIGTERM, write "SIGTERM" to P before exiting
"""

import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def flag(argv, name, default=None):
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
    return default


def main(argv):
    if "--fake-crash" in argv:
        print("error: failed to load model: fake crash requested", file=sys.stderr, flush=True)
        sys.exit(1)
    host = flag(argv, "--host", "127.0.0.1")
    port = int(flag(argv, "--port", "8080"))
    term_file = flag(argv, "--fake-term-file")

    def on_term(_signum, _frame):
        if term_file:
            with open(term_file, "w") as out:
                out.write("SIGTERM")
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/props":
                self.reply(200, {"default_generation_settings": {"n_ctx": 4096}})
            elif self.path == "/health":
                self.reply(200, {"status": "ok"})
            else:
                self.reply(404, {"error": "not found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length) or b"{}")
            if self.path != "/v1/chat/completions":
                self.reply(404, {"error": "not found"})
                return
            if request.get("tools"):
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c0", "type": "function",
                     "function": {"name": "search", "arguments": "{\"q\": \"x\"}"}}]}
            else:
                message = {"role": "assistant", "content": "managed hello"}
            self.reply(200, {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})

    ThreadingHTTPServer((host, port), Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
