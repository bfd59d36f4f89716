#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The tools an analyst runs first, on a mounted checkpoint, checked against
the checkpoint's own images (issue 13):

  ps aux, ps -ef, ps -eLf, ps -o lstart, pstree -p, top -b -n 1, lsof -p,
  lsof -i   run by `ckptfs --exec MOUNTPOINT` ($CKPTFS): the mount on /proc
            of new namespaces, with the init's pid (procps looks up its own);
  psutil    with psutil.PROCFS_PATH set to the mount.

Expected values: pids, ppids, threads from images/pstree.json, comm from
images/core-<pid>.json, VSZ from the VMAs of images/mm-<pid>.json, the
resident set from the size of <pid>/pages (the dumped pages), socket inodes
from images/files.json, the start time from the archive member stats-dump's
mtime (tar -tv of ARCHIVE). Each tool must exit 0 with nothing on stderr
but lsof's warnings about the host's own mounts.

usage: tools_check.py MOUNTPOINT ARCHIVE     prints TAP, exits 1 on a failure
"""
import json
import os
import re
import subprocess
import sys
import time

from tap import Tap

mnt, archive = sys.argv[1], sys.argv[2]
tap = Tap()
check = tap.check


def under_proc(*argv):
    r = subprocess.run([os.environ["CKPTFS"], "--exec", mnt, "--", *argv],
                       capture_output=True, text=True, errors="replace",
                       env=dict(os.environ, TZ="UTC", LC_ALL="C", COLUMNS="4000"))
    err = "\n".join(l for l in r.stderr.splitlines()
                    if not l.startswith("lsof: WARNING") and "Output information may be incomplete" not in l)
    return r.returncode, r.stdout, err


def run_ok(desc, *argv):
    rc, out, err = under_proc(*argv)
    check(rc == 0 and not err, f"{desc}: exits 0, nothing on stderr", f"exit {rc}\n{err}")
    return out


def jload(name):
    with open(os.path.join(mnt, "images", name)) as f:
        return json.load(f)


# ---- expected values from the images ----
procs = {}
for e in jload("pstree.json")["entries"]:
    pid = int(e["pid"])
    procs[pid] = {"ppid": int(e["ppid"]), "threads": sorted(int(t) for t in e.get("threads", [pid]))}
for pid, p in procs.items():
    core = jload(f"core-{pid}.json")["entries"][0]
    p["comm"] = core["tc"]["comm"]
    p["zombie"] = core["tc"].get("task_state") in (2, 6, "ZOMBIE", "DEAD")
    p["vsz"] = 0
    if not p["zombie"] and os.path.exists(os.path.join(mnt, "images", f"mm-{pid}.json")):
        for v in jload(f"mm-{pid}.json")["entries"][0]["vmas"]:
            if "VSYSCALL" not in v["status"]:
                p["vsz"] += int(v["end"], 16) - int(v["start"], 16)
    pages = os.path.join(mnt, str(pid), "pages")
    p["rss"] = os.stat(pages).st_size if os.path.exists(pages) else 0
    p["fds"] = {}
    fddir = os.path.join(mnt, str(pid), "fd")
    for fd in os.listdir(fddir) if os.path.isdir(fddir) else []:
        p["fds"][int(fd)] = os.readlink(os.path.join(fddir, fd))
    with open(os.path.join(mnt, str(pid), "cmdline"), "rb") as f:
        p["cmdline"] = [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
inet = {int(e["isk"]["ino"]) for e in jload("files.json")["entries"] if e.get("type") == "INETSK"}

btime = None
if os.path.isdir(archive):
    # a bare images directory: stats-dump if CRIU left it there, else the newest file
    names = [os.path.join(archive, f) for f in os.listdir(archive)]
    sd = os.path.join(archive, "stats-dump")
    btime = int(os.stat(sd).st_mtime) if os.path.exists(sd) else \
        max(int(os.stat(f).st_mtime) for f in names if os.path.isfile(f))
    check(True, "a bare images directory: its stats-dump or newest file is the checkpoint's time")
else:
    listing = subprocess.run(["tar", "--full-time", "-tvf", archive], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        f = line.split()
        if len(f) >= 6 and f[5].lstrip("./") == "stats-dump":
            btime = int(time.mktime(time.strptime(f[3] + " " + f[4], "%Y-%m-%d %H:%M:%S")))
    check(btime is not None, "the archive has a stats-dump member (the checkpoint's time)")
with open(os.path.join(mnt, "stat")) as f:
    got = int(re.search(r"^btime (\d+)$", f.read(), re.M).group(1))
check(got == btime, f"stat: btime {got} is stats-dump's mtime {btime}")

# ---- ps ----
out = run_ok("ps aux", "ps", "aux")
rows = {}
for line in out.splitlines()[1:]:
    f = line.split(None, 10)
    rows[int(f[1])] = f
check(sorted(rows) == sorted(procs), f"ps aux lists the pids of pstree.json {sorted(procs)}", sorted(rows))
bad = [(pid, rows[pid][4], rows[pid][5]) for pid in procs
       if pid in rows and (int(rows[pid][4]) != procs[pid]["vsz"] // 1024 or
                           int(rows[pid][5]) != procs[pid]["rss"] // 1024)]
check(not bad, "ps aux: VSZ = the VMAs of mm-<pid>.json, RSS = the dumped pages", bad)
bad = [pid for pid in procs if pid in rows and procs[pid]["cmdline"] and
       rows[pid][10] != " ".join(procs[pid]["cmdline"])]
check(not bad, "ps aux: COMMAND is the cmdline", bad)

out = run_ok("ps -ef", "ps", "-ef")
got = {int(l.split()[1]): int(l.split()[2]) for l in out.splitlines()[1:]}
check(got == {pid: p["ppid"] for pid, p in procs.items()}, "ps -ef: PID and PPID as pstree.json", got)

out = run_ok("ps -eLf", "ps", "-eLf")
got = sorted((int(l.split()[1]), int(l.split()[3])) for l in out.splitlines()[1:])
want = sorted((pid, t) for pid, p in procs.items() for t in p["threads"])
check(got == want, "ps -eLf: every thread of pstree.json", got)

out = run_ok("ps -o lstart", "ps", "-e", "-o", "pid=,lstart=")
bad = []
for line in out.splitlines():
    pid, start = line.split(None, 1)
    if int(time.mktime(time.strptime(start.strip(), "%a %b %d %H:%M:%S %Y"))) != btime:
        bad.append(line)
check(out.strip() and not bad, "ps -o lstart: every process started at the checkpoint's time", bad)

# ---- pstree ----
out = run_ok("pstree -p", "pstree", "-p")
missing = [f"{p['comm'][:15]}({pid})" for pid, p in procs.items() if f"({pid})" not in out]
missing += [f"{{{p['comm'][:15]}}}({t})" for pid, p in procs.items() for t in p["threads"]
            if t != pid and f"({t})" not in out]
check(not missing and "?(" not in out, "pstree -p: every process and thread, no ?()", out + "\n" + str(missing))

# ---- top ----
out = run_ok("top -b -n 1", "top", "-b", "-n", "1", "-w", "512")
bad = []
seen = set()
for line in out.splitlines():
    f = line.split()
    if len(f) >= 12 and f[0].isdigit() and int(f[0]) in procs:
        p = procs[int(f[0])]
        seen.add(int(f[0]))
        if int(f[4]) != p["vsz"] // 1024 or int(f[5]) != p["rss"] // 1024:
            bad.append(line)
check(seen == set(procs) and not bad, "top: every process, VIRT and RES as the images", out if not seen else bad)

# ---- lsof ----
for pid, p in procs.items():
    out = run_ok(f"lsof -p {pid}", "lsof", "-w", "-n", "-P", "-p", str(pid))
    rows = {}
    for line in out.splitlines()[1:]:
        m = re.match(r"\S+\s+(\d+)\s+\S+\s+(\d+)[rwu]?\s+(\S+)\s+(.*)", line)
        if m:
            rows[int(m.group(2))] = (m.group(3), m.group(4))
    bad = []
    for fd, target in p["fds"].items():
        m = re.match(r"(socket|pipe):\[(\d+)\]$", target)
        if not m:
            continue
        typ, rest = rows.get(fd, ("missing", ""))
        if m.group(1) == "pipe" and not (typ == "FIFO" and m.group(2) in rest.split()):
            bad.append((fd, target, typ, rest))
        if m.group(1) == "socket" and (typ in ("missing", "unknown") or m.group(2) not in rest.split()):
            bad.append((fd, target, typ, rest))
    check(not bad, f"lsof -p {pid}: every pipe and socket with the inode of its fd link", bad)

want = set()
for pid, p in procs.items():
    for fd, target in p["fds"].items():
        m = re.match(r"socket:\[(\d+)\]$", target)
        if m and int(m.group(1)) in inet:
            want.add((pid, fd, int(m.group(1))))
if want:
    out = run_ok("lsof -i", "lsof", "-w", "-n", "-P", "-i")
else:  # lsof exits 1 when it finds nothing, as on a live system
    rc, out, err = under_proc("lsof", "-w", "-n", "-P", "-i")
    check(rc == 1 and not out and not err, "lsof -i: no INET socket, nothing listed", f"exit {rc}\n{out}{err}")
got = set()
for line in out.splitlines()[1:]:
    f = line.split()
    got.add((int(f[1]), int(f[3].rstrip("rwu")), int(f[5])))
check(got == want, f"lsof -i: every INET socket of files.json ({len(want)}) with its pid, fd and inode",
      f"got {sorted(got)}\nwant {sorted(want)}")

# ---- psutil ----
try:
    import psutil
except ImportError:
    psutil = None
    print("# python3-psutil not installed: psutil not checked")
if psutil:
    psutil.PROCFS_PATH = mnt
    attrs = ["name", "cmdline", "environ", "cwd", "exe", "status", "ppid", "threads", "memory_info",
             "memory_maps", "open_files", "connections", "num_fds", "create_time", "memory_full_info"]
    got = {}
    errors = []
    for proc in psutil.process_iter():
        vals = {}
        for a in attrs:
            if procs.get(proc.pid, {}).get("zombie") and a in ("cwd", "exe", "environ", "memory_maps",
                                                               "memory_full_info", "open_files"):
                continue
            try:
                vals[a] = getattr(proc, a)()
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                errors.append(f"{proc.pid} {a}: {e!r}")
        got[proc.pid] = vals
    check(not errors, f"psutil: {len(attrs)} attributes of every process without an error", "\n".join(errors))
    check(sorted(got) == sorted(procs), "psutil.process_iter: the pids of pstree.json", sorted(got))
    bad = []
    for pid, v in got.items():
        p = procs.get(pid)
        if not p:
            continue
        want = {"name": p["comm"][:15], "ppid": p["ppid"], "num_fds": len(p["fds"]),
                "create_time": float(btime), "threads": p["threads"]}
        have = {"name": v.get("name"), "ppid": v.get("ppid"), "num_fds": v.get("num_fds"),
                "create_time": v.get("create_time"),
                "threads": sorted(t.id for t in v.get("threads", []))}
        if not p["zombie"]:
            want.update(cmdline=p["cmdline"], rss=p["rss"], vms=p["vsz"], maps_rss=p["rss"],
                        cwd=os.readlink(os.path.join(mnt, str(pid), "cwd")),
                        exe=os.readlink(os.path.join(mnt, str(pid), "exe")))
            have.update(cmdline=v.get("cmdline"), rss=v["memory_info"].rss, vms=v["memory_info"].vms,
                        maps_rss=sum(m.rss for m in v.get("memory_maps", [])),
                        cwd=v.get("cwd"), exe=v.get("exe"))
        inet_fds = {fd for fd, t in p["fds"].items()
                    if re.match(r"socket:\[(\d+)\]$", t) and int(t[8:-1]) in inet}
        want["connections"] = sorted(inet_fds)
        have["connections"] = sorted(c.fd for c in v.get("connections", []) if c.fd in inet_fds)
        if want != have:
            bad.append(f"{pid}: want {want}\n{pid}: have {have}")
    check(not bad, "psutil: name, ppid, threads, num_fds, create_time, cmdline, cwd, exe, memory_info, "
          "memory_maps and connections as the images", "\n".join(bad))

tap.done()
