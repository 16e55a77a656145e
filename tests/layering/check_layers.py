#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The library's stages call and include only downwards, and no files call each other in a loop.

Derived from the code, not from a list of exceptions:
- includes: every #include "x.h" in libftpinspect/src/<stage>/ must name a header of the same
  stage or of a stage below it; a header named *_int.h is private to its own stage;
- symbols: `nm` of every object file of the library gives the symbols it defines and uses; a use
  of a symbol defined in a higher stage fails;
- the file-level call graph (object uses a symbol another object defines) must have no cycle:
  every strongly connected component is one file.

usage: check_layers.py SRC_DIR OBJ_DIR STAGE [STAGE...]   (stages bottom up)
"""
import os
import re
import subprocess
import sys


def stage_files(src, stages):
    files = {}
    for st in stages:
        d = os.path.join(src, st)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                files[os.path.join(d, name)] = st
    return files


def check_includes(src, stages, errors):
    files = stage_files(src, stages)
    header_stage = {os.path.basename(p): st for p, st in files.items() if p.endswith(".h")}
    rank = {st: i for i, st in enumerate(stages)}
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    for path, st in files.items():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for h in inc.findall(text):
            hs = header_stage.get(os.path.basename(h))
            if hs is None:
                if h != "ftpinspect.h":
                    errors.append(f"{path}: includes unknown header {h}")
                continue
            if rank[hs] > rank[st]:
                errors.append(f"{path}: stage {st} includes {h} of the higher stage {hs}")
            if h.endswith("_int.h") and hs != st:
                errors.append(f"{path}: includes {h}, private to stage {hs}")
    return files


def nm(obj):
    out = subprocess.run(["nm", "-g", obj], check=True, capture_output=True, text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVWGSC":
            defined.add(parts[2])
    return defined, used


def objects(obj_dir, stages):
    objs = {}
    for st in stages:
        d = os.path.join(obj_dir, st)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".o"):
                objs[os.path.join(st, name[: -len(".c.o")] + ".c")] = (st, os.path.join(d, name))
    return objs


def sccs(nodes, edges):
    """Tarjan's algorithm, iterative."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def check_symbols(obj_dir, stages, errors):
    rank = {st: i for i, st in enumerate(stages)}
    objs = objects(obj_dir, stages)
    if not objs:
        errors.append(f"no object files under {obj_dir}")
        return
    table = {name: nm(path) for name, (_, path) in objs.items()}
    owner = {}
    for name, (defined, _) in table.items():
        for sym in defined:
            owner[sym] = name
    edges = {}
    for name, (_, used) in table.items():
        st = objs[name][0]
        for sym in used:
            d = owner.get(sym)
            if d is None or d == name:
                continue
            edges.setdefault(name, set()).add(d)
            if rank[objs[d][0]] > rank[st]:
                errors.append(f"{name} (stage {st}) calls {sym} of {d} (stage {objs[d][0]})")
    for comp in sccs(sorted(objs), edges):
        if len(comp) > 1:
            errors.append("files call each other in a loop: " + " <-> ".join(comp))
    print(f"{len(objs)} object files, {sum(len(v) for v in edges.values())} file-level calls")


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    src, obj_dir, stages = sys.argv[1], sys.argv[2], sys.argv[3:]
    errors = []
    check_includes(src, stages, errors)
    check_symbols(obj_dir, stages, errors)
    for e in errors:
        print("LAYERING:", e)
    if not errors:
        print("stages " + " < ".join(stages) + ": calls and includes go down only, no cycles")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
