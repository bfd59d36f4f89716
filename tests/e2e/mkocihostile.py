#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile container images for tests/e2e/oci-hostile.sh and
scripts/stress-bounds: small on disk, each asks too much of the image
reader (src/arc/arc-oci*.c) in one way. SRC is a checkpoint tar; the
image forms come from mkoci.py's writer.

  mkocihostile.py CASE SRC OUT [N]
    tags      docker-archive whose RepoTags holds null and a number
    fanout    layout whose index.json lists one nested index N times, three
              levels deep (N^3 paths to one manifest)
    fanrefs   fanout where the N index descriptors of each level carry N
              different names (r0, ...)
    manyimages layout whose index.json lists the checkpoint (wl:1) and N
              other images (img0, ...) whose blobs are missing
    sharedmem layout of N gzip layers that all reference one blob holding
              15 members of 1 MiB (zeros), then SRC's files in a last layer
    layers    layout of N layers that all reference one tar blob of 20
              small files, then SRC's files in a last layer
    empties   layout of one gzip layer: SRC's files and N empty files
    whiteouts layouts of SRC's files under a layer with ".wh." (OUT), with
              "checkpoint/.wh." (OUT-ckpt), with ".wh.stats-dump" (OUT-ok)
    nuldigest layout whose manifest digest is valid hex followed by "\\0x"
    overlay   layout of N layers of random files, directories, whiteouts and
              opaque directories under ov/ over SRC's files; OUT.expect is
              the merge a plain bottom-up application gives
    procimages a plain checkpoint tar (not an image) of N processes in a
              random tree, each with copies of the first process's core, mm,
              pagemap, fs and ids images
    rootfsfiles a plain checkpoint tar (not an image) whose rootfs-diff.tar
              holds N empty files in one directory, d/
