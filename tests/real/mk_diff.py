# SPDX-License-Identifier: Apache-2.0
"""Diff pairs: one tree dumped three times with --leave-running
(diff-t0, diff-t0-idle with nothing done in between, diff-t1 after the
planted changes of tests/real/differ.c), and a real pre-dump chain
(predump-parent, predump-child) of tests/real/pager.c."""
import os
import shutil
import signal
import time

import chain
import realkit as rk

DIFFER = "/usr/local/bin/ckpt-differ"
PAGER = "/usr/local/bin/ckpt-pager"
# --track-mem needs the kernel's soft-dirty bits (CONFIG_MEM_SOFT_DIRTY); without
# them the child holds every page and chain.py makes it incremental (see README)
TRACK = ["--track-mem"] if os.environ.get("REAL_TRACK_MEM") else []


def rootfs_a(mtime):
    return rk.rootfs_tar([
        ("srv", 0o755, None), ("srv/app", 0o755, None),
        ("srv/app/config.yml", 0o644, b"mode: before\nworkers: 2\n"),
        ("srv/app/data.txt", 0o644, b"unchanged data\n"),
    ], mtime)


def rootfs_b(mtime):
    return rk.rootfs_tar([
        ("srv", 0o755, None), ("srv/app", 0o755, None),
        ("srv/app/config.yml", 0o644, b"mode: after\nworkers: 4\n"),
        ("srv/app/data.txt", 0o644, b"unchanged data\n"),
        ("srv/app/new.txt", 0o644, b"added between the dumps\n"),
    ], mtime)


def pages(archive, pid):
    """{page address: bytes} of every dumped page of PID."""
    data = rk.cat(archive, "%d/pages" % pid)
    out = {}
    for line in rk.cat(archive, "%d/pages.map" % pid).decode().splitlines():
        f = line.split()
        s, e = (int(x, 16) for x in f[0].split("-"))
        off = int(f[2], 16)
        for a in range(s, e, 4096):
            out[a] = data[off + a - s:off + a - s + 4096]
    return out


def observed(a, b, pids):
    """What differs between two dumps, page by page and VMA by VMA: a record
    of everything, planted or not, so that a diff's extra lines can be told apart."""
    res = {}
    for pid in pids:
        try:
            pa = pages(a, pid)
        except Exception:
            pa = {}
        pb = pages(b, pid)
        changed = sorted(x for x in pa.keys() & pb.keys() if pa[x] != pb[x])
        ma = {(s, e): (p, f) for s, e, p, f in rk.maps(a, pid)} if pa else {}
        mb = {(s, e): (p, f) for s, e, p, f in rk.maps(b, pid)}
        fmt = lambda k, v: "%x-%x %s %s" % (k[0], k[1], v[0], v[1])
        res[str(pid)] = {
            "pages_changed": [hex(x) for x in changed],
            "pages_only_in_a": [hex(x) for x in sorted(pa.keys() - pb.keys())],
            "pages_only_in_b": [hex(x) for x in sorted(pb.keys() - pa.keys())],
            "vmas_only_in_a": [fmt(k, ma[k]) for k in sorted(ma.keys() - mb.keys())],
            "vmas_only_in_b": [fmt(k, mb[k]) for k in sorted(mb.keys() - ma.keys())],
            "vmas_perms_changed": [fmt(k, ma[k]) + " -> " + mb[k][0] for k in sorted(ma.keys() & mb.keys())
                                   if ma[k] != mb[k]],
        }
    return res


def pair():
    d = os.path.join(rk.WORK, "diff")
    shutil.rmtree(d, ignore_errors=True)
    for s in ("a", "b"):
        os.makedirs(os.path.join(d, s))
    info = os.path.join(d, "info.txt")
    rk.cc("differ.c", DIFFER, "-pthread")
    lst = rk.Listener()
    tree = rk.Tree([DIFFER, info, os.path.join(d, "a"), os.path.join(d, "b"), str(lst.port)])
    try:
        rk.wait_for(lambda: os.path.exists(info) and "before_ready" in open(info).read(), "differ")
        t0 = rk.criu("dump", tree.pid, os.path.join(rk.WORK, "diff-t0"), "--leave-running", "--tcp-established")
        time.sleep(2)
        t0i = rk.criu("dump", tree.pid, os.path.join(rk.WORK, "diff-t0-idle"), "--leave-running",
                      "--tcp-established")
        os.kill(tree.pid, signal.SIGUSR1)
        rk.wait_for(lambda: "after_ready" in open(info).read(), "differ's changes")
        time.sleep(0.5)
        t1 = rk.criu("dump", tree.pid, os.path.join(rk.WORK, "diff-t1"), "--tcp-established")
    finally:
        tree.kill()
        lst.close()
        rk.unlock([lst.port])
    g = rk.parse_kv(info)
    cmd = [DIFFER, info, os.path.join(d, "a"), os.path.join(d, "b"), str(lst.port)]
    env = ["%s=%s" % kv for kv in rk.CLEAN_ENV.items()]
    arch = {}
    for name, dump, rootfs, deleted in (("diff-t0", t0, rootfs_a, None), ("diff-t0-idle", t0i, rootfs_a, None),
                                        ("diff-t1", t1, rootfs_b, ["/etc/issue"])):
        mtime = int(os.stat(os.path.join(dump, "stats-dump")).st_mtime)
        arch[name] = rk.outpath(name + ".tar.zst")
        # one container: the same name and id in all three
        rk.package(dump, arch[name], "diff-pair", cmd, env, "localhost/ckpt-real-diff:1", rootfs(mtime), deleted)
    os.unlink(DIFFER)
    idle_truth(arch, g)
    change_truth(arch, g, lst.port)


