#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turn a checkpoint tar into the container image forms ckptfs reads, for
tests/e2e/oci.sh. Written from the OCI image-spec's description of a
layout (oci-layout, index.json, blobs/sha256/<hex>), independently of
ckptfs's own writer (src/oci/), so that each checks the other.

  mkoci.py layout SRC.tar DIR [--comp none|gzip|zstd] [--ref NAME]
           [--ann K=V]... [--split] [--nested] [--two] [--cut N] [--media-type MT]
  mkoci.py ctrd SRC.tar DIR [--spec FILE] [--ann K=V]... [--ref NAME]
           [--stats] [--image] [--no-config]   containerd's checkpoint index
  mkoci.py docker SRC.tar OUT.tar  docker-archive
"""
import argparse
import gzip
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import ckimg
from ckimg import tar_bytes as retar, tar_members as members_of


def put(d, data):
    h = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return "sha256:" + h, len(data)


def desc(mt, dg, annotations=None):
    r = {"mediaType": mt, "digest": dg[0], "size": dg[1]}
    if annotations:
        r["annotations"] = annotations
    return r


def compress(data, comp):
    if comp == "gzip":
        return gzip.compress(data, 6, mtime=0)
    if comp == "zstd":
        return ckimg.zstd(data)
    return data


def layer_type(comp):
    return "application/vnd.oci.image.layer.v1.tar" + {"none": "", "gzip": "+gzip", "zstd": "+zstd"}[comp]


def reg(name, data):
    return ckimg.tar_info(name, len(data), mtime=0), data


def write_layout(d, manifests, index_annotations=None):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    if index_annotations:
        idx["annotations"] = index_annotations
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump(idx, f)


def image(d, layers, comp, annotations, created="2026-11-23T12:46:00Z", cut=0, mt=None):
    """Blobs of one image; returns its manifest's digest and size. @cut:
    drop that many bytes from the end of each layer blob (a truncated layer
    whose descriptor matches it)."""
    blobs, diff_ids = [], []
    for raw in layers:
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        blob = compress(raw, comp)
        blobs.append(desc(mt or layer_type(comp), put(d, blob[:len(blob) - cut])))
    cfg = {"created": created, "architecture": "amd64", "os": "linux", "config": {},
           "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    c = put(d, json.dumps(cfg).encode())
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": desc("application/vnd.oci.image.config.v1+json", c), "layers": blobs}
    if annotations:
        man["annotations"] = annotations
    return put(d, json.dumps(man).encode())


def cmd_layout(a):
    ann = dict(kv.split("=", 1) for kv in a.ann)
    raw = open(a.src, "rb").read()
    layers = [raw]
    if a.split:
        # lower layer: everything but config.dump, plus files the upper one removes
        ms = members_of(a.src)
        lower = [m for m in ms if m[0].name != "config.dump"]
        lower += [reg("junk/a.txt", b"junk\n"), reg("checkpoint/junk.img", b"x" * 100),
                  reg("stats-dump", b"stale")]
        upper = [m for m in ms if m[0].name in ("config.dump", "stats-dump")]
        upper += [reg(".wh.junk", b""), reg("checkpoint/.wh.junk.img", b"")]
        layers = [retar(lower), retar(upper)]
    mdg = image(a.dir, layers, a.comp, ann, cut=a.cut, mt=a.media_type)
    manifests = [desc("application/vnd.oci.image.manifest.v1+json", mdg,
                      {"org.opencontainers.image.ref.name": a.ref} if a.ref else None)]
    if a.two:
        other = image(a.dir, [retar([reg("hello.txt", b"hello\n")])], "gzip", None)
        manifests.append(desc("application/vnd.oci.image.manifest.v1+json", other,
                              {"org.opencontainers.image.ref.name": "other"}))
    if a.nested:
        sub = put(a.dir, json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                     "manifests": manifests}).encode())
        manifests = [desc("application/vnd.oci.image.index.v1+json", sub,
                          {"org.opencontainers.image.ref.name": a.ref} if a.ref else None)]
    write_layout(a.dir, manifests)


def cmd_ctrd(a):
    """As `ctr container checkpoint` writes it: the CRIU images as criu.tar
    (with stats-dump when --stats: CRIU's work directory was the images
    directory), the spec (spec.dump, or --spec) in a protobuf Any, the rw
    layer, the index's annotations (--ann: image ref.name, runtime,
    snapshotter), with --image the container image's manifest first, and
    without its config blob (the spec) with --no-config."""
    ms = members_of(a.src)
    criu = []
    for ti, data in ms:
        if ti.name.startswith("checkpoint/"):
            ti.name = ti.name[len("checkpoint/"):]
            criu.append((ti, data))
        elif ti.name == "stats-dump" and a.stats:
            criu.append((ti, data))
    rw = next(data for ti, data in ms if ti.name == "rootfs-diff.tar")
    spec = open(a.spec, "rb").read() if a.spec else next(data for ti, data in ms if ti.name == "spec.dump")
    d = a.dir
    # google.protobuf.Any: 1 type_url, 2 value
    anyp = ckimg.ser([(1, ckimg.LEN, b"types.containerd.io/opencontainers/runtime-spec/1/Spec"), (2, ckimg.LEN, spec)])
    entries = [
        desc("application/vnd.containerd.container.criu.checkpoint.criu.tar", put(d, retar(criu))),
        desc("application/vnd.oci.image.layer.v1.tar+gzip", put(d, gzip.compress(rw, 6, mtime=0))),
        desc("application/vnd.containerd.container.checkpoint.config.v1+proto", put(d, anyp)),
        desc("application/vnd.containerd.container.checkpoint.runtime.name", put(d, b"io.containerd.runc.v2")),
    ]
    if a.no_config:
        entries = [e for e in entries if not e["mediaType"].endswith("config.v1+proto")]
    if a.image:
        entries.insert(0, desc("application/vnd.oci.image.manifest.v1+json",
                               image(d, [retar([reg("etc/os-release", b"ID=test\n")])], "gzip", None)))
    ann = {"io.containerd.checkpoint.snapshotter": "overlayfs"}
    ann.update(kv.split("=", 1) for kv in a.ann)
    ck = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries,
          "annotations": ann}
    ckd = put(d, json.dumps(ck).encode())
    write_layout(d, [desc("application/vnd.oci.image.index.v1+json", ckd,
                          {"org.opencontainers.image.ref.name": a.ref})])


def cmd_docker(a):
    raw = open(a.src, "rb").read()
    lid = hashlib.sha256(raw).hexdigest()
    cfg = json.dumps({"created": "2026-11-23T12:46:00Z", "architecture": "amd64", "os": "linux",
                      "config": {"Labels": {"io.kubernetes.cri-o.annotations.checkpoint.name": "wl"}},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + lid]}}).encode()
    cid = hashlib.sha256(cfg).hexdigest()
    man = json.dumps([{"Config": cid + ".json", "RepoTags": ["localhost/wl:ckpt"],
                       "Layers": [lid + "/layer.tar"]}]).encode()
    with open(a.out, "wb") as f:
        f.write(retar([reg(name, data) for name, data in
                       ((lid + "/layer.tar", raw), (cid + ".json", cfg), ("manifest.json", man))]))


def main():
    p = argparse.ArgumentParser()
    sp = p.add_subparsers(dest="cmd", required=True)
    lp = sp.add_parser("layout")
    lp.add_argument("src")
    lp.add_argument("dir")
    lp.add_argument("--comp", default="gzip", choices=["none", "gzip", "zstd"])
    lp.add_argument("--ref")
    lp.add_argument("--ann", action="append", default=[])
    lp.add_argument("--split", action="store_true")
    lp.add_argument("--nested", action="store_true")
    lp.add_argument("--two", action="store_true")
    lp.add_argument("--cut", type=int, default=0)
    lp.add_argument("--media-type")
    cp = sp.add_parser("ctrd")
    cp.add_argument("src")
    cp.add_argument("dir")
    cp.add_argument("--spec")
    cp.add_argument("--ann", action="append", default=[])
    cp.add_argument("--ref", default="checkpoint/wl:1")
    cp.add_argument("--stats", action="store_true")
    cp.add_argument("--image", action="store_true")
    cp.add_argument("--no-config", action="store_true")
    dp = sp.add_parser("docker")
    dp.add_argument("src")
    dp.add_argument("out")
    a = p.parse_args()
    {"layout": cmd_layout, "ctrd": cmd_ctrd, "docker": cmd_docker}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
