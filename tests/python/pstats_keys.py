#!/usr/bin/env python3
"""Loads a .pstat file with Python's own pstats, as a cProfile user would, and
prints one line per function NAME asked for: "NAME FILE LINE NC CUM" (the
cProfile key and its columns), or "NAME missing". Then "TOTAL N": the sum of
nc over the asked functions' keys is not a total, so TOTAL is the number of
samples (the largest cumulative count, the root's).

usage: pstats_keys.py FILE NAME...
"""
import pstats
import sys

stats = pstats.Stats(sys.argv[1])
for name in sys.argv[2:]:
    keys = [k for k in stats.stats if k[2] == name]
    if not keys:
        print(name, "missing")
        continue
    for k in keys:
        cc, nc, tt, ct, callers = stats.stats[k]
        print(name, k[0], k[1], nc, ct)
print("TOTAL", max(v[1] for v in stats.stats.values()))
