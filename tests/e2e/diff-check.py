#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks of `ckptfs --diff --json` output for tests/e2e/diff-mode.sh.

    diff-check.py truth TRUTH.json BASE.truth.json EVENTS A B
        every planted change of TRUTH (tests/data/real/) is an event of the
        right kind with the right fields; every other event is one the truth
        lists as observed (incidental pages and mappings); rootfs sizes and
        sha256 equal those of the files in each rootfs-diff.tar
    diff-check.py mem EVENTS A B [PID...]
        memory-changed/-added/-removed are exactly the pages an independent
        comparison finds: the VMAs of each side's maps matched by start (the
        stack by its end), the dumped pages of pages.map inside both, their
        bytes read from pages (ckptfs --cat)
    diff-check.py chain EVENTS PARENT CHILD
        the events are exactly the pages the child re-dumped (PE_PRESENT in
        its pagemap image) whose bytes differ from the parent's page at that
        address, read from the pages images themselves
    diff-check.py kinds EVENTS KIND...
        no event of another kind

Prints TAP-ish "ok"/"not ok" lines; exits 1 on any failure.
"""
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import io
import re

CKPTFS = os.environ["CKPTFS"]
PAGE = 4096
failed = 0


def check(cond, what):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failed += 1
    return cond


def cat(archive, path):
    return subprocess.run([CKPTFS, "--cat", archive, path], check=True, capture_output=True).stdout


def events(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def num(v):
    return int(v, 16) if isinstance(v, str) else v


def pages_of(evs, kind, pid):
    """The pages of @pid's @kind events; each event's "pages" is checked."""
    out, bad, n = set(), [], 0
    for e in evs:
        if e["kind"] == kind and e.get("pid") == pid:
            s, t = num(e["start"]), num(e["end"])
            if e["pages"] != (t - s) // PAGE:
                bad.append(e)
            out.update(range(s, t, PAGE))
            n += 1
    if n:
        check(not bad, "pid %d: %d %s events count their pages (%s)" % (pid, n, kind, bad[:2]))
    return out


# ---- the planted changes ----

def find(evs, **want):
    return [e for e in evs if all(e.get(k) == v for k, v in want.items())]


def rootfs_files(archive):
    """path -> (size, sha256, mode) of rootfs-diff.tar in @archive."""
    data = cat(archive, "rootfs-diff.tar")
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t.getmembers():
            if m.isfile():
                out["/" + m.name.lstrip("./")] = (m.size, hashlib.sha256(t.extractfile(m).read()).hexdigest(),
                                                  "0%o" % m.mode)
    return out


def planted(c, evs, fa, fb):
    k, pid, d = c["kind"], c.get("pid"), c.get("details")
    if k == "memory-changed":
        addr = int(c["address"], 16)
        hit = [e for e in find(evs, kind=k, pid=pid) if num(e["start"]) <= addr < num(e["end"])]
        if check(len(hit) == 1, "memory-changed covers %x" % addr) and "at" in hit[0]:
            at = num(hit[0]["at"])
            fb_, tb_ = bytes.fromhex(hit[0]["from"]), bytes.fromhex(hit[0]["to"])
            off = addr - at
            check(fb_[off:off + c["len"]] == d["before"].encode() and tb_[off:off + c["len"]] == d["after"].encode(),
                  "--bytes of %x: %r -> %r" % (addr, d["before"], d["after"]))
    elif k in ("vma-added", "vma-changed"):
        hit = find(evs, kind=k, pid=pid, start=c["start"], end=c["end"])
        if k == "vma-added":
            check(len(hit) == 1 and hit[0]["perms"] == d["perms"] and hit[0]["pages"] == d["pages"] and
                  hit[0]["path"] == c["path"], "vma-added %s-%s %s" % (c["start"], c["end"], d["perms"]))
        else:
            check(len(hit) == 1 and hit[0]["field"] == "perms" and hit[0]["from"] == d["perms_before"] and
                  hit[0]["to"] == d["perms_after"], "vma-changed %s perms %s -> %s" % (
                      c["start"], d["perms_before"], d["perms_after"]))
    elif k in ("fd-added", "fd-removed"):
        check(len(find(evs, kind=k, pid=pid, fd=c["fd"], target=c["path"])) == 1,
              "%s %d %s" % (k, c["fd"], c["path"]))
    elif k == "process-changed":
        check(len(find(evs, kind=k, pid=pid, field=d["field"], **{"from": d["before"], "to": d["after"]})) == 1,
              "process-changed %s %s -> %s" % (d["field"], d["before"], d["after"]))
    elif k == "process-added":
        check(len(find(evs, kind=k, pid=pid, comm=c["comm"], ppid=d["ppid"])) == 1,
              "process-added %d %s" % (pid, c["comm"]))
    elif k == "thread-added":
        check(len(find(evs, kind=k, pid=pid, tid=c["tid"], name=c["comm"])) == 1,
              "thread-added %d %s" % (c["tid"], c["comm"]))
    elif k == "connection-added":
        hit = find(evs, kind=k, pid=pid, local=d["local"], peer=d["remote"], state=d["state"], proto=d["proto"])
        fd = find(evs, kind="fd-added", pid=pid, fd=c["fd"])
        check(len(hit) == 1 and len(fd) == 1 and fd[0]["target"] == "socket:[%d]" % hit[0]["inode"],
              "connection-added %s -> %s %s, the socket of fd %d" % (d["local"], d["remote"], d["state"], c["fd"]))
    elif k == "rootfs-added":
        hit = find(evs, kind=k, path=c["path"])
        size, sha, mode = fb[c["path"]]
        check(len(hit) == 1 and hit[0]["size"] == size and hit[0]["sha256"] == sha and hit[0]["mode"] == mode and
              hit[0]["source"] == "rootfs-diff.tar", "rootfs-added %s (%d bytes, sha256 of the tar's file)" %
              (c["path"], size))
    elif k == "rootfs-removed":
        check(len(find(evs, kind=k, path=c["path"], source="deleted.files")) == 1,
              "rootfs-removed %s (deleted.files)" % c["path"])
    elif k == "rootfs-changed":
        hit = find(evs, kind=k, path=c["path"])
        (sa, ha, ma), (sb, hb, mb) = fa[c["path"]], fb[c["path"]]
        check(len(hit) == 1 and (hit[0]["from_size"], hit[0]["to_size"], hit[0]["from_sha256"], hit[0]["to_sha256"],
                                 hit[0]["from_mode"], hit[0]["to_mode"]) == (sa, sb, ha, hb, ma, mb),
              "rootfs-changed %s: sizes, sha256 and modes of both tars' files" % c["path"])
    else:
        check(False, "unknown planted kind %s" % k)


def cmd_truth(truth, base_truth, evpath, a, b):
    t = json.load(open(truth))
    base = json.load(open(base_truth))
    evs = events(evpath)
    fa, fb = rootfs_files(a), rootfs_files(b)
    for c in t["changes"]:
        planted(c, evs, fa, fb)
    # whatever else was reported must be what the truth observed
    obs = t.get("observed", {})
    for e in evs:
        k, pid = e["kind"], e.get("pid")
        o = obs.get(str(pid), {})
        if k == "vma-added" and not find([c for c in t["changes"]], kind=k, start=e["start"]):
            line = "%s-%s %s %s" % (e["start"][2:], e["end"][2:], e["perms"], e["path"])
            check(line in o.get("vmas_only_in_b", []), "incidental vma-added %s is observed" % line)
        elif k == "memory-changed":
            pages = ["0x%x" % p for p in range(num(e["start"]), num(e["end"]), PAGE)]
            check(all(p in o.get("pages_changed", []) for p in pages),
                  "memory-changed %s-%s: observed pages" % (e["start"], e["end"]))
        elif k == "container-changed":
            # the material's engine files carry the time each archive was packed
            check(e["key"] in (".created", '.metadata.annotations["io.kubernetes.cri-o.Created"]'),
                  "container-changed %s: only the packing time differs" % e["key"])
        elif k not in {c["kind"] for c in t["changes"]}:
            check(False, "unexpected kind %s: %s" % (k, e))
    want = {c["kind"] for c in t["changes"]}
    check(set(e["kind"] for e in evs if e["kind"] in want) == want, "every planted kind is reported")
    # the base truth's rootfs files are the ones A has
    check(sorted(fa) == sorted(base["state"]["rootfs_diff"]), "A's rootfs-diff.tar holds the base's files")


# ---- memory, from the views ----

def maps(archive, pid):
    out = []
    for l in cat(archive, "%d/maps" % pid).decode().splitlines():
        f = l.split(None, 5)
        s, e = (int(x, 16) for x in f[0].split("-"))
        out.append((s, e, f[5].strip() if len(f) > 5 else ""))
    return out


def dumped(archive, pid):
    """address -> page bytes of every dumped page, from pages.map and pages."""
    data = cat(archive, "%d/pages" % pid)
    out = {}
    for l in cat(archive, "%d/pages.map" % pid).decode().splitlines():
        f = l.split()
        if f[2].startswith("-"):
            continue  # kept in a parent checkpoint that was not given
        s, e = (int(x, 16) for x in f[0].split("-"))
        off = int(f[2], 16)
        for a in range(s, e, PAGE):
            out[a] = data[off + a - s:off + a - s + PAGE]
    return out


def pairs(ma, mb):
    by_start = {s: (s, e, n) for s, e, n in mb}
    out = []
    for s, e, n in ma:
        if s in by_start:
            out.append((s, min(e, by_start[s][1])))
        elif n == "[stack]":
            other = [v for v in mb if v[2] == "[stack]" and v[1] == e]
            if other:
                out.append((max(s, other[0][0]), e))
    return out


def cmd_mem(evpath, a, b, pids):
    evs = events(evpath)
    for pid in pids:
        da, db = dumped(a, pid), dumped(b, pid)
        changed, added, removed = set(), set(), set()
        for lo, hi in pairs(maps(a, pid), maps(b, pid)):
            for p in range(lo, hi, PAGE):
                if p in da and p in db and da[p] != db[p]:
                    changed.add(p)
                elif p in da and p not in db:
                    removed.add(p)
                elif p in db and p not in da:
                    added.add(p)
        for kind, want in (("memory-changed", changed), ("memory-added", added), ("memory-removed", removed)):
            got = pages_of(evs, kind, pid)
            check(got == want, "pid %d: %s: %d pages reported, %d found by comparing pages%s" % (
                pid, kind, len(got), len(want), "" if got == want else
                ": only reported %s, only found %s" % (sorted(map(hex, got - want))[:8],
                                                       sorted(map(hex, want - got))[:8])))


# ---- a pre-dump chain, from the images ----

def image_pages(archive, pid):
    """address -> (flags, bytes) of every pagemap entry's pages of @archive's images."""
    pm = json.loads(cat(archive, "images/pagemap-%d.json" % pid))
    pages_id = pm["entries"][0]["pages_id"]
    # the images directory: checkpoint/, or pre-checkpoint/ for a pre-dump
    top = subprocess.run([CKPTFS, "--ls", archive, "/"], check=True, capture_output=True).stdout.decode().split()
    imgdir = "pre-checkpoint" if "pre-checkpoint" in top and "checkpoint" not in top else "checkpoint"
    data = cat(archive, "%s/pages-%d.img" % (imgdir, pages_id))
    out, off = {}, 0
    for e in pm["entries"][1:]:
        v, n, fl = int(e["vaddr"], 16), e["nr_pages"], e["flags"]
        for i in range(n):
            if "PE_PRESENT" in fl:
                out[v + i * PAGE] = ("present", data[off:off + PAGE])
                off += PAGE
            else:
                out[v + i * PAGE] = ("parent", None)
    check(off == len(data), "%s: the pagemap accounts for the whole pages image (%d bytes)" % (archive, len(data)))
    return out


def cmd_chain(evpath, parent, child, pid=1):
    evs = events(evpath)
    pp, cp = image_pages(parent, pid), image_pages(child, pid)
    redumped = {a: b for a, (f, b) in cp.items() if f == "present"}
    check(any(f == "parent" for f, _ in cp.values()), "the child keeps pages in its parent (PE_PARENT)")
    want_changed = {a for a, b in redumped.items() if a in pp and pp[a][0] == "present" and pp[a][1] != b}
    want_added = {a for a in redumped if a not in pp}
    got = pages_of(evs, "memory-changed", pid)
    check(got == want_changed, "memory-changed is exactly the %d re-dumped pages with new bytes (%s)" % (
        len(want_changed), ", ".join(sorted(map(hex, want_changed)))))
    check(pages_of(evs, "memory-added", pid) <= want_added and not pages_of(evs, "memory-removed", pid),
          "no page kept in the parent is reported added or removed")
    return want_changed


def page_reads(trace, path):
    """Bytes strace saw read from file @path: (by whole pages, otherwise)."""
    pages = other = 0
    for l in open(trace):
        m = re.search(r"pread64\(\d+<%s>, .*, (\d+), (\d+)\) = (\d+)$" % re.escape(os.path.realpath(path)), l)
        if not m:
            continue
        length, off, got = (int(x) for x in m.groups())
        if length % PAGE == 0 and off % PAGE == 0:
            pages += got
        else:
            other += got  # the command line and environment, read from memory
    return pages, other


def cmd_chain_reads(trace, pages_img, parent, child, pid=1):
    """The parent's pages image (@pages_img, in the directory diffed under
    strace) is read only for the pages the child re-dumped that the parent
    dumped too: each once."""
    pp, cp = image_pages(parent, pid), image_pages(child, pid)
    shared = [a for a, (f, _) in cp.items() if f == "present" and a in pp and pp[a][0] == "present"]
    kept = [a for a, (f, _) in cp.items() if f == "parent"]
    pages, other = page_reads(trace, pages_img)
    check(pages == len(shared) * PAGE, "the parent's pages image is read page by page only for the %d pages "
          "both dumped (%d bytes; the child keeps %d pages in it)" % (len(shared), pages, len(kept)))
    check(other < PAGE, "... and for %d bytes of command line and environment" % other)


def cmd_page_reads(trace, path, want):
    pages, _ = page_reads(trace, path)
    check(pages == int(want), "%s: %d bytes read page by page (%s wanted)" % (os.path.basename(path), pages, want))


def cmd_kinds(evpath, kinds):
    bad = [e for e in events(evpath) if e["kind"] not in kinds]
    check(not bad, "only %s (%s)" % (", ".join(kinds), bad[:3]))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "truth":
        cmd_truth(*args)
    elif cmd == "mem":
        cmd_mem(args[0], args[1], args[2], [int(p) for p in args[3:]] or [1])
    elif cmd == "chain":
        cmd_chain(*args)
    elif cmd == "page-reads":
        cmd_page_reads(*args)
    elif cmd == "chain-reads":
        cmd_chain_reads(*args)
    elif cmd == "kinds":
        cmd_kinds(args[0], args[1:])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
