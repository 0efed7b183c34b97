"""A Python node for the incident test: an HTTP server on PORT
(ThreadingHTTPServer: a thread per connection) whose GET /api/health answers
200 until POST /hang; from then on each health call blocks in wait_for_db()
on a lock that never frees, as a node waiting on a dead database would. A
thread named `cruncher` burns CPU in crunch_numbers() all along. Prints
"ready" once listening.

usage: python health_node.py PORT
"""
import http.server
import sys
import threading

stuck = threading.Event()
db_lock = threading.Lock()
db_lock.acquire()  # never released: the database is gone


def wait_for_db():
    db_lock.acquire()  # @wait_for_db


def crunch_numbers():
    n = 0
    while True:
        n = (n * 31 + 7) % 1000003  # @crunch


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if stuck.is_set():
            wait_for_db()
        self.answer(b"ok")

    def do_POST(self):
        stuck.set()
        self.answer(b"hanging from now on")


threading.Thread(target=crunch_numbers, name="cruncher", daemon=True).start()
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
print("ready", flush=True)
server.serve_forever()