def base_truth(a, g):
    rl = lambda p: rk.subprocess.run([rk.CKPTFS, "--readlink", a, p], check=True, capture_output=True,
                                     text=True).stdout.strip()
    old = int(g["old_fd"])
    assert rl("1/fd/%d" % old) == "/etc/debian_version" and rl("1/cwd") == g["cwd_before"]
    rk.write_truth("diff-t0", {
        "archive": "diff-t0.tar.zst",
        "what": "ckpt-differ (tests/real/differ.c) before its changes: the base of the pairs "
                "diff-t0 -> diff-t1 and diff-t0 -> diff-t0-idle",
        "findings": [],
        "pid": 1,
        "state": {"region": {"start": g["region_start"], "end": g["region_end"], "perms": "rw-p"},
                  "marker": {"address": g["marker_addr"], "text": g["marker_before"]},
                  "prot_region": {"start": g["prot_region"], "perms": "rw-p"},
                  "fds": {"0": "/dev/null", "1": "/dev/null", "2": "/dev/null", str(old): "/etc/debian_version"},
                  "cwd": g["cwd_before"], "threads": 1, "processes": 1,
                  "rootfs_diff": ["/srv/app/config.yml", "/srv/app/data.txt"], "deleted_files": None},
    })


def idle_truth(arch, g):
    a, b = arch["diff-t0"], arch["diff-t0-idle"]
    base_truth(a, g)
    pa, pb = rk.ns_pids(a), rk.ns_pids(b)
    assert pa == pb == {1: "ckpt-differ"}, (pa, pb)
    rk.write_truth("diff-t0-idle", {
        "archive": "diff-t0-idle.tar.zst",
        "base": "diff-t0.tar.zst",
        "what": "ckpt-differ (tests/real/differ.c) dumped twice with --leave-running, 2 s apart, nothing "
                "done in between",
        "changes": [],
        "noise": "one page may differ: the one holding the main thread's rseq area, at fs_base + "
                 "0x920 (glibc 2.36's __rseq_offset); the kernel writes the current CPU into its "
                 "cpu_id_start and cpu_id (8 bytes) whenever the task runs, so they follow the CPU the "
                 "process last ran on. `observed` lists what differed in this pair",
        "observed": observed(a, b, [1]),
    })


