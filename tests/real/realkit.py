# SPDX-License-Identifier: Apache-2.0
"""Helpers of tests/real/make-real: start a process tree as the init of a
new pid namespace, dump it with CRIU, package the images as Podman exports
them, and read the result back with ckptfs --cat."""
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(SRC, "tests", "data", "fixtures", "wl-alpha.tar.zst")
NSINIT = os.environ.get("NSINIT", "/work/shared/tools/nsinit")
WORK = os.environ.get("REAL_WORK", "/tmp/ckpt-real")
CRIU = None      # set by make-real
CKPTFS = None    # set by make-real
CAT_OPTS = []    # more ckptfs options for cat(), e.g. a spill limit
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "HOME": "/root", "TERM": "xterm", "LANG": "C.UTF-8"}


def log(*a):
    print("make-real:", *a, flush=True)


def run(cmd, **kw):
    log("$", " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def cc(src, out, *extra):
    run(["gcc", "-O1", "-g0", "-Wall", "-o", out, os.path.join(HERE, src), *extra])


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


class Tree:
    """`unshare --pid --fork nsinit CMD`: host pid of the namespace's init in .pid."""

    def __init__(self, cmd, env=None, cwd=None, tty=False, stdio=None, settle=1.0):
        args = ["unshare", "--pid", "--fork", NSINIT] + (["--tty"] if tty else []) + cmd
        if stdio is None:
            stdio = subprocess.DEVNULL
        self.proc = subprocess.Popen(args, env=env or CLEAN_ENV, cwd=cwd or "/",
                                     stdin=stdio, stdout=stdio, stderr=stdio)
        for _ in range(200):
            kids = children(self.proc.pid)
            if kids:
                self.pid = kids[0]
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("no namespace init under %d" % self.proc.pid)
        time.sleep(settle)

    def kill(self):
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def criu(action, pid, outdir, *opts):
    """criu ACTION -t PID -D OUTDIR; returns the dump directory."""
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    logf = outdir + ".log"
    cmd = [CRIU, action, "-t", str(pid), "-D", outdir, "-o", logf, "-v4", *opts]
    log("$", " ".join(cmd))
    r = subprocess.run(cmd)
    if r.returncode != 0:
        os.system("grep -E 'Error|Warn' %s | tail -20" % logf)
        raise RuntimeError("criu %s failed (%s)" % (action, logf))
    return outdir


def unlock(ports):
    """Drop the iptables rules a --tcp-established dump (without --leave-running)
    leaves to keep the dumped connections locked, for the listener PORTS only."""
    want = {str(p) for p in ports}
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout.splitlines()
    for r in rules:
        f = r.split()
        if f[:1] != ["-A"] or "0xc114" not in f:
            continue
        if want & {f[i + 1] for i, x in enumerate(f[:-1]) if x in ("--sport", "--dport")}:
            subprocess.run(["iptables", "-D"] + f[1:], check=True)


def _template():
    out = subprocess.run(["tar", "-xO", "--zstd", "-f", FIXTURE, "config.dump", "spec.dump"],
                         check=True, capture_output=True).stdout
    # the two JSON documents back to back
    dec = json.JSONDecoder()
    config, end = dec.raw_decode(out.decode())
    spec, _ = dec.raw_decode(out.decode()[end:].lstrip())
    return config, spec


def engine_files(name, args, env, image, created):
    """config.dump and spec.dump of the fixture with name, id, args, env and image changed."""
    config, spec = _template()
    old_id, old_name = config["id"], config["name"]
    new_id = hashlib.sha256(("ckptfs-real-" + name).encode()).hexdigest()
    ctext = json.dumps(config, indent=2).replace(old_id, new_id).replace(old_id[:12], new_id[:12])
    stext = json.dumps(spec, indent=2).replace(old_id, new_id).replace(old_id[:12], new_id[:12])
    config, spec = json.loads(ctext), json.loads(stext)
    config["name"] = name
    config["rootfsImageName"] = image
    config["RawImageName"] = image
    config["createdTime"] = created
    config["command"] = args
    if "CreateCommand" in config:
        config["CreateCommand"] = ["podman", "run", "-d", "--name", name, image] + args
    spec["process"]["args"] = args
    spec["process"]["env"] = env + ["container=podman", "HOSTNAME=" + new_id[:12]]
    spec["hostname"] = new_id[:12]
    ann = spec.get("annotations", {})
    for k in list(ann):
        if k.endswith(".Created"):
            ann[k] = created
    for k, v in list(ann.items()):
        if isinstance(v, str) and old_name in v:
            ann[k] = v.replace(old_name, name)
    return (json.dumps(config, indent=2) + "\n").encode(), (json.dumps(spec, indent=2) + "\n").encode()


def rootfs_tar(entries, mtime):
    """entries: list of (path, mode, bytes|None for a directory|('link', target))."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, mode, data in entries:
            ti = tarfile.TarInfo(path)
            ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = mode, mtime, 0, 0, "root", "root"
            if data is None:
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _add_bytes(t, name, data, mode, mtime):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime, ti.uname, ti.gname = len(data), mode, mtime, "root", "root"
    t.addfile(ti, io.BytesIO(data))


def package(dumpdir, out, name, args, env, image, rootfs=b"", deleted=None, top="checkpoint"):
    """Podman's export layout: TOP/ (the images, less stats-dump and dump.log),
    stats-dump, config.dump, spec.dump, rootfs-diff.tar, deleted.files; zstd -19."""
    mtime = int(os.stat(os.path.join(dumpdir, "stats-dump")).st_mtime)
    created = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime(mtime - 60))
    config, spec = engine_files(name, args, env, image, created)
    plain = out[:-len(".zst")]
    with tarfile.open(plain, "w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo(top)
        ti.type, ti.mode, ti.mtime, ti.uname, ti.gname = tarfile.DIRTYPE, 0o700, mtime, "root", "root"
        t.addfile(ti)
        for f in sorted(os.listdir(dumpdir)):
            if f in ("stats-dump", "dump.log"):
                continue
            t.add(os.path.join(dumpdir, f), arcname=top + "/" + f, recursive=False,
                  filter=_root_owned)
        _add_bytes(t, "config.dump", config, 0o600, mtime)
        _add_bytes(t, "spec.dump", spec, 0o600, mtime)
        t.add(os.path.join(dumpdir, "stats-dump"), arcname="stats-dump", filter=_root_owned)
        _add_bytes(t, "rootfs-diff.tar", rootfs or rootfs_tar([], mtime), 0o644, mtime)
        if deleted is not None:
            _add_bytes(t, "deleted.files", json.dumps(deleted).encode(), 0o644, mtime)
    zstd(plain, out)


def _root_owned(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def bare_package(dumpdir, out):
    """A bare images directory as a tar (members at the top), zstd -19."""
    plain = out[:-len(".zst")]
    with tarfile.open(plain, "w", format=tarfile.PAX_FORMAT) as t:
        for f in sorted(os.listdir(dumpdir)):
            if f != "dump.log":
                t.add(os.path.join(dumpdir, f), arcname=f, recursive=False, filter=_root_owned)
    zstd(plain, out)


def zstd(plain, out):
    run(["zstd", "-q", "-f", "-19", "--rm", plain, "-o", out])
    log("%s: %d bytes" % (out, os.path.getsize(out)))


def cat(archive, path, *opts):
    """ckptfs --cat ARCHIVE PATH (the offline reader of the build under test)."""
    return subprocess.run([CKPTFS, *CAT_OPTS, *opts, "--cat", archive, path], check=True,
                          capture_output=True).stdout


def maps(archive, pid):
    out = []
    for line in cat(archive, "%d/maps" % pid).decode().splitlines():
        f = line.split(None, 5)
        s, e = (int(x, 16) for x in f[0].split("-"))
        out.append((s, e, f[1], f[5] if len(f) > 5 else ""))
    return out


def vma_of(archive, pid, addr):
    for s, e, perms, path in maps(archive, pid):
        if s <= addr < e:
            return s, e, perms, path
    raise AssertionError("pid %d: %#x in no VMA" % (pid, addr))


def _offset(archive, pid, addr):
    for line in cat(archive, "%d/maps" % pid).decode().splitlines():
        f = line.split()
        s, e = (int(x, 16) for x in f[0].split("-"))
        if s <= addr < e:
            return int(f[2], 16) + addr - s
    raise AssertionError("pid %d: %#x in no VMA" % (pid, addr))


def read_mem(archive, pid, addr, n):
    """N bytes at ADDR of PID's dumped memory, through pages.map and pages."""
    for line in cat(archive, "%d/pages.map" % pid).decode().splitlines():
        f = line.split()
        s, e = (int(x, 16) for x in f[0].split("-"))
        if s <= addr and addr + n <= e and "[missing:" not in line:
            off = int(f[2], 16) + addr - s
            return cat(archive, "%d/pages" % pid)[off:off + n]
    raise AssertionError("pid %d: %#x not dumped" % (pid, addr))


def dumped_runs(archive, pid):
    out = []
    for line in cat(archive, "%d/pages.map" % pid).decode().splitlines():
        if "[missing:" in line:
            continue
        f = line.split(None, 5)
        s, e = (int(x, 16) for x in f[0].split("-"))
        out.append((s, e, f[1], f[5] if len(f) > 5 else ""))
    return out


def dumped_exec_file_runs(archive, pids):
    """Dumped runs inside executable file mappings ([vdso] aside): where a
    modified-code check looks; on a clean process only the parasite's page."""
    out = []
    for pid in pids:
        for s, e, perms, path in dumped_runs(archive, pid):
            if "x" in perms and path and not path.startswith("["):
                out.append({"pid": pid, "start": hex(s), "end": hex(e), "perms": perms, "path": path})
    return out


def parasite_pages(archive, pids, copies=None):
    """The page CRIU's parasite wrote to and put back in each process: the first
    page of the lowest executable VMA (below the vsyscall page) at least a page long."""
    out = []
    for pid in pids:
        for s, e, perms, path in maps(archive, pid):
            if "x" in perms[:3] and e - s >= 4096 and s < 0xffffffffff600000:
                runs, f_path = dumped_runs(archive, pid), path
                dumped = any(a <= s < b for a, b, _, _ in runs)
                same = None
                path = (copies or {}).get(path, path)
                if dumped and path.startswith("/") and os.path.exists(path):
                    off = _offset(archive, pid, s)
                    with open(path, "rb") as f:
                        f.seek(off)
                        same = f.read(4096) == read_mem(archive, pid, s, 4096)
                out.append({"pid": pid, "address": hex(s), "end": hex(s + 4096), "path": f_path,
                            "perms": perms, "dumped": dumped, "equals_file": same})
                break
    return out


class Listener:
    """A TCP listener on 127.0.0.1 outside the dumped tree: accepts, optionally
    sends SEND once, drains what comes back, keeps the connections open."""

    def __init__(self, send=b""):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.send, self.conns, self.received = send, [], b""
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.send:
                c.sendall(self.send)
            threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    def _drain(self, c):
        while True:
            try:
                d = c.recv(4096)
            except OSError:
                return
            if not d:
                return
            self.received += d

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


def http_get(port, path="/", n=3):
    for i in range(n):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        if not data.startswith(b"HTTP/1."):
            raise RuntimeError("port %d: no HTTP answer: %r" % (port, data[:80]))
    return data


def parse_kv(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(" ")
            out[k] = v
    return out


def write_truth(name, truth):
    path = os.path.join(SRC, "tests", "data", "real", name + ".truth.json")
    with open(path, "w") as f:
        json.dump(truth, f, indent=2)
        f.write("\n")
    log("wrote", path)


def outpath(name):
    d = os.path.join(SRC, "tests", "data", "real")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for " + what)


def ns_pids(archive):
    """{pid: comm} of the checkpoint, from /ps (`[pid] comm  args` lines)."""
    out = {}
    for line in cat(archive, "ps").decode().splitlines():
        m = re.match(r"\s*\[(\d+)\]\s+(\S+)", line)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out
