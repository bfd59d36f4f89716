# SPDX-License-Identifier: Apache-2.0
"""triage.tar.zst: an interactive bash (pid 1, on a pty) from which
ckpt-plant was started; ckpt-plant plants the in-memory anomalies
(tests/real/plant.c) and starts the suspicious children. The rootfs diff
and deleted.files carry the file-system anomalies."""
import os
import shutil
import time

import realkit as rk

PLANT = "/usr/local/sbin/ckpt-plant"
START = "/usr/local/sbin/ckpt-plant-start"
LIB = "/usr/local/lib/libsysupdate.so"
TMP_EXE = "/tmp/.xmr/kswapd0"
DEL_EXE = "/opt/ckpt-plant/updaterd"
OUT = "/tmp/ckpt-plant/plant.out"
HIST = "/tmp/ckpt-plant/.bash_history"

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAQ3EGRXN2PLANTD7Z",
    "AWS_SECRET_ACCESS_KEY": "wJ8rPlantedCkptfsSecretKeyN0tReal/K7MDENG",
    "DB_PASSWORD": "Pl4nted-DB-pass-0xC0FFEE",
}
COMMANDS = [
    "id",
    "uname -a",
    "cd /tmp/ckpt-plant",
    "cat /etc/hostname",
    "ls -la /tmp/.xmr",
    START + " &",
    "echo started $!",
]
PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
toor:x:0:0::/root:/bin/bash
"""
AUTH_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlantedCkptfsTestKeyNotARealKeyAtAll0000 "
            "attacker@ckpt-plant\n")
CRON = "*/5 * * * * root /tmp/.xmr/run.sh >/dev/null 2>&1\n"
RUN_SH = "#!/bin/sh\n# planted by tests/real/make-real\ncd /tmp/.xmr && exec ./kswapd0 100000\n"
DELETED = ["/var/log/auth.log", "/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog"]


def setup():
    os.makedirs("/tmp/ckpt-plant", exist_ok=True)
    os.makedirs("/tmp/.xmr", exist_ok=True)
    os.makedirs(os.path.dirname(DEL_EXE), exist_ok=True)
    for p in (OUT, HIST):
        if os.path.exists(p):
            os.unlink(p)
    rk.cc("plant.c", PLANT, "-ldl")
    rk.cc("libsysupdate.c", LIB, "-shared", "-fPIC")
    shutil.copy("/bin/sleep", TMP_EXE)
    shutil.copy("/bin/sleep", DEL_EXE)


def type_commands(master):
    def drain():
        time.sleep(0.6)
        try:
            while True:
                if not os.read(master, 65536):
                    break
        except BlockingIOError:
            pass
    os.set_blocking(master, False)
    drain()
    for c in COMMANDS:
        os.write(master, (c + "\n").encode())
        drain()


def dump_tree(shell_port, beacon_port):
    with open(START, "w") as f:
        f.write("#!/bin/sh\nexec env %s %s %s %s %s %d %d >%s 2>&1 </dev/null\n" % (
            " ".join("%s=%s" % kv for kv in SECRETS.items()), PLANT, TMP_EXE, DEL_EXE, LIB,
            shell_port, beacon_port, OUT))
    os.chmod(START, 0o755)
    master, slave = os.openpty()
    env = dict(rk.CLEAN_ENV, HISTTIMEFORMAT="%F %T ", HISTFILE=HIST, PS1="root@web-1:\\w# ")
    tree = rk.Tree(["/bin/bash", "--norc", "--noprofile", "-i"], env=env, tty=True, stdio=slave)
    os.close(slave)
    try:
        type_commands(master)
        rk.wait_for(lambda: os.path.exists(OUT) and "ready" in open(OUT).read(), "plant ready")
        d = rk.criu("dump", tree.pid, os.path.join(rk.WORK, "triage"), "--tcp-established", "--shell-job")
    finally:
        tree.kill()
        os.close(master)
    return d


def rootfs(mtime):
    sleep = open("/bin/sleep", "rb").read()
    true = open("/usr/bin/true", "rb").read()
    lib = open(LIB, "rb").read()
    return rk.rootfs_tar([
        ("etc", 0o755, None),
        ("etc/cron.d", 0o755, None),
        ("etc/cron.d/sysupdate", 0o644, CRON.encode()),
        ("etc/ld.so.preload", 0o644, (LIB + "\n").encode()),
        ("etc/passwd", 0o644, PASSWD.encode()),
        ("root", 0o700, None),
        ("root/.ssh", 0o700, None),
        ("root/.ssh/authorized_keys", 0o600, AUTH_KEY.encode()),
        ("tmp", 0o1777, None),
        ("tmp/.xmr", 0o755, None),
        ("tmp/.xmr/kswapd0", 0o755, sleep),
        ("tmp/.xmr/run.sh", 0o755, RUN_SH.encode()),
        ("usr", 0o755, None),
        ("usr/local", 0o755, None),
        ("usr/local/bin", 0o755, None),
        ("usr/local/bin/ksu", 0o4755, true),
        ("usr/local/lib", 0o755, None),
        ("usr/local/lib/libsysupdate.so", 0o755, lib),
    ], mtime)


def build():
    setup()
    shell = rk.Listener(send=b"id; uname -n; echo shell-on-socket-alive\n")
    beacon = rk.Listener(send=b"")
    try:
        d = dump_tree(shell.port, beacon.port)
    finally:
        shell.close()
        beacon.close()
        rk.unlock([shell.port, beacon.port])
    got = rk.parse_kv(OUT)
    if b"shell-on-socket-alive" not in shell.received:
        raise RuntimeError("the shell on the socket did not answer")
    mtime = int(os.stat(os.path.join(d, "stats-dump")).st_mtime)
    out = rk.outpath("triage.tar.zst")
    rk.package(d, out, "triage-planted", ["/bin/bash", "--norc", "--noprofile", "-i"],
               ["PATH=" + rk.CLEAN_ENV["PATH"], "HOME=/root", "TERM=xterm",
                "HISTTIMEFORMAT=%F %T ", "HISTFILE=" + HIST],
               "localhost/ckpt-real-triage:1", rootfs(mtime), DELETED)
    truth = make_truth(out, got, shell.port, beacon.port)
    rk.write_truth("triage", truth)
    for p in (PLANT, START, LIB, TMP_EXE, OUT):
        os.unlink(p)
    shutil.rmtree(os.path.dirname(DEL_EXE), ignore_errors=True)


def pid_of(procs, comm):
    pids = [p for p, c in procs.items() if c == comm]
    if len(pids) != 1:
        raise AssertionError("want one %s in %r" % (comm, procs))
    return pids[0]


def check_region(out, pid, start, end, perms, path=None):
    s, e, p, f = rk.vma_of(out, pid, start)
    assert (s, e) == (start, end) and p == perms, ("pid %d: %#x-%#x %s, maps says %#x-%#x %s"
                                                    % (pid, start, end, perms, s, e, p))
    if path is not None:
        assert f == path, (f, path)


def make_truth(out, g, shell_port, beacon_port):
    procs = rk.ns_pids(out)
    plant = int(g["pid"])
    assert procs[plant] == "ckpt-plant", procs
    rwx = (int(g["rwx_start"], 16), int(g["rwx_end"], 16))
    anx = (int(g["anonx_start"], 16), int(g["anonx_end"], 16))
    elf = (int(g["elf_start"], 16), int(g["elf_end"], 16))
    check_region(out, plant, *rwx, "rwxp", "")
    check_region(out, plant, *anx, "r-xp", "")
    check_region(out, plant, *elf, "rw-p", "")
    code = rk.read_mem(out, plant, rwx[0], int(g["rwx_code_len"]))
    assert code == rk.read_mem(out, plant, anx[0], len(code)) and code[:2] == b"\x31\xc0", code
    assert rk.read_mem(out, plant, elf[0], 4) == b"\x7fELF"
    patched = int(g["patched_addr"], 16)
    s, e, perms, libpath = rk.vma_of(out, plant, patched)
    assert "x" in perms and libpath.endswith("libc.so.6"), (perms, libpath)
    hook = bytes.fromhex(g["patched_bytes"])
    assert rk.read_mem(out, plant, patched, len(hook)) == hook
    with open(libpath, "rb") as f:
        f.seek(int(g["patched_file_offset"], 16))
        assert f.read(len(hook)) != hook
    findings = [
        {"kind": "rwx-memory", "pid": plant, "comm": "ckpt-plant", "start": hex(rwx[0]), "end": hex(rwx[1]),
         "path": "", "details": {"perms": "rwxp", "code_len": int(g["rwx_code_len"]),
                                 "code": "x86-64 execve(\"/bin//sh\") shellcode at the region's start",
                                 "also": "anonymous and executable, so anon-exec too"}},
        {"kind": "anon-exec", "pid": plant, "comm": "ckpt-plant", "start": hex(anx[0]), "end": hex(anx[1]),
         "path": "", "details": {"perms": "r-xp", "code": "the shellcode at +0, 256 bytes of a compiled "
                                 "function of ckpt-plant at +0x40"}},
        {"kind": "elf-in-anon", "pid": plant, "comm": "ckpt-plant", "start": hex(elf[0]), "end": hex(elf[1]),
         "address": hex(elf[0]), "path": "", "details": {"perms": "rw-p", "source": g["elf_source"],
                                                         "size": int(g["elf_size"])}},
        {"kind": "modified-code", "pid": plant, "comm": "ckpt-plant", "address": hex(patched),
         "start": hex(s), "end": hex(e), "path": libpath,
         "details": {"symbol": g["patched_symbol"], "file_offset": g["patched_file_offset"],
                     "len": int(g["patched_len"]), "bytes": g["patched_bytes"],
                     "what": "movabs rax, 0x600000010000; jmp rax (an inline hook into the anon-exec page)"}},
    ]
    findings += children_truth(out, procs, g, plant, shell_port, beacon_port)
    findings += secrets_truth(out, plant, g)
    findings += bash_truth(out, procs)
    findings += files_truth()
    return {
        "archive": "triage.tar.zst",
        "what": "interactive bash (pid 1, pty, --shell-job) that started ckpt-plant (tests/real/plant.c)",
        "processes": {str(p): c for p, c in sorted(procs.items())},
        "findings": findings,
        "observed": {
            "dumped_exec_file_runs": rk.dumped_exec_file_runs(out, sorted(procs)),
            "note": "each process's parasite page, the patched libc page of ckpt-plant, and every "
                    "present page of the memfd-exe's memfd mappings (CRIU dumps the private "
                    "mappings of a memfd whole; their bytes equal the memfd's, i.e. /bin/sleep)",
        },
        "not_findings": [dict(p, kind="parasite-page", comm=procs[p["pid"]],
                              details="first page of the lowest executable VMA: CRIU's parasite wrote "
                                      "there and put the bytes back; dumped, equal to the file")
                         for p in rk.parasite_pages(out, sorted(procs), {
                             DEL_EXE + " (deleted)": "/bin/sleep", "/memfd:payload (deleted)": "/bin/sleep"})],
    }


def children_truth(out, procs, g, plant, shell_port, beacon_port):
    sh, tmp, dele = int(g["shell_pid"]), int(g["tmp_exe_pid"]), int(g["deleted_exe_pid"])
    pre, mfd = int(g["preload_pid"]), int(g["memfd_pid"])
    exe = lambda p: rk.subprocess.run([rk.CKPTFS, "--readlink", out, "%d/exe" % p], check=True,
                                      capture_output=True, text=True).stdout.strip()
    assert exe(tmp) == TMP_EXE, exe(tmp)
    assert exe(dele) == DEL_EXE + " (deleted)", exe(dele)
    mfd_path = "/memfd:payload (deleted)"
    assert any(f == mfd_path for _, _, _, f in rk.maps(out, mfd))
    env = rk.cat(out, "%d/environ" % pre).split(b"\0")
    assert ("LD_PRELOAD=" + LIB).encode() in env, env
    assert any(f == LIB for _, _, _, f in rk.maps(out, pre))
    fds = {n: rk.subprocess.run([rk.CKPTFS, "--readlink", out, "%d/fd/%d" % (sh, n)], check=True,
                                capture_output=True, text=True).stdout.strip() for n in (0, 1, 2)}
    assert len(set(fds.values())) == 1 and fds[0].startswith("socket:["), fds
    return [
        {"kind": "shell-on-socket", "pid": sh, "comm": procs[sh], "path": "/bin/sh",
         "details": {"fds": [0, 1, 2], "socket": fds[0], "remote": "127.0.0.1:%d" % shell_port,
                     "listener": "outside the dumped tree"}},
        {"kind": "connection", "pid": sh, "comm": procs[sh],
         "details": {"proto": "tcp", "state": "ESTABLISHED", "remote": "127.0.0.1:%d" % shell_port, "fd": 0}},
        {"kind": "connection", "pid": plant, "comm": "ckpt-plant",
         "details": {"proto": "tcp", "state": "ESTABLISHED", "remote": "127.0.0.1:%d" % beacon_port,
                     "fd": int(g["beacon_fd"])}},
        {"kind": "raw-socket", "pid": plant, "comm": "ckpt-plant",
         "details": {"family": "AF_PACKET", "type": "SOCK_RAW", "protocol": "ETH_P_ALL",
                     "fd": int(g["packet_fd"]), "note": "not one of the listed kinds; a sniffer"}},
        {"kind": "exe-in-tmp", "pid": tmp, "comm": procs[tmp], "path": TMP_EXE,
         "details": {"copy_of": "/bin/sleep"}},
        {"kind": "deleted-exe", "pid": dele, "comm": procs[dele], "path": DEL_EXE,
         "details": {"exe_link": DEL_EXE + " (deleted)", "copy_of": "/bin/sleep"}},
        {"kind": "memfd-exe", "pid": mfd, "comm": procs[mfd], "path": mfd_path,
         "details": {"memfd_name": g["memfd_name"], "how": "memfd_create(MFD_CLOEXEC) + fexecve",
                     "copy_of": "/bin/sleep",
                     "note": "the exe link ends in (deleted) as for any memfd: not deleted-exe"}},
        {"kind": "ld-preload", "pid": pre, "comm": procs[pre], "path": LIB,
         "details": {"env": "LD_PRELOAD=" + LIB, "mapped": True}},
    ]


def find(out, pid, needle):
    r = rk.subprocess.run([rk.CKPTFS, "--search", "-F", "-e", needle, "--pid", str(pid), "--json", out],
                          capture_output=True, text=True)
    return [rk.json.loads(line)["address"] for line in r.stdout.splitlines()]


def secrets_truth(out, plant, g):
    env = rk.cat(out, "%d/environ" % plant).split(b"\0")
    res = []
    for k, v in SECRETS.items():
        assert ("%s=%s" % (k, v)).encode() in env, (k, env)
        res.append({"kind": "secret", "pid": plant, "comm": "ckpt-plant",
                    "details": {"type": {"AWS_ACCESS_KEY_ID": "aws-access-key-id",
                                         "AWS_SECRET_ACCESS_KEY": "aws-secret-access-key",
                                         "DB_PASSWORD": "password-env"}[k],
                                "where": "environ", "name": k, "value": v}})
    for typ, key, needle in (("private-key-pem", "pem", "-----BEGIN RSA PRIVATE KEY-----"),
                             ("bearer-token", "bearer", "Authorization: Bearer eyJ")):
        hits = find(out, plant, needle)
        addr = hex(int(g[key + "_addr"], 16))
        assert addr in hits, (needle, addr, hits)
        vmas = {h: rk.vma_of(out, plant, int(h, 16))[3] or "anon" for h in hits}
        res.append({"kind": "secret", "pid": plant, "comm": "ckpt-plant", "address": addr,
                    "details": {"type": typ, "where": "heap (strdup)", "match": needle,
                                "len": int(g[key + "_len"]),
                                "other_copies": {h: v for h, v in vmas.items() if h != addr}}})
    return res


def bash_truth(out, procs):
    assert procs[1] == "bash", procs
    hits = {c: find(out, 1, c) for c in COMMANDS}
    missing = [c for c, h in hits.items() if not h]
    assert not missing, missing
    r = rk.subprocess.run([rk.CKPTFS, "--search", "-e", "#1[0-9]{9}", "--pid", "1", "--json", out],
                          capture_output=True, text=True, check=True)
    stamps = sorted({int(rk.json.loads(l)["match"][1:]) for l in r.stdout.splitlines()})
    assert len(stamps) >= 3, stamps
    return [{"kind": "bash-history", "pid": 1, "comm": "bash", "path": "",
             "details": {"commands": COMMANDS, "HISTTIMEFORMAT": "%F %T ", "tty": "pty (--shell-job)",
                         "timestamps": stamps,
                         "timestamps_note": "bash keeps '#<epoch>' beside each history entry in its heap, "
                                            "one per typed command (typed about 0.6 s apart)",
                         "note": "history is in bash's memory only: HISTFILE was never written"}}]


def files_truth():
    res = []
    for p, why in (("/tmp/.xmr/kswapd0", "ELF (copy of /bin/sleep)"), ("/tmp/.xmr/run.sh", "#! script"),
                   ("/usr/local/bin/ksu", "setuid root ELF (copy of /usr/bin/true), mode 4755"),
                   ("/usr/local/lib/libsysupdate.so", "ELF shared object (the LD_PRELOAD library)")):
        res.append({"kind": "rootfs-added-exec", "path": p, "details": why})
    for p, why in (("/root/.ssh/authorized_keys", "added key"),
                   ("/etc/passwd", "extra uid-0 user toor"),
                   ("/etc/cron.d/sysupdate", "runs /tmp/.xmr/run.sh every 5 minutes"),
                   ("/etc/ld.so.preload", "preloads " + LIB)):
        res.append({"kind": "rootfs-persistence", "path": p, "details": why})
    for p in DELETED:
        res.append({"kind": "log-deleted", "path": p, "details": "listed in deleted.files"})
    return res
