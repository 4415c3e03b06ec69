#!/usr/bin/env python3
"""layers.py — the layer rule of core/ (docs/internals.md, "Layers").

    python3 tests/layers.py [CORE_DIR]      (make layers)

core/ is a stack of folders; a file may include headers of its own layer or
of a layer below, never of one above. Each #include "..." of every .c and .h
file under CORE_DIR (default: core/ beside this script) is resolved against
CORE_DIR (the compiler's -Icore) or the including file's folder; an include
of a higher layer, or of a header in no layer, is reported as FILE:LINE and
the exit status is 1. The public header tightrope.h sits at the bottom.
"""
import os
import re
import sys

# Layer of each folder, bottom first; folders of equal rank may include
# each other.
RANK = {"base": 0, "scenario": 1, "run": 2, "experiment": 3, "app": 4}
BOTTOM = {"tightrope.h"}          # at CORE_DIR's top, below every layer

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def layer_of(core, path):
    """The folder (layer) of path inside core, or None."""
    rel = os.path.relpath(path, core)
    if rel in BOTTOM:
        return "bottom"
    top = rel.split(os.sep)[0]
    return top if top in RANK and os.sep in rel else None


def rank(layer):
    return -1 if layer == "bottom" else RANK[layer]


def check(core):
    problems = []
    for dirpath, _, names in sorted(os.walk(core)):
        for name in sorted(names):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            mine = layer_of(core, path)
            if mine is None:
                problems.append(f"{path}:1: not in a layer folder ({', '.join(RANK)})")
                continue
            with open(path, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = None
                    for base in (core, dirpath):
                        cand = os.path.normpath(os.path.join(base, m.group(1)))
                        if os.path.exists(cand):
                            target = cand
                            break
                    theirs = layer_of(core, target) if target else None
                    if theirs is None:
                        problems.append(f"{path}:{lineno}: includes \"{m.group(1)}\", "
                                        "which is in no layer of core/")
                    elif rank(theirs) > rank(mine):
                        problems.append(f"{path}:{lineno}: includes \"{m.group(1)}\" of the "
                                        f"{theirs} layer from the {mine} layer below it "
                                        "(pass a callback down instead)")
    return problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    core = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(here), "core")
    problems = check(os.path.normpath(core))
    for p in problems:
        print(p)
    if problems:
        print(f"layers: {len(problems)} include(s) break the layer rule (docs/internals.md, \"Layers\")")
        return 1
    print("layers: every include goes to its own layer or below")
    return 0


if __name__ == "__main__":
    sys.exit(main())
