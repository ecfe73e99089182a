#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Size check of the C sources: files over MAX_FILE lines, functions over MAX_FUNCTION lines.

`make size-check` (and the lint suite of tests/run.py) runs it over src/. It reads the sources as
clang-format leaves them (Linux braces): a function body opens with "{" alone at the start of a
line and closes with "}" alone at the start of a line; its length counts from the first line of
its signature to that closing brace. --list prints every function, longest first.

Files matching a --report-only pattern are listed but do not fail the check.
"""
import argparse
import fnmatch
import os
import re
import signal
import sys

MAX_FILE = 800
MAX_FUNCTION = 120
NAME = re.compile(r"(\w+)\s*\(")


def functions(path):
    """(name, first line, last line) of each function defined in path."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        if lines[i].rstrip() != "{":
            i += 1
            continue
        # the signature: back to the line after the previous blank line, comment end or "}"
        start = i - 1
        while start > 0:
            prev = lines[start - 1].rstrip()
            if not prev or prev.endswith(("*/", ";", "}")) or prev.startswith("#"):
                break
            start -= 1
        # the first name before "(" that is not a macro such as G_GNUC_PRINTF(2, 3)
        m = next((m for m in NAME.finditer(" ".join(lines[start:i]))
                  if not m.group(1).isupper()), None)
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != "}":
            end += 1
        if m:
            out.append((m.group(1), start + 1, end + 1))
        i = end + 1
    return out, len(lines) - (1 if lines and lines[-1] == "" else 0)


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # --list | head
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", default=["src"])
    ap.add_argument("--list", action="store_true", help="print every function, longest first")
    ap.add_argument("--report-only", action="append", default=[], metavar="GLOB",
                    help="files (fnmatch on the path) whose excess is shown but does not fail")
    ap.add_argument("--max-file", type=int, default=MAX_FILE)
    ap.add_argument("--max-function", type=int, default=MAX_FUNCTION)
    args = ap.parse_args()

    files = []
    for p in args.paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names if n.endswith((".c", ".h"))]
        else:
            files.append(p)
    rows, excess, failing = [], [], 0
    for path in sorted(files):
        funcs, n_lines = functions(path)
        lenient = any(fnmatch.fnmatch(path, g) for g in args.report_only)
        if n_lines > args.max_file:
            excess.append((path, f"{n_lines} lines (limit {args.max_file})", lenient))
        for name, first, last in funcs:
            length = last - first + 1
            rows.append((length, f"{path}:{first}", name))
            if length > args.max_function:
                excess.append((f"{path}:{first}", f"{name}() {length} lines "
                               f"(limit {args.max_function})", lenient))
    if args.list:
        for length, where, name in sorted(rows, key=lambda r: (-r[0], r[1])):
            print(f"{length:5d} {name:40s} {where}")
    for where, what, lenient in excess:
        print(f"{where}: {what}{' (report only)' if lenient else ''}")
        failing += not lenient
    print(f"sizes: {len(files)} files, {len(rows)} functions, {failing} over the limits"
          + (f", {len(excess) - failing} more reported only" if len(excess) > failing else ""))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
