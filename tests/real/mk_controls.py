# SPDX-License-Identifier: Apache-2.0
"""The clean controls: real services with nothing planted, each the init of
its own pid namespace, serving a few requests from 127.0.0.1 before the
dump. Their truth has no findings; it records what the service shows on its
own (executable anonymous memory, the parasite's page)."""
import os
import shutil
import socket
import time

import realkit as rk

NGINX_CONF = """daemon off;
master_process on;
worker_processes 2;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {d}/www;
    }}
}}
"""
NODE_JS = """const http = require('http');
let hits = 0;
function render(url) {
  let s = 0;
  for (let i = 0; i < 2000; i++) s = (s * 31 + url.charCodeAt(i % url.length)) | 0;
  return JSON.stringify({ hits, url, s }) + '\\n';
}
http.createServer((req, res) => { hits++; res.end(render(req.url)); })
  .listen(Number(process.argv[2]), '127.0.0.1');
"""


def www(d):
    os.makedirs(os.path.join(d, "www"), exist_ok=True)
    with open(os.path.join(d, "www", "index.html"), "w") as f:
        f.write("<html><body>ckptfs control</body></html>\n")


def exec_regions(archive, pids):
    """Anonymous executable VMAs and rwx VMAs of each process, as maps lists them."""
    out = []
    for pid in pids:
        for s, e, perms, path in rk.maps(archive, pid):
            if path in ("[vdso]", "[vsyscall]"):
                continue
            if "x" in perms and (not path or "w" in perms):
                out.append({"pid": pid, "start": hex(s), "end": hex(e), "perms": perms, "path": path})
    return out


def control(name, service, cmd, port, serve, cwd="/", env=None, image=None, jit=False):
    d = os.path.join(rk.WORK, name)
    tree = rk.Tree(cmd, env=env, cwd=cwd, settle=2.0)
    try:
        rk.wait_for(lambda: _listening(port), "%s on port %d" % (service, port), 60)
        serve(port)
        time.sleep(1)
        dump = rk.criu("dump", tree.pid, d)
    finally:
        tree.kill()
    out = rk.outpath(name + ".tar.zst")
    envl = ["%s=%s" % kv for kv in (env or rk.CLEAN_ENV).items()]
    rk.package(dump, out, name, cmd, envl, image or "localhost/ckpt-real-%s:1" % name)
    procs = rk.ns_pids(out)
    threads = {p: len(_tasks(out, p)) for p in procs}
    regions = exec_regions(out, sorted(procs))
    benign = [dict(r, kind="jit-code", comm=procs[r["pid"]],
                   details="V8's code space: anonymous rwxp, JIT-compiled code in its dumped pages")
              for r in regions] if jit else []
    assert not jit or benign, "node shows no executable anonymous memory"
    rk.write_truth(name, {
        "archive": name + ".tar.zst",
        "what": service,
        "command": cmd,
        "port": port,
        "processes": {str(p): c for p, c in sorted(procs.items())},
        "threads": {str(p): n for p, n in sorted(threads.items())},
        "findings": [],
        "benign": benign,
        "observed": {
            "exec_anon_or_rwx": regions,
            "dumped_exec_file_runs": rk.dumped_exec_file_runs(out, sorted(procs)),
            "parasite_pages": rk.parasite_pages(out, sorted(procs)),
        },
    })


def _tasks(archive, pid):
    return rk.subprocess.run([rk.CKPTFS, "--ls", archive, "%d/task" % pid], check=True,
                             capture_output=True, text=True).stdout.split()


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def redis():
    d = os.path.join(rk.WORK, "redis-data")
    os.makedirs(d, exist_ok=True)
    port = rk.free_port()

    def serve(p):
        with socket.create_connection(("127.0.0.1", p)) as s:
            for c in ("PING", "SET greeting hello", "GET greeting", "INCR hits", "INCR hits", "INCR hits",
                      "RPUSH queue a b c", "LRANGE queue 0 -1"):
                s.sendall((c + "\r\n").encode())
                time.sleep(0.1)
                s.recv(4096)
    control("control-redis", "redis-server 7 (Debian 12), no persistence, maxmemory 8mb",
            ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no", "--dir", d,
             "--maxmemory", "8mb", "--io-threads", "1"], port, serve, cwd=d)


def nginx():
    d = os.path.join(rk.WORK, "nginx")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    www(d)
    port = rk.free_port()
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(d=d, port=port))
    control("control-nginx", "nginx master (pid 1) and 2 workers, as root, daemon off, 127.0.0.1",
            ["/usr/sbin/nginx", "-p", d, "-c", os.path.join(d, "nginx.conf"), "-e", os.path.join(d, "error.log")],
            port, lambda p: rk.http_get(p, "/index.html", 5), cwd=d)


def python():
    d = os.path.join(rk.WORK, "python-www")
    www(d)
    port = rk.free_port()
    control("control-python", "python3 -m http.server (Debian's python3.11) on 127.0.0.1",
            ["/usr/bin/python3", "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", d],
            port, lambda p: rk.http_get(p, "/index.html", 5), cwd=d)


def node():
    d = os.path.join(rk.WORK, "node-app")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "server.js"), "w") as f:
        f.write(NODE_JS)
    port = rk.free_port()
    control("control-node", "node HTTP server (V8 JIT; small heap options)",
            ["/usr/bin/node", "--max-old-space-size=16", "--max-semi-space-size=1", "--v8-pool-size=1",
             os.path.join(d, "server.js"), str(port)],
            port, lambda p: rk.http_get(p, "/hello", 300), cwd=d, jit=True)
