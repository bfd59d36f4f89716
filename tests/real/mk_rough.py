# SPDX-License-Identifier: Apache-2.0
"""Rough edges of real checkpoints: a 1 GiB pre-touched heap of zeros, a
multi-threaded server with named threads, and a bare `criu dump -D dir` of
a tree outside any pid namespace (its root is not pid 1)."""
import os
import shutil
import subprocess
import time

import realkit as rk

ZEROHEAP = "/usr/local/bin/ckpt-zeroheap"
THREADSRV = "/usr/local/bin/ckpt-threadsrv"
HEAP_MIB = 1024


def zeroheap():
    rk.cc("zeroheap.c", ZEROHEAP)
    out_txt = os.path.join(rk.WORK, "zeroheap.out")
    with open(out_txt, "w") as o:
        tree = rk.Tree([ZEROHEAP, str(HEAP_MIB)], stdio=o, settle=0.5)
    try:
        rk.wait_for(lambda: "ready" in open(out_txt).read(), "zeroheap", 120)
        d = rk.criu("dump", tree.pid, os.path.join(rk.WORK, "rough-zeroheap"))
    finally:
        tree.kill()
    os.unlink(ZEROHEAP)
    g = rk.parse_kv(out_txt)
    out = rk.outpath("rough-zeroheap.tar.zst")
    rk.package(d, out, "rough-zeroheap", [ZEROHEAP, str(HEAP_MIB)],
               ["%s=%s" % kv for kv in rk.CLEAN_ENV.items()], "localhost/ckpt-real-zeroheap:1")
    # 1 GiB of zeros from 50 kB passes the default spill limit (a decompression bomb)
    rk.CAT_OPTS = ["-o", "spill_limit=%d" % (4 << 30)]
    s, e = int(g["heap_start"], 16), int(g["heap_end"], 16)
    assert rk.vma_of(out, 1, s)[:3] == (s, e, "rw-p")
    runs = [(a, b) for a, b, _, _ in rk.dumped_runs(out, 1) if s <= a < e]
    assert sum(b - a for a, b in runs) == e - s, "not every heap page dumped: %r" % runs[:4]
    mark = int(g["marker_addr"], 16)
    assert rk.read_mem(out, 1, mark, 15) == b"ZEROHEAP-MARKER"
    rk.CAT_OPTS = []
    pages = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("pages-"))
    rk.write_truth("rough-zeroheap", {
        "archive": "rough-zeroheap.tar.zst",
        "what": "ckpt-zeroheap (tests/real/zeroheap.c): %d MiB mapped, memset to 0, every page "
                "written, so CRIU dumps all of them" % HEAP_MIB,
        "findings": [],
        "pid": 1,
        "heap": {"start": hex(s), "end": hex(e), "perms": "rw-p", "bytes": e - s,
                 "content": "zeros", "dumped": True},
        "marker": {"address": hex(mark), "text": "ZEROHEAP-MARKER: the heap below is all zeros"},
        "pages_img_bytes": pages,
    })


def threads():
    rk.cc("threadsrv.c", THREADSRV, "-pthread")
    port = rk.free_port()
    tree = rk.Tree([THREADSRV, str(port)], settle=1.0)
    try:
        replies = [rk.http_get(port, "/", 1).split(b"\r\n\r\n", 1)[1].strip().decode() for _ in range(9)]
        d = rk.criu("dump", tree.pid, os.path.join(rk.WORK, "rough-threads"))
    finally:
        tree.kill()
    os.unlink(THREADSRV)
    out = rk.outpath("rough-threads.tar.zst")
    rk.package(d, out, "rough-threads", [THREADSRV, str(port)],
               ["%s=%s" % kv for kv in rk.CLEAN_ENV.items()], "localhost/ckpt-real-threads:1")
    tids = sorted(int(t) for t in subprocess.run([rk.CKPTFS, "--ls", out, "1/task"], check=True,
                                                  capture_output=True, text=True).stdout.split())
    names = {t: rk.cat(out, "1/task/%d/comm" % t).decode().strip() for t in tids}
    assert sorted(names.values()) == sorted(["threadsrv-main", "worker-1", "worker-2", "worker-3", "stats"]), names
    rk.write_truth("rough-threads", {
        "archive": "rough-threads.tar.zst",
        "what": "ckpt-threadsrv (tests/real/threadsrv.c): 5 named threads, TCP 127.0.0.1:%d, "
                "9 requests served before the dump" % port,
        "findings": [],
        "pid": 1,
        "threads": {str(t): n for t, n in names.items()},
        "listen": "127.0.0.1:%d" % port,
        "replies_before_dump": replies,
    })


def bare():
    d = os.path.join(rk.WORK, "bare")
    p = subprocess.Popen(["setsid", "sh", "-c", "sleep 100000 & wait"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", env=rk.CLEAN_ENV)
    time.sleep(1)
    try:
        kids = rk.children(p.pid)
        assert len(kids) == 1, kids
        dump = rk.criu("dump", p.pid, d)
    finally:
        try:
            p.kill()
        except ProcessLookupError:
            pass
        p.wait()
    out = rk.outpath("rough-bare.tar.zst")
    rk.bare_package(dump, out)
    procs = rk.ns_pids(out)
    assert procs == {p.pid: "sh", kids[0]: "sleep"}, procs
    rk.write_truth("rough-bare", {
        "archive": "rough-bare.tar.zst",
        "what": "criu dump -D dir of `setsid sh -c 'sleep 100000 & wait'` started on the host: no pid "
                "namespace, so the root is not pid 1; a tar of the bare images directory (members "
                "at the top, no checkpoint/, no engine files)",
        "findings": [],
        "processes": {str(k): v for k, v in sorted(procs.items())},
        "root_pid": p.pid,
        "wrong_parent_of": "predump-child.tar.zst (pids, executables and VMAs all differ)",
    })
