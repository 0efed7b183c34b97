#!/usr/bin/env python3
"""A real HTTP/1.1 upstream for the proxy tests (Python's http.server, keep-alive on).

usage: upstream.py PORT|/unix/socket/path DIR
  GET  /files/NAME            the bytes of DIR/NAME (Content-Length)
  GET  /chunked?n=N           N bytes (i % 251) in chunks of 1000 (Transfer-Encoding: chunked)
  GET  /work?ms=N             N ms of CPU in python_api_work() (Python frames in the call's profile)
  any other request           JSON: method, path, the body's length and sha256 (a chunked
                              request body is de-chunked), and the header names received
Every request's method, path and header names are appended to DIR/../requests.log as a JSON line.
Prints "ready" once listening."""
import hashlib
import http.server
import json
import os
import socketserver
import sys
import time
import urllib.parse


def python_api_work(ms):
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, body, ctype="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        with open(os.path.join(sys.argv[2], "..", "requests.log"), "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path,
                                  "headers": sorted(k.lower() for k in self.headers.keys())}) + "\n")
        if self.command in ("GET", "HEAD") and url.path.startswith("/files/"):
            name = os.path.basename(url.path)
            with open(os.path.join(sys.argv[2], name), "rb") as f:
                return self.send(200, f.read())
        if self.command == "GET" and url.path == "/chunked":
            n = int(urllib.parse.parse_qs(url.query).get("n", ["0"])[0])
            data = bytes(i % 251 for i in range(n))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for at in range(0, n, 1000):
                part = data[at:at + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.command == "GET" and url.path == "/work":
            ms = int(urllib.parse.parse_qs(url.query).get("ms", ["0"])[0])
            return self.send(200, json.dumps({"loops": python_api_work(ms)}).encode(), "application/json")
        doc = {"method": self.command, "path": self.path, "length": len(body),
               "sha256": hashlib.sha256(body).hexdigest(),
               "headers": sorted(k.lower() for k in self.headers.keys())}
        self.send(200, json.dumps(doc).encode(), "application/json")

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("unix", 0)  # BaseHTTPRequestHandler wants an address pair


if sys.argv[1].startswith("/"):
    server = UnixServer(sys.argv[1], Handler)
else:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("ready", flush=True)
server.serve_forever()