def change_truth(arch, g, port):
    a, b = arch["diff-t0"], arch["diff-t1"]
    procs = rk.ns_pids(b)
    child = int(g["child_pid"])
    assert procs == {1: "ckpt-differ", child: "differ-child"}, procs
    marker = int(g["marker_addr"], 16)
    assert rk.read_mem(a, 1, marker, 18) == g["marker_before"].encode()
    assert rk.read_mem(b, 1, marker, 18) == g["changed_to"].encode()
    new = (int(g["new_start"], 16), int(g["new_end"], 16))
    assert rk.vma_of(b, 1, new[0])[:3] == (new[0], new[1], "rw-p")
    prot = (int(g["mprotect_start"], 16), int(g["mprotect_end"], 16))
    assert rk.vma_of(a, 1, prot[0])[:3] == (prot[0], prot[1], "rw-p")
    assert rk.vma_of(b, 1, prot[0])[:3] == (prot[0], prot[1], "r--p")
    rl = lambda arc, p: rk.subprocess.run([rk.CKPTFS, "--readlink", arc, p], capture_output=True,
                                          text=True).stdout.strip()
    fd_new, fd_old = int(g["fd_opened"].split()[0]), int(g["fd_closed"].split()[0])
    tcp_fd = int(g["tcp_fd"])
    assert rl(b, "1/fd/%d" % fd_new) == "/etc/hostname" and rl(a, "1/fd/%d" % fd_old) == "/etc/debian_version"
    assert rl(b, "1/fd/%d" % fd_old) != "/etc/debian_version"
    assert rl(a, "1/cwd") == g["cwd_before"] and rl(b, "1/cwd") == g["cwd_after"]
    tids = sorted(int(t) for t in rk.subprocess.run([rk.CKPTFS, "--ls", b, "1/task"], check=True,
                                                    capture_output=True, text=True).stdout.split())
    assert len(tids) == 2, tids
    tid = tids[1]
    assert rk.cat(b, "1/task/%d/comm" % tid).decode().strip() == "differ-worker"
    sock = rl(b, "1/fd/%d" % tcp_fd)
    assert sock.startswith("socket:["), sock
    changes = [
        {"kind": "memory-changed", "pid": 1, "address": hex(marker), "len": 18,
         "details": {"before": g["marker_before"], "after": g["changed_to"]}},
        {"kind": "vma-added", "pid": 1, "start": hex(new[0]), "end": hex(new[1]), "path": "",
         "details": {"perms": "rw-p", "pages": 4, "content": "NEW-MAPPING-PAGE-<n> at each page's start"}},
        {"kind": "vma-changed", "pid": 1, "start": hex(prot[0]), "end": hex(prot[1]), "path": "",
         "details": {"perms_before": "rw-p", "perms_after": "r--p"}},
        {"kind": "fd-added", "pid": 1, "fd": fd_new, "path": "/etc/hostname"},
        {"kind": "fd-removed", "pid": 1, "fd": fd_old, "path": "/etc/debian_version"},
        {"kind": "fd-added", "pid": 1, "fd": tcp_fd, "path": sock, "details": "the TCP connection below"},
        {"kind": "process-changed", "pid": 1, "comm": "ckpt-differ",
         "details": {"field": "cwd", "before": g["cwd_before"], "after": g["cwd_after"]}},
        {"kind": "process-added", "pid": child, "comm": "differ-child", "details": {"ppid": 1}},
        {"kind": "thread-added", "pid": 1, "tid": tid, "comm": "differ-worker"},
        {"kind": "connection-added", "pid": 1, "fd": tcp_fd,
         "details": {"proto": "tcp", "state": "ESTABLISHED", "local": g["tcp_local"], "remote": g["tcp_remote"]}},
        {"kind": "rootfs-added", "path": "/srv/app/new.txt"},
        {"kind": "rootfs-removed", "path": "/etc/issue", "details": "listed in diff-t1's deleted.files"},
        {"kind": "rootfs-changed", "path": "/srv/app/config.yml",
         "details": {"before": "mode: before\nworkers: 2\n", "after": "mode: after\nworkers: 4\n"}},
    ]
    rk.write_truth("diff-t1", {
        "archive": "diff-t1.tar.zst",
        "base": "diff-t0.tar.zst",
        "what": "ckpt-differ (tests/real/differ.c) before (diff-t0) and after SIGUSR1 made the changes",
        "changes": changes,
        "incidental": "the thread's stack is a new mapping too (vma-added, with its guard page), and "
                      "heap, libc data and stack pages change; `observed` lists every page and VMA "
                      "that differs",
        "observed": observed(a, b, [1]),
    })


def predump():
    base = os.path.join(rk.WORK, "predump")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    info = os.path.join(base, "info.txt")
    rk.cc("pager.c", PAGER)
    tree = rk.Tree([PAGER, info])
    try:
        rk.wait_for(lambda: os.path.exists(info) and "ready0" in open(info).read(), "pager")
        if TRACK:
            pre = rk.criu("pre-dump", tree.pid, os.path.join(base, "pre-checkpoint"), *TRACK)
        else:  # criu pre-dump forces --track-mem: a full dump stands for it
            pre = rk.criu("dump", tree.pid, os.path.join(base, "pre-checkpoint"), "--leave-running")
        os.kill(tree.pid, signal.SIGUSR1)
        rk.wait_for(lambda: "ready1" in open(info).read(), "pager's changes")
        # without a pre-dump CRIU refuses a parent (no dump_uptime in its inventory
        # for the pid-reuse check): the link is added by chain.py
        full = rk.criu("dump", tree.pid, os.path.join(base, "checkpoint"),
                       *(TRACK + ["--prev-images-dir", "../pre-checkpoint"] if TRACK else []))
    finally:
        tree.kill()
    os.unlink(PAGER)
    if not TRACK:
        moved = chain.make_incremental(full, pre, 1)
        os.symlink("../pre-checkpoint", os.path.join(full, "parent"))
        rk.log("chain: %d pages of pid 1 now PE_PARENT" % moved)
    g = rk.parse_kv(info)
    changed = [l.split()[1] for l in open(info) if l.startswith("changed_page ")]
    env = ["%s=%s" % kv for kv in rk.CLEAN_ENV.items()]
    parent, child = rk.outpath("predump-parent.tar.zst"), rk.outpath("predump-child.tar.zst")
    rk.package(pre, parent, "predump", [PAGER, info], env, "localhost/ckpt-real-predump:1",
               top="pre-checkpoint")
    rk.package(full, child, "predump", [PAGER, info], env, "localhost/ckpt-real-predump:1")
    assert os.readlink(os.path.join(full, "parent")) == "../pre-checkpoint"
    predump_truth(parent, child, g, changed)


