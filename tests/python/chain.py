"""A Python node for the stack tests: THREADS named threads each blocked in
outer -> middle -> inner -> time.sleep, a `spinner` thread running pure Python
(it holds the GIL nearly all the time), and the main thread blocked waiting
on an Event. Thread names take each way CPython keeps instance attributes:
"sleeper-0" (attribute values beside the object), "sleeper-1-été" (a name
that is not ASCII), "renamed-2" (renamed once running) and "spinner" (its
__dict__ asked for, so a real dict holds its attributes). Prints "ready" once every thread is in place. The lines the tests
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
        t = threading.Thread(target=outer, args=(started,), name=f"sleeper-{i}" + ("-\u00e9t\u00e9" if i == 1 else ""),
                             daemon=True)
        t.start()
        if i == 2:
            t.name = "renamed-2"
    spinner = threading.Thread(target=spin, args=(started,), name="spinner", daemon=True)
    spinner.__dict__["asked"] = True
    spinner.start()
    for _ in range(count + 1):
        started.acquire()
    time.sleep(0.2)  # every sleeper is inside time.sleep by now
    print("ready", flush=True)
    threading.Event().wait()  # @main


main()
