#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The data behind file descriptors on one wl-* fixture: the workload's marker
# lines in /1/fdcontent/<n>, then every /<pid>/fdcontent/<n> and /files/<name>
# byte for byte against the "extra" payloads of the golden crit JSON, joined
# here independently of ckptfs (a memfd against its pages in the archive).
. "$(dirname "$0")/lib.sh"
need python3 cat ls cmp diff grep

fx=${1:?usage: contents.sh FIXTURE}
name=${fx%%.*}
tag=${name#wl-}
golden=$GOLDEN/$name/pretty
[ -d "$golden" ] || skip "no goldens for $fx"
mnt=$WORK/$name
expect=$WORK/expect
mount_ck "$FIXTURES/$fx" "$mnt" || { fail "mount $fx"; finish; }

for spec in 5:PIPE-DATA 6:PIPE-DATA 14:FIFO-DATA 8:UNIX-QUEUE 12:TCP-QUEUE 15:GHOST-FILE 17:MEMFD; do
	fd=${spec%%:*}
	marker=${spec#*:}-MARKER-$tag
	check "cat 1/fdcontent/$fd prints $marker" test "$(cat "$mnt/1/fdcontent/$fd")" = "$marker"
done
check "every fdcontent and files entry reads without error" \
	sh -c "cat '$mnt'/*/fdcontent/* '$mnt'/files/* >/dev/null"

# Expected trees: $expect/fdcontent/<pid>/<name> and $expect/files/<name>.
python3 - "$golden" "$mnt" "$expect" <<'EOF' || fail "build the expected contents from the goldens"
import base64, json, os, sys

golden, mnt, out = sys.argv[1:4]

def img(name):
    path = os.path.join(golden, name + ".img.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)["entries"]

def b64(s):
    return base64.b64decode(s) if s else b""

def label(s):
    s = s.lstrip("/")
    if not s:
        return ""
    raw = s.encode()[:160]
    return "-" + "".join("_" if c == 0x2F or c < 0x20 or c == 0x7F else chr(c) for c in raw)

def endpoint(addr, port):
    a = addr[0] if addr else "?"
    return f"[{a}]:{port}" if ":" in a else f"{a}:{port}"

files = {e["id"]: e for e in img("files")}
remaps = {e["orig_id"]: e for e in img("remap-fpath")}
pipes = {e["pipe_id"]: b64(e.get("extra")) for e in img("pipes-data")}
fifos = {e["pipe_id"]: b64(e.get("extra")) for e in img("fifo-data")}
queues = {}
for e in img("sk-queues"):
    queues[e["id_for"]] = queues.get(e["id_for"], b"") + b64(e.get("extra"))
memfds = {e["inode_id"]: e for e in img("memfd")}

def ghost(remap_id):
    ents = img("ghost-file-%x" % remap_id)
    if not ents:
        return b""
    if not ents[0].get("chunks"):
        return b64(ents[0].get("extra"))
    data = bytearray(int(ents[0]["size"]))
    for c in ents[1:]:
        data[int(c["off"]):int(c["off"]) + int(c["len"])] = b64(c.get("extra"))
    return bytes(data)

def memfd(m):
    pm = img("pagemap-shmem-%d" % m["shmid"])
    data = bytearray(int(m["size"]))
    if pm:
        with open(os.path.join(mnt, "checkpoint", "pages-%d.img" % pm[0]["pages_id"]), "rb") as f:
            for e in pm[1:]:
                if "PE_PRESENT" not in e.get("flags", ""):
                    continue
                n = int(e["nr_pages"]) * 4096
                page = f.read(n)
                lo = int(e["vaddr"], 16)
                if lo < len(data):
                    data[lo:lo + n] = page[:len(data) - lo]
    return bytes(data)

def contents(fid):
    """(files/ name, bytes, is_outq) for what the file with id @fid holds."""
    f = files.get(fid)
    if not f:
        return []
    t = f["type"]
    if t == "PIPE" and pipes.get(f["pipe"]["pipe_id"]):
        return [("pipe-%d" % f["pipe"]["pipe_id"], pipes[f["pipe"]["pipe_id"]], False)]
    if t == "FIFO" and fifos.get(f["fifo"]["pipe_id"]):
        reg = files.get(f["fifo"].get("regf_id"), {}).get("reg", {})
        return [("fifo-%d%s" % (f["fifo"]["pipe_id"], label(reg.get("name", ""))),
                 fifos[f["fifo"]["pipe_id"]], False)]
    if t == "UNIXSK" and queues.get(fid):
        return [("unix-%d.inq" % f["usk"]["ino"], queues[fid], False)]
    if t == "INETSK":
        s = f["isk"]
        ents = img("tcp-stream-%x" % s["ino"])
        if not ents:
            return []
        base = "tcp-%d-%s-%s" % (s["ino"], endpoint(s.get("src_addr"), s["src_port"]),
                                 endpoint(s.get("dst_addr"), s["dst_port"]))
        x = ents[0]["extra"]
        return [(base + ".inq", b64(x["inq"]), False)] * bool(x["inq"]) + \
               [(base + ".outq", b64(x["outq"]), True)] * bool(x["outq"])
    if t == "REG" and remaps.get(fid, {}).get("remap_type") == "GHOST":
        rid = remaps[fid]["remap_id"]
        return [("ghost-%x%s" % (rid, label(f["reg"]["name"])), ghost(rid), False)]
    if t == "MEMFD" and f["memfd"]["inode_id"] in memfds:
        m = memfds[f["memfd"]["inode_id"]]
        return [("memfd-%d%s" % (m["inode_id"], label(m["name"])), memfd(m), False)]
    return []

def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)

os.makedirs(os.path.join(out, "files"), exist_ok=True)
for p in img("pstree"):
    pid = p["pid"]
    ids = img("ids-%d" % pid)
    fdinfo = img("fdinfo-%d" % ids[0]["files_id"]) if ids else []
    os.makedirs(os.path.join(out, "fdcontent", str(pid)), exist_ok=True)
    for fd in fdinfo:
        for fname, data, outq in contents(fd["id"]):
            put(os.path.join(out, "fdcontent", str(pid), "%d%s" % (fd["fd"], ".outq" if outq else "")), data)
            put(os.path.join(out, "files", fname), data)
EOF

for d in "$expect"/fdcontent/*; do
	pid=$(basename "$d")
	check "ls $pid/fdcontent lists the fds that hold data" diff <(ls "$d") <(ls "$mnt/$pid/fdcontent")
	for f in "$d"/*; do
		[ -e "$f" ] || continue
		check "$pid/fdcontent/$(basename "$f") equals the golden extra" cmp "$f" "$mnt/$pid/fdcontent/$(basename "$f")"
	done
done
check "ls /files lists every content object once" diff <(ls "$expect/files") <(ls "$mnt/files")
for f in "$expect"/files/*; do
	check "files/$(basename "$f") equals the golden extra" cmp "$f" "$mnt/files/$(basename "$f")"
done
check "files/ sizes match their content (stat)" \
	sh -c "for f in '$mnt'/files/*; do [ \$(stat -c %s \"\$f\") -eq \$(cat \"\$f\" | wc -c) ] || exit 1; done"
umount_ck "$mnt"
finish
