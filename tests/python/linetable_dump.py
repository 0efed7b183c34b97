#!/usr/bin/env python3
"""Prints, as JSON, what this interpreter's own co_lines() says about the code
objects of a few stdlib modules: for each, co_linetable (hex), co_firstlineno
and the (start, end, line) ranges. python_unit_test.cpp decodes the same
tables with sonde's decoder and compares, offset by offset."""
import json
import sys
import types

import json.decoder
import threading
import argparse


def codes(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)


out = []
for mod in (threading, json.decoder, argparse):
    src = open(mod.__file__).read()
    for co in codes(compile(src, mod.__file__, "exec")):
        out.append({"name": co.co_qualname, "first": co.co_firstlineno, "table": co.co_linetable.hex(),
                    "ranges": [[s, e, -1 if l is None else l] for s, e, l in co.co_lines()]})
json.dump({"version": sys.version.split()[0], "codes": out}, sys.stdout)
