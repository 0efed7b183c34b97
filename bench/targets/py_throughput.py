"""A CPU-bound Python node for bench/python.sh: prints "ready", then counts
calls of a small Python function chain for WINDOW seconds and prints
"units_per_s N". Deep enough (8 Python frames) that a Python-aware sampler
has a chain to read on every tick."""
import sys
import time


def leaf(n):
    x = 0
    for i in range(n):
        x += i
    return x


def f1(n): return leaf(n)
def f2(n): return f1(n)
def f3(n): return f2(n)
def f4(n): return f3(n)
def f5(n): return f4(n)
def f6(n): return f5(n)


window = float(sys.argv[1]) if len(sys.argv) > 1 else 5
print("ready", flush=True)
units = 0
end = time.perf_counter() + window
while time.perf_counter() < end:
    f6(200)
    units += 1
print("units_per_s", units / window, flush=True)
