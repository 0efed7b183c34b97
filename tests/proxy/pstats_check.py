#!/usr/bin/env python3
"""usage: pstats_check.py FILE [NAME...]: loads FILE with Python's pstats; prints
"entries N", "has NAME yes|no" for each NAME (a substring of a function name), and
"note TEXT" for each entry that is a note (the proxy's "<call ...>")."""
import pstats
import sys

stats = pstats.Stats(sys.argv[1])
keys = list(stats.stats.keys())
print("entries", len(keys))
for name in sys.argv[2:]:
    print("has", name, "yes" if any(name in k[2] for k in keys) else "no")
for k in keys:
    if k[2].startswith("<"):
        print("note", k[2])
