#!/usr/bin/python3
"""check_structure.py: the shape rules of the production C, checked.

    scripts/check_structure.py [--max-file-lines 800] [--max-function-lines 70] [ROOT]

Reads every .c and .h under core/, proto/, store/, nodes/ and tools/ (the
production code; tests and bench are not held to these limits) and reports:

- a file longer than --max-file-lines lines;
- a function longer than --max-function-lines, counted from the line of its
  name to the line of its closing brace (TigerBeetle's limit is 70);
- two project files that include each other's headers (an include cycle:
  a.c or a.h includes b.h while b.c or b.h includes a.h);
- a header that does not open with a comment (what the module does).

Functions are found the way the code is written here: a definition starts at
column 0 and its body's braces sit at column 0. Exits 1 if anything breaks a
rule, so ctest runs it as the test `structure`.
"""
import argparse
import os
import re
import sys

DIRS = ("core", "proto", "store", "nodes", "tools")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
FUNC_HEAD = re.compile(r'^[A-Za-z_][\w\s\*,()\[\]]*\b([A-Za-z_]\w*)\s*\(')


def production_files(root):
    for top in DIRS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    yield os.path.join(dirpath, name)


def long_functions(lines, limit):
    """(name, first line, length) of every function body over limit lines."""
    found = []
    name, head_line, start = None, 0, None
    for i, line in enumerate(lines):
        m = FUNC_HEAD.match(line)
        if m and not line.startswith(("typedef", "#")) \
                and start is None:
            name, head_line = m.group(1), i
        if line.startswith("{") and start is None and name is not None:
            start = i
        elif line.startswith("}") and start is not None:
            length = i - head_line + 1
            if length > limit:
                found.append((name, head_line + 1, length))
            name, start = None, None
        elif start is None and line.strip().endswith(";"):
            name = None
    return found


def stem(path):
    base = os.path.basename(path)
    return base[:-2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-file-lines", type=int, default=800)
    ap.add_argument("--max-function-lines", type=int, default=70)
    ap.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), ".."))
    args = ap.parse_args()

    problems = []
    includes = {}  # module stem -> set of included project header stems
    headers = set()
    for path in production_files(args.root):
        rel = os.path.relpath(path, args.root)
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) > args.max_file_lines:
            problems.append(f"{rel}: {len(lines)} lines (limit {args.max_file_lines})")
        for name, line_no, length in long_functions(lines, args.max_function_lines):
            problems.append(f"{rel}:{line_no}: {name} is {length} lines "
                            f"(limit {args.max_function_lines})")
        if path.endswith(".h"):
            headers.add(stem(path))
            first = next((l for l in lines if l.strip()), "")
            if not first.lstrip().startswith(("/*", "//")):
                problems.append(f"{rel}: the header does not open with a comment")
        mod = stem(path)
        for line in lines:
            m = INCLUDE.match(line)
            if m:
                inc = stem(os.path.basename(m.group(1)))
                if inc != mod:
                    includes.setdefault(mod, set()).add(inc)

    for a in sorted(includes):
        for b in sorted(includes[a]):
            if a < b and b in headers and a in headers and a in includes.get(b, ()):
                problems.append(f"include cycle: {a} <-> {b}")

    for p in problems:
        print(p)
    print(f"check_structure: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
