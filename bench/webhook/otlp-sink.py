#!/usr/bin/env python3
"""A local OTLP/HTTP receiver for bench/webhook's egw-otlp: answers every POST with 200 (an empty
ExportTraceServiceResponse) and keeps "REQUESTS BYTES" in a file, so the benchmark can show the spans were exported.

    otlp-sink.py PORT COUNT_FILE
"""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, count_file = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
totals = [0, 0]


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            totals[0] += 1
            totals[1] += len(body)
            with open(count_file, "w") as f:
                f.write(f"{totals[0]} {totals[1]}\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
