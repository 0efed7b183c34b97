#!/usr/bin/env python3
"""Reads a CPU profile file with the tool its format is for and prints the
samples whose stack holds each of the given function-name parts, plus the
total: "TOTAL N\nPART N\n...". Used by profile_test.cpp, so every format's
75/25 is checked as its real consumer sees it, not as we wrote it.

usage: profile_shares.py FORMAT FILE PART...
"""
import gzip, json, re, subprocess, sys


def pstats_counts(path, parts):
    import pstats
    st = pstats.Stats(path)
    # nc = samples with the function on the stack; the total is the sample count
    # (pstats' total_tt is the sum of self seconds).
    out = {p: sum(v[1] for k, v in st.stats.items() if p in k[2]) for p in parts}
    total_self = sum(v[2] for v in st.stats.values())
    hz = None
    return out, total_self


def calltree_counts(path, parts):
    r = subprocess.run(["callgrind_annotate", "--inclusive=yes", path], capture_output=True, text=True, check=True)
    total = int(re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", r.stdout).group(1).replace(",", ""))
    out = {}
    for p in parts:
        n = 0
        for line in r.stdout.splitlines():
            m = re.match(r"\s*([\d,]+) \([\d.]+%\)\s+(.*)$", line)
            if m and p in m.group(2):
                n = max(n, int(m.group(1).replace(",", "")))
        out[p] = n
    return out, total


def decode_raw_tree(text):
    """protoc --decode_raw text -> nested lists of (field, value-or-children)."""
    root, stack = [], []
    cur = root
    for line in text.splitlines():
        t = line.strip()
        if not t:
            continue
        if t.endswith("{"):
            child = []
            cur.append((int(t.split()[0]), child))
            stack.append(cur)
            cur = child
        elif t == "}":
            cur = stack.pop()
        else:
            k, v = t.split(": ", 1)
            cur.append((int(k), v))
    return root


def pprof_counts(path, parts):
    raw = gzip.open(path).read()
    r = subprocess.run(["protoc", "--decode_raw"], input=raw, capture_output=True, check=True)
    tree = decode_raw_tree(r.stdout.decode("utf-8", "replace"))
    strings = [json.loads(v) if v.startswith('"') else v for k, v in tree if k == 6]
    funcs, locs, samples = {}, {}, []
    for k, v in tree:
        if k == 5:
            d = {f: x for f, x in v if not isinstance(x, list)}
            funcs[int(d[1])] = strings[int(d[2])]
        elif k == 4:
            lid = int(next(x for f, x in v if f == 1))
            locs[lid] = [int(next(x for f2, x in line if f2 == 1)) for f, line in v if f == 4]
        elif k == 2:
            ids = [int(x) for f, x in v if f == 1]
            vals = [int(x) for f, x in v if f == 2]
            samples.append((ids, vals[0]))
    out = {p: 0 for p in parts}
    total = 0
    for ids, n in samples:
        names = [funcs[fid] for lid in ids for fid in locs[lid]]
        total += n
        for p in parts:
            if any(p in name for name in names):
                out[p] += n
    return out, total


def speedscope_counts(path, parts):
    doc = json.load(open(path))
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = [f["name"] for f in doc["shared"]["frames"]]
    out = {p: 0 for p in parts}
    total = 0
    for prof in doc["profiles"]:
        assert prof["type"] == "sampled"
        for stack, w in zip(prof["samples"], prof["weights"]):
            total += w
            for p in parts:
                if any(p in frames[i] for i in stack):
                    out[p] += w
    return out, total


def collapsed_counts(path, parts):
    out = {p: 0 for p in parts}
    total = 0
    for line in open(path):
        stack, n = line.rstrip("\n").rsplit(" ", 1)
        total += int(n)
        for p in parts:
            if p in stack:
                out[p] += int(n)
    return out, total


def json_counts(path, parts):
    doc = json.load(open(path))
    out = {p: max([f["total"] for f in doc["functions"] if p in f["name"]] or [0]) for p in parts}
    return out, doc["samples"]


readers = {"pstats": pstats_counts, "calltree": calltree_counts, "pprof": pprof_counts,
           "speedscope": speedscope_counts, "collapsed": collapsed_counts, "json": json_counts}

fmt, path, parts = sys.argv[1], sys.argv[2], sys.argv[3:]
counts, total = readers[fmt](path, parts)
print("TOTAL", total)
for p in parts:
    print(p, counts[p])