def _mem_with_parent(child, parent):
    """{page address: bytes} of pid 1 of CHILD read with -o parent=PARENT."""
    opt = ("-o", "parent=" + parent)
    data, out = rk.cat(child, "1/pages", *opt), {}
    for line in rk.cat(child, "1/pages.map", *opt).decode().splitlines():
        f = line.split()
        s, e = (int(x, 16) for x in f[0].split("-"))
        for a in range(s, e, 4096):
            out[a] = data[int(f[2], 16) + a - s:int(f[2], 16) + a - s + 4096]
    return out


def predump_truth(parent, child, g, changed):
    start, end = int(g["region_start"], 16), int(g["region_end"], 16)
    own = {int(x, 16) for x in changed}
    runs = rk.dumped_runs(child, 1)
    held = {a for s, e, _, _ in runs for a in range(s, e, 4096) if start <= a < end}
    assert held == own, ("child holds", sorted(map(hex, held)))
    for a in sorted(own):
        n = (a - start) // 4096
        assert rk.read_mem(child, 1, a, 13) == b"PAGE-%02d-GEN-1" % n
    # with its parent, every page of the region reads its newest generation
    whole = _mem_with_parent(child, parent)
    for n in range(64):
        want = b"PAGE-%02d-GEN-%d" % (n, 1 if start + n * 4096 in own else 0)
        assert whole[start + n * 4096][:13] == want, n
    rk.write_truth("predump-parent", {
        "archive": "predump-parent.tar.zst",
        "what": "the parent level of predump-child: pre-checkpoint/ (Podman's name for a pre-dump in "
                "an export) with every page of ckpt-pager before the change",
        "findings": [],
        "pid": 1,
        "region": {"start": hex(start), "end": hex(end), "pages": 64, "content": "PAGE-nn-GEN-0; repeated"},
        "child": "predump-child.tar.zst",
    })
    rk.write_truth("predump-child", {
        "archive": "predump-child.tar.zst",
        "parent": "predump-parent.tar.zst",
        "wrong_parent": "rough-bare.tar.zst",
        "what": ("ckpt-pager (tests/real/pager.c): criu pre-dump --track-mem (the parent, exported as "
                 "Podman does: pre-checkpoint/), 5 pages rewritten, criu dump --track-mem "
                 "--prev-images-dir ../pre-checkpoint (the child: checkpoint/parent -> ../pre-checkpoint)")
        if TRACK else
        ("ckpt-pager (tests/real/pager.c): the kernel has no soft-dirty bits, so criu pre-dump "
         "cannot run (it forces --track-mem) and criu dump refuses a parent that is not a pre-dump; "
         "the parent is a real criu dump --leave-running (exported as Podman exports a pre-checkpoint: "
         "pre-checkpoint/), then 5 pages were rewritten and a second real criu dump taken; "
         "tests/real/chain.py turned every page of the second whose bytes equal the first's into a "
         "PE_PARENT entry and added checkpoint/parent -> ../pre-checkpoint"),
        "made_incremental_by": None if TRACK else "tests/real/chain.py",
        "pid": 1,
        "region": {"start": hex(start), "end": hex(end), "pages": 64,
                   "content": "every page: 'PAGE-nn-GEN-g;' repeated, nn = page index, g = generation"},
        "changes": [{"kind": "memory-changed", "pid": 1, "address": hex(a), "len": 4096,
                     "details": {"before": "PAGE-%02d-GEN-0" % ((a - start) // 4096),
                                 "after": "PAGE-%02d-GEN-1" % ((a - start) // 4096)}} for a in sorted(own)],
        "child_holds_in_region": [hex(a) for a in sorted(own)],
        "parent_holds_in_region": "the other 59 pages (GEN-0); without the parent they are holes",
    })
