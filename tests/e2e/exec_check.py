#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ps aux, ps -eLf, pstree -p, top -b -n1, lsof, ss -tanp and netstat -tanp
run by `ckptfs --exec TARGET`, checked against the checkpoint's images read
from a mount of it (TRUTH): the checkpoint's processes, threads and TCP
sockets appear, with their pids, and nothing of this host (the process
whose command line holds MARKER, the listener on 127.0.0.1:PORT).

usage: exec_check.py TRUTH TARGET PORT MARKER     prints TAP, exits 1 on a failure
"""
import json
import os
import re
import subprocess
import sys

from tap import Tap

truth, target, port, marker = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ckptfs = os.environ["CKPTFS"]
tap = Tap(os.path.basename(target) + ": ")
check = tap.check


def run(*argv):
    r = subprocess.run([ckptfs, "--exec", target, *argv], capture_output=True, text=True, errors="replace",
                       env=dict(os.environ, TZ="UTC", LC_ALL="C", COLUMNS="4000"))
    err = "\n".join(l for l in r.stderr.splitlines()
                    if not l.startswith("lsof: WARNING") and "Output information may be incomplete" not in l)
    check(r.returncode == 0 and not err, f"{' '.join(argv)}: exits 0, nothing on stderr",
          f"exit {r.returncode}\n{err}")
    check(marker not in r.stdout and f":{port} " not in r.stdout,
          f"{' '.join(argv)}: nothing of this host (its process, its listener)", r.stdout)
    return r.stdout


def jload(name):
    with open(os.path.join(truth, "images", name)) as f:
        return json.load(f)


procs = {int(e["pid"]): {"ppid": int(e["ppid"]), "threads": sorted(int(t) for t in e.get("threads", [e["pid"]]))}
         for e in jload("pstree.json")["entries"]}
init = int(os.readlink(os.path.join(truth, "self")))
tcp = set()
for e in jload("files.json").get("entries", []):
    isk = e.get("isk")
    if e.get("type") == "INETSK" and isk and isk.get("proto") == "TCP":
        tcp.add((isk["state"], f"{isk['src_addr'][0]}:{isk['src_port']}",
                 f"{isk['dst_addr'][0]}:{isk['dst_port']}", int(isk["ino"])))
owners = {}  # socket inode -> pids holding it
for pid in procs:
    fddir = os.path.join(truth, str(pid), "fd")
    for fd in os.listdir(fddir) if os.path.isdir(fddir) else []:
        m = re.match(r"socket:\[(\d+)\]$", os.readlink(os.path.join(fddir, fd)))
        if m:
            owners.setdefault(int(m.group(1)), set()).add(pid)

# ps: exactly the checkpoint's processes, with their parents
out = run("ps", "-e", "-o", "pid=,ppid=")
got = {int(a): int(b) for a, b in (l.split() for l in out.splitlines() if l.strip())}
check(got == {p: v["ppid"] for p, v in procs.items()}, "ps -e: the checkpoint's pids and ppids",
      f"got {got}\nwant {procs}")
out = run("ps", "aux")
got = sorted(int(l.split()[1]) for l in out.splitlines()[1:])
check(got == sorted(procs), "ps aux: one line per process of the checkpoint", out)
out = run("ps", "-eLf")
got = sorted((int(l.split()[1]), int(l.split()[3])) for l in out.splitlines()[1:])
want = sorted((p, t) for p, v in procs.items() for t in v["threads"])
check(got == want, "ps -eLf: every thread of every process", f"got {got}\nwant {want}")

# pstree from the init (pid 1 when it is 1, as pstree starts there by default)
out = run("pstree", "-p", "-A", *([] if init == 1 else [str(init)]))
got = sorted(int(x) for x in re.findall(r"\((\d+)\)", out))
check(got == sorted(t for v in procs.values() for t in v["threads"]),
      f"pstree -p{'' if init == 1 else ' ' + str(init)}: every process and thread", out)

out = run("top", "-b", "-n", "1")
rows = out.split("\n\n", 1)[-1].splitlines()[1:]
check(sorted(int(l.split()[0]) for l in rows if l.strip()) == sorted(procs), "top -b -n1: the processes", out)

out = run("lsof", "-w", "-n", "-P")
got = {int(l.split()[1]) for l in out.splitlines()[1:]}
check(got <= set(procs) and init in got, "lsof: only the checkpoint's processes, the init among them", out)

# sockets: every TCP socket of files.json, from ss and netstat
out = run("ss", "-tanp")
ss_state = {"ESTAB": "ESTABLISHED", "LISTEN": "LISTEN", "CLOSE-WAIT": "CLOSE_WAIT", "TIME-WAIT": "TIME_WAIT",
            "SYN-SENT": "SYN_SENT", "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2", "LAST-ACK": "LAST_ACK",
            "CLOSING": "CLOSING", "SYN-RECV": "SYN_RECV"}
rows = [l.split(None, 5) for l in out.splitlines()[1:] if l.strip()]
got = {(ss_state.get(r[0], r[0]), r[3], r[4]) for r in rows}
want = {(s, a, b if not b.endswith(":0") else "0.0.0.0:*") for s, a, b, _ in tcp}
check(got == want, f"ss -tanp: the {len(tcp)} TCP sockets of files.json", f"got {got}\nwant {want}")
users = {int(p) for r in rows if len(r) > 5 for p in re.findall(r"pid=(\d+)", r[5])}
check(users == {p for *_, ino in tcp for p in owners.get(ino, ())}, "ss -tanp: their owners' pids",
      f"got {users}\nwant {owners}")
out = run("netstat", "-tanp")
rows = [l.split() for l in out.splitlines()[2:] if l.startswith("tcp")]
got = {(r[5], r[3], r[4] if r[4] != "0.0.0.0:*" else "0.0.0.0:*") for r in rows}
check(got == want, "netstat -tanp: the same sockets", f"got {got}\nwant {want}")
check({int(r[6].split("/")[0]) for r in rows if len(r) > 6 and r[6] != "-"} <= set(procs),
      "netstat -tanp: owned by the checkpoint's processes", out)

tap.done()