"""
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import ckimg  # noqa: E402  (images and tars)
import mkoci  # noqa: E402  (the layout writer: put, desc, reg, write_layout, ...)

ANN = {"io.kubernetes.cri-o.annotations.checkpoint.name": "wl"}
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"


def layout_of(out, blobs, ref="wl:1"):
    """Layout at @out whose one manifest lists the layer blobs @blobs
    ((media type, (digest, size)) pairs, in order)."""
    cfg = mkoci.put(out, json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                                     "rootfs": {"type": "layers", "diff_ids": []}}).encode())
    man = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
           "config": mkoci.desc("application/vnd.oci.image.config.v1+json", cfg),
           "layers": [mkoci.desc(mt, dg) for mt, dg in blobs], "annotations": ANN}
    mdg = mkoci.put(out, json.dumps(man).encode())
    mkoci.write_layout(out, [mkoci.desc(MT_MANIFEST, mdg, {"org.opencontainers.image.ref.name": ref})])
    return mdg


def src_layer(out, src):
    return (mkoci.layer_type("none"), mkoci.put(out, open(src, "rb").read()))


def case_tags(src, out, n):
    mkoci.cmd_docker(type("A", (), {"src": src, "out": out}))
    with tarfile.open(out) as t:
        ms = [(ti, t.extractfile(ti).read()) for ti in t.getmembers()]
    res = []
    for ti, data in ms:
        if ti.name == "manifest.json":
            m = json.loads(data)
            m[0]["RepoTags"] = [None, 3, "wl:tagged"]
            data = json.dumps(m).encode()
            ti.size = len(data)
        res.append((ti, data))
    open(out, "wb").write(ckimg.tar_bytes(res))


def case_fanout(src, out, n, refs=False):
    mdg = layout_of(out, [src_layer(out, src)])
    level = [mkoci.desc(MT_MANIFEST, mdg)] * n
    for _ in range(3):
        sub = mkoci.put(out, json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": level}).encode())
        level = [mkoci.desc(MT_INDEX, sub, {"org.opencontainers.image.ref.name": "r%d" % i} if refs else None)
                 for i in range(n)]
    mkoci.write_layout(out, level)


def case_fanrefs(src, out, n):
    case_fanout(src, out, n, refs=True)


def case_manyimages(src, out, n):
    mdg = layout_of(out, [src_layer(out, src)])
    fake = [mkoci.desc(MT_MANIFEST, ("sha256:%064x" % i, 1000 + i), {"org.opencontainers.image.ref.name": "img%d" % i})
            for i in range(n)]
    mkoci.write_layout(out, [mkoci.desc(MT_MANIFEST, mdg, {"org.opencontainers.image.ref.name": "wl:1"})] + fake)


def case_sharedmem(src, out, n):
    big = ckimg.tar_bytes([mkoci.reg("big/%02d" % i, bytes(1 << 20)) for i in range(15)])
    blob = mkoci.put(out, gzip.compress(big, 9, mtime=0))
    layout_of(out, [(mkoci.layer_type("gzip"), blob)] * n + [src_layer(out, src)])


def case_layers(src, out, n):
    small = mkoci.put(out, ckimg.tar_bytes([mkoci.reg("shared/%d/%02d.txt" % (i % 2, i), b"%d\n" % i)
                                        for i in range(20)]))
    layout_of(out, [(mkoci.layer_type("none"), small)] * n + [src_layer(out, src)])


def case_empties(src, out, n):
    ms = ckimg.tar_members(src) + [mkoci.reg("empty/%06d" % i, b"") for i in range(n)]
    layout_of(out, [(mkoci.layer_type("gzip"), mkoci.put(out, gzip.compress(ckimg.tar_bytes(ms), 1, mtime=0)))])


def case_whiteouts(src, out, n):
    for d, names in ((out, [".wh."]), (out + "-ckpt", ["checkpoint/.wh."]), (out + "-ok", [".wh.stats-dump"])):
        upper = mkoci.put(d, ckimg.tar_bytes([mkoci.reg(w, b"") for w in names]))
        layout_of(d, [src_layer(d, src), (mkoci.layer_type("none"), upper)])


def case_nuldigest(src, out, n):
    mdg = layout_of(out, [src_layer(out, src)])
    idx = json.load(open(os.path.join(out, "index.json")))
    idx["manifests"][0]["digest"] = mdg[0] + "\0x"
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(idx, f)


def src_files(src):
    """(name, bytes) of the regular members of the checkpoint tar @src (the
    fixtures' .tar.gz may be zstd, as Podman writes them)."""
    raw = subprocess.run(["zstd", "-dcf", src], stdout=subprocess.PIPE, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        return [(ti.name, t.extractfile(ti).read()) for ti in t.getmembers() if ti.isfile()]


def case_procimages(src, out, n):
    files = src_files(src)
    data = dict(files)
    head, recs = ckimg.split_img(data["checkpoint/pstree.img"])
    root = ckimg.fdict(recs[0])[1]
    rnd = random.Random(14)
    recs = recs + [ckimg.ser(ckimg.pstree_entry(1000 + i, root if i == 0 else 1000 + rnd.randrange(i), 1, 1,
                                                [1000 + i])) for i in range(n)]
    own = {k: data["checkpoint/%s-%d.img" % (k, root)] for k in ("core", "mm", "pagemap", "fs", "ids")}
    files = [(name, ckimg.img_bytes(head, recs) if name == "checkpoint/pstree.img" else d) for name, d in files]
    files += [("checkpoint/%s-%d.img" % (k, 1000 + i), v) for i in range(n) for k, v in own.items()]
    ckimg.tar_write(out, files, fmt=tarfile.USTAR_FORMAT)


def case_rootfsfiles(src, out, n):
    inner = ckimg.tar_bytes([(ckimg.tar_info("d/%06d" % i), b"") for i in range(n)], fmt=tarfile.USTAR_FORMAT)
    ckimg.tar_write(out, [(name, inner if name == "rootfs-diff.tar" else d) for name, d in src_files(src)],
                    fmt=tarfile.USTAR_FORMAT)


def case_overlay(src, out, n):
    """N layers over SRC's files, each of random files, directories,
    whiteouts, opaque directories and kinds replacing each other under ov/
    (seed N); OUT.expect lists what the merge must show, from a plain
    bottom-up application written here."""
    rnd = random.Random(n)
    names = ["ov/" + "/".join(p) for p in (("a",), ("a", "x"), ("a", "y"), ("a", "x", "1"), ("a", "x", "2"), ("b",),
                                           ("b", "x"), ("b", "x", "1"), ("c",), ("c", "z"))]
    state, blobs = {}, [src_layer(out, src)]
    for k in range(n):
        ops = {}
        for _ in range(6):
            p = rnd.choice(names)
            r = rnd.random()
            d, base = p.rsplit("/", 1)
            if r < 0.35:
                ops[p] = ("f", b"layer %d %s\n" % (k, p.encode()))
            elif r < 0.55:
                ops[p] = ("d", None)
            elif r < 0.8:
                ops[d + "/.wh." + base] = ("f", b"")
            else:
                ops[p + "/.wh..wh..opq"] = ("f", b"")
        # every parent a directory in this layer, as a real layer has it
        for p in list(ops):
            parts = p.split("/")
            for i in range(1, len(parts)):
                q = "/".join(parts[:i])
                if q not in ops or ops[q][0] != "d":
                    ops[q] = ("d", None)
        # the reference: whiteouts act on the layers below, then the entries
        for p, (t, data) in ops.items():
            d, base = p.rsplit("/", 1) if "/" in p else ("", p)
            if base == ".wh..wh..opq":
                state = {q: v for q, v in state.items() if not q.startswith(d + "/")}
            elif base.startswith(".wh."):
                tgt = d + "/" + base[4:]
                state = {q: v for q, v in state.items() if q != tgt and not q.startswith(tgt + "/")}
        for p, v in sorted(ops.items()):
            if p.rsplit("/", 1)[-1].startswith(".wh."):
                continue
            if v[0] != "d":
                state = {q: w for q, w in state.items() if not q.startswith(p + "/")}
            state[p] = v
        members = []
        for p, (t, data) in sorted(ops.items()):
            ti = tarfile.TarInfo(p)
            if t == "d":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            else:
                ti.size = len(data)
            members.append((ti, data))
        blobs.append((mkoci.layer_type("none"), mkoci.put(out, mkoci.retar(members))))
    layout_of(out, blobs)
    with open(out + ".expect", "w") as f:
        for p in sorted(state):
            t, data = state[p]
            f.write("%s %s %s\n" % (p, t, hashlib.sha256(data).hexdigest() if t == "f" else "-"))


def main():
    case, src, out = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    globals()["case_" + case](src, out, n)


if __name__ == "__main__":
    sys.exit(main())
