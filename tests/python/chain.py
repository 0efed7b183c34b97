"""A Python node for the stack tests: THREADS named threads each blocked in
outer -> middle -> inner -> time.sleep, a `spinner` thread running pure Python
(it holds the GIL nearly all the time), and the main thread blocked waiting
on an Event. Prints "ready" once every thread is in place. The lines the tests
expect are marked with "# @name" comments, so they are found, not hard-coded.

usage: python chain.py [THREADS]
"""
import sys
import threading
import time


class Worker:
    def inner(self, started):
        started.release()
        time.sleep(3600)  # @inner

    def middle(self, started):
        self.inner(started)  # @middle


def outer(started):
    Worker().middle(started)  # @outer


def spin(started):
    started.release()
    n = 0
    while True:  # @spin_loop
        n += 1  # @spin


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    started = threading.Semaphore(0)
    for i in range(count):
        threading.Thread(target=outer, args=(started,), name=f"sleeper-{i}", daemon=True).start()
    threading.Thread(target=spin, args=(started,), name="spinner", daemon=True).start()
    for _ in range(count + 1):
        started.acquire()
    time.sleep(0.2)  # every sleeper is inside time.sleep by now
    print("ready", flush=True)
    threading.Event().wait()  # @main


main()
