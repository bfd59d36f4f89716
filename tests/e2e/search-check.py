#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check what `ckptfs --search/--yara --json` printed against the goldens.

    search-check.py hits FOUND_JSON XMEMS_TXT MAPS_DIR HITS_JSONL [KEY]

Every (pid, address) of found.json must be among the hits whose KEY field
(default "match"; "string" for YARA) names the marker, and each of those
hits must name the VMA that holds it: its `maps` field equal to the line of
MAPS_DIR/<pid>.maps (what `ckptfs --cat ARCHIVE PID/maps` prints) that
covers the address, and start, end, permissions and file name equal to the
mapping of CRIU's own `crit x mems` (x-mems.txt).

    search-check.py context PAGES_FILE HITS_JSONL N

Each hit's `before` and `after` fields are the N bytes around the match in
PAGES_FILE (the process's `pages`), at its pages_offset, escaped.

    search-check.py union ORDER_JSONL MULTI_JSONL SINGLE_JSONL...

The hits of several patterns searched at once (MULTI) are the hits of each
pattern searched alone (SINGLE i for pattern i, from 1), in the same order:
by process (the order of ORDER's hits), then address, then pattern; each
with the same match, length and pattern number.

    search-check.py plant OUTDIR CHILD PARENT

Plant two markers into a pre-dump chain made by scripts/mkincremental from
pid 1's pagemap: CROSS-RUN-MARKER-<addr> across two contiguous pagemap
entries held by different levels (different pages images), and
HOLE-MARKER-<addr> across a hole (the end of one dumped entry and the start
of the next one after a gap). Writes OUTDIR/planted.json: {marker: address}.
"""
import importlib.machinery
import importlib.util
import json
import os
import re
import sys


def escape(b):
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif c == 0x0A:
            out.append("\\n")
        elif c == 0x09:
            out.append("\\t")
        elif c == 0x0D:
            out.append("\\r")
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def xmems(path):
    """{pid: [(start, end, perms, name)]} from crit x mems output."""
    out, pid = {}, None
    for line in open(path):
        if not line.startswith("\t"):
            pid = int(line.split()[0])
            out[pid] = []
            continue
        f = line.split()
        if f[0] == "exe" or "-" not in f[0]:
            continue
        a, b = (int(x, 16) for x in f[0].split("-"))
        name = f[2] if len(f) > 2 else ""
        out[pid].append((a, b, f[1], name.replace("[stack?]", "[stack]")))
    return out


def maps_lines(d, pid):
    lines = []
    for line in open(os.path.join(d, "%d.maps" % pid)):
        line = line.rstrip("\n")
        a, b = (int(x, 16) for x in line.split()[0].split("-"))
        lines.append((a, b, line))
    return lines


def cmd_hits(found_json, xmems_txt, maps_dir, hits_path, key="match"):
    found = json.load(open(found_json))
    xm = xmems(xmems_txt)
    hits = [json.loads(l) for l in open(hits_path) if l.strip()]
    bad = 0
    for marker, where in found.items():
        for pid, addr in where:
            a = int(addr, 16)
            mine = [h for h in hits if h["pid"] == pid and int(h["address"], 16) == a and
                    (marker in h.get(key, "") if key == "match" else h.get(key) == marker_id(marker))]
            if not mine:
                print("# %s: pid %d %s not found" % (marker, pid, addr))
                bad += 1
                continue
            h = mine[0]
            want = [l for s, e, l in maps_lines(maps_dir, pid) if s <= a < e]
            if [h.get("maps")] != want:
                print("# %s: pid %d %s: maps %r, want %r" % (marker, pid, addr, h.get("maps"), want))
                bad += 1
            x = [v for v in xm.get(pid, []) if v[0] <= a < v[1]]
            v = h.get("vma") or {}
            if len(x) != 1 or int(v.get("start", "0"), 16) != x[0][0] or int(v.get("end", "0"), 16) != x[0][1] \
                    or v.get("perms", "")[:3] != x[0][2] or (x[0][3] and v.get("path") != x[0][3]):
                print("# %s: pid %d %s: vma %r, crit x mems %r" % (marker, pid, addr, v, x))
                bad += 1
    print("# %d hits checked against %d markers" % (len(hits), len(found)))
    return 1 if bad else 0


def marker_id(marker):
    """The YARA string identifier the test gives a marker."""
    return "$" + re.sub(r"[^A-Za-z0-9_]", "_", marker)


def cmd_context(pages, hits_path, n):
    n = int(n)
    data = open(pages, "rb").read()
    bad = 0
    hits = [json.loads(l) for l in open(hits_path) if l.strip()]
    for h in hits:
        o, ln = h["pages_offset"], h["length"]
        if data[o:o + ln].hex() != h["hex"]:
            print("# bytes at pages offset %d differ" % o)
            bad += 1
        # context stays inside contiguous memory: compare what is given
        b, a = h["before"], h["after"]
        if not escape(data[max(0, o - n):o]).endswith(b) or not escape(data[o + ln:o + ln + n]).startswith(a):
            print("# context at %d differs: %r %r" % (o, b, a))
            bad += 1
    if not hits:
        print("# no hits")
        bad += 1
    return 1 if bad else 0


def mkinc():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "mkincremental")
    loader = importlib.machinery.SourceFileLoader("mkincremental", path)
    spec = importlib.util.spec_from_loader("mkincremental", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def cmd_plant(outdir, child, parent):
    m = mkinc()
    levels = []
    for d in (child, parent):
        pages_id, ents = m.read_pagemap(os.path.join(d, "pagemap-1.img"))
        off = 0
        for e in ents:
            if e["flags"] & m.PE_PRESENT:
                e["off"] = off
                off += e["nr"] * 4096
        levels.append((os.path.join(d, "pages-%d.img" % pages_id), [e for e in ents if e["flags"] & m.PE_PRESENT]))
    dumped = sorted((e["vaddr"], e["vaddr"] + e["nr"] * 4096, lv, e) for lv, (_, es) in enumerate(levels) for e in es)

    def write(lv, e, pos, data):
        with open(levels[lv][0], "r+b") as f:
            f.seek(e["off"] + pos)
            f.write(data)

    planted = {}
    cross = hole = None
    for (s1, e1, l1, x1), (s2, e2, l2, x2) in zip(dumped, dumped[1:]):
        if e1 == s2 and l1 != l2 and x1["nr"] * 4096 >= 64 and not cross:
            cross = (e1, l1, x1, l2, x2)
        elif e1 < s2 and not hole and (not cross or cross[0] not in (e1, s2)):
            hole = (e1, l1, x1, l2, x2, s2)
    if not cross or not hole:
        sys.exit("no contiguous pair of levels or no hole found")
    at, l1, x1, l2, x2 = cross
    mk = ("CROSS-RUN-MARKER-%x" % (at - 12)).encode()
    write(l1, x1, x1["nr"] * 4096 - 12, mk[:12])
    write(l2, x2, 0, mk[12:])
    planted[mk.decode()] = "0x%x" % (at - 12)
    end, l1, x1, l2, x2, start = hole
    mk = ("HOLE-MARKER-%x" % (end - 8)).encode()
    write(l1, x1, x1["nr"] * 4096 - 8, mk[:8])
    write(l2, x2, 0, mk[8:])
    planted[mk.decode()] = "0x%x" % (end - 8)
    json.dump(planted, open(os.path.join(outdir, "planted.json"), "w"))
    return 0


def cmd_union(order_path, multi_path, *singles):
    def load(path):
        return [json.loads(l) for l in open(path) if l.strip()]

    rank = {}
    for h in load(order_path):
        rank.setdefault((h.get("container"), h["pid"]), len(rank))
    want = []
    for i, path in enumerate(singles, 1):
        for h in load(path):
            key = (h.get("container"), h["pid"])
            want.append((rank.get(key, len(rank)), int(h["address"], 16), i, h["match"], h["length"]))
    want.sort()
    got = [(rank.get((h.get("container"), h["pid"]), len(rank)), int(h["address"], 16), h.get("pattern_index"),
            h["match"], h["length"]) for h in load(multi_path)]
    print("# %d hits of %d patterns at once, %d searched one by one" % (len(got), len(singles), len(want)))
    if got != want:
        for k, (a, b) in enumerate(zip(got + [None] * len(want), want + [None] * len(got))):
            if a != b:
                print("# first difference at %d: %r, want %r" % (k, a, b))
                break
        return 1
    return 0 if want else 1


if __name__ == "__main__":
    cmd = sys.argv[1]
    sys.exit({"hits": cmd_hits, "context": cmd_context, "plant": cmd_plant, "union": cmd_union}[cmd](*sys.argv[2:]))
