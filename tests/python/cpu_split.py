"""A CPU-bound Python node for the profile tests. Prints "ready", then:

  split:  the main thread loops heavy(); light() where heavy does three times
          the work of light: a profile must say 75/25 between them;
  bursty: a thread `burster` computes in burn() for ~5 ms, then sleeps in
          rest() for ~20 ms, over and over. CPU samples land in burn(); a
          Python stack read after the fact (not at the tick) would often find
          the thread in rest() instead.

usage: python cpu_split.py split|bursty
"""
import sys
import threading
import time


def heavy():  # @heavy
    x = 0
    for i in range(30000):
        x += i
    return x


def light():  # @light
    x = 0
    for i in range(10000):
        x += i
    return x


def burn():
    end = time.perf_counter() + 0.005
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def rest():
    time.sleep(0.02)


def bursts():
    while True:
        burn()
        rest()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "split"
    print("ready", flush=True)
    if mode == "bursty":
        t = threading.Thread(target=bursts, name="burster", daemon=True)
        t.start()
        t.join()
    while True:
        heavy()
        light()


main()
