#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seeds and kept inputs of fuzz-oci (tests/fuzz/fuzz-oci.c) into
DIR (tests/fuzz/corpus/fuzz-oci): each is a list of members, "\\0@@member:NAME\\n"
then the bytes, where "$dK", "$hK", "$sK" stand for the digest, hex and size
of member K (0..9, a..z in order), so that the JSON stays valid under
mutation. One seed per image form, and one input per hostile case that was
found (named for it).

  mkcorpus-oci.py DIR
"""
import gzip
import io
import json
import os
import re
import sys
import tarfile

SEP = b"\0@@member:"
MT = "application/vnd.oci.image."
ANN = {"org.criu.checkpoint.container.name": "wl"}


def tar(files):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    b = out.getvalue()
    # without the zero padding to a 10 KiB record: two zero blocks end it
    end = len(b.rstrip(b"\0")) + 511 & ~511
    return b[:end + 1024]


LAYER = tar([("checkpoint/inventory.img", b"\x01\x02\x03\x04"), ("config.dump", b"{}"),
             ("rootfs/a.txt", b"a\n"), ("rootfs/d/b.txt", b"b\n")])
UPPER = tar([("rootfs/.wh.a.txt", b""), ("rootfs/d/.wh..wh..opq", b""), ("rootfs/d/c.txt", b"c\n")])


def desc(mt, k, **extra):
    d = {"mediaType": mt, "digest": "$d" + k, "size": "$s" + k}
    d.update(extra)
    return d


def dump(members):
    b = b""
    for name, data in members:
        b += SEP + name.encode() + b"\n" + data
    return b


def sized(text):
    """JSON text with every "$sK" unquoted: sizes are numbers."""
    return re.sub(rb'"(\$s[0-9a-z])"', rb"\1", text)


def j(o):
    return sized(json.dumps(o).encode())


def manifest(cfg_key, layer_keys, layer_mt=MT + "layer.v1.tar", ann=ANN):
    m = {"schemaVersion": 2, "mediaType": MT + "manifest.v1+json",
         "config": desc(MT + "config.v1+json", cfg_key), "layers": [desc(layer_mt, k) for k in layer_keys]}
    if ann:
        m["annotations"] = ann
    return j(m)


CONFIG = j({"created": "2026-11-23T12:46:00Z", "architecture": "amd64", "os": "linux",
            "config": {"Labels": {"io.podman.annotations.checkpoint.name": "wl"}}, "rootfs": {"type": "layers"}})
LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'


def index(*manifests):
    return j({"schemaVersion": 2, "mediaType": MT + "index.v1+json", "manifests": list(manifests)})


def seeds():
    ref = {"org.opencontainers.image.ref.name": "wl:1"}
    # one image, a gzip layer
    yield "seed-layout-gzip", [
        ("oci-layout", LAYOUT), ("index.json", index(desc(MT + "manifest.v1+json", "2", annotations=ref))),
        ("blobs/sha256/$h2", manifest("3", ["4"], MT + "layer.v1.tar+gzip")),
        ("blobs/sha256/$h3", CONFIG), ("blobs/sha256/$h4", gzip.compress(LAYER, 6, mtime=0))]
    # two layers with whiteouts
    yield "seed-layout-whiteouts", [
        ("oci-layout", LAYOUT), ("index.json", index(desc(MT + "manifest.v1+json", "2"))),
        ("blobs/sha256/$h2", manifest("3", ["4", "5"])), ("blobs/sha256/$h3", CONFIG),
        ("blobs/sha256/$h4", LAYER), ("blobs/sha256/$h5", UPPER)]
    # a nested index of two platforms and another name, chosen with @image
    plat = {"architecture": "amd64", "os": "linux"}
    yield "seed-nested-platforms", [
        ("@image", b"wl:1"), ("oci-layout", LAYOUT),
        ("index.json", index(desc(MT + "index.v1+json", "3", annotations=ref),
                             desc(MT + "manifest.v1+json", "4", annotations={"org.opencontainers.image.ref.name": "x"}))),
        ("blobs/sha256/$h3", index(desc(MT + "manifest.v1+json", "4", platform=plat),
                                   desc(MT + "manifest.v1+json", "4", platform={"architecture": "arm64"}))),
        ("blobs/sha256/$h4", manifest("5", ["6"])), ("blobs/sha256/$h5", CONFIG), ("blobs/sha256/$h6", LAYER)]
    # containerd's checkpoint index
    spec = b'{"ociVersion":"1.0.2","annotations":{"io.container.manager":"containerd"}}'
    anyp = b"\x0a\x05types" + b"\x12" + bytes([len(spec)]) + spec
    ctrd = "application/vnd.containerd.container."
    yield "seed-containerd", [
        ("oci-layout", LAYOUT),
        ("index.json", index(desc(MT + "index.v1+json", "2", annotations=ref))),
        ("blobs/sha256/$h2", j({"schemaVersion": 2, "manifests": [
            desc(ctrd + "criu.checkpoint.criu.tar", "3"), desc(MT + "layer.v1.tar+gzip", "4"),
            desc(ctrd + "checkpoint.config.v1+proto", "5")], "annotations": {"a": "b"}})),
        ("blobs/sha256/$h3", tar([("inventory.img", b"\x01\x02")])),
        ("blobs/sha256/$h4", gzip.compress(tar([("x", b"x")]), 6, mtime=0)), ("blobs/sha256/$h5", anyp)]
    # docker-archive
    yield "seed-docker", [
        ("manifest.json", j([{"Config": "$h1.json", "RepoTags": ["wl:1"], "Layers": ["$h2/layer.tar"]}])),
        ("$h1.json", j({"created": "x", "config": {"Labels": ANN}, "rootfs": {"diff_ids": ["$d2"]}})),
        ("$h2/layer.tar", LAYER)]
    # RepoTags holding null and a number, opened with -o image=foo: a
    # strcmp on NULL once
    yield "crash-docker-repotags-null", [
        ("@image", b"foo"),
        ("manifest.json", b'[{"Config": "$h2.json", "RepoTags": [null, 3], "Layers": ["$h3/layer.tar", null]}]'),
        ("$h2.json", j({"config": {"Labels": ANN}, "rootfs": {"diff_ids": [7]}})), ("$h3/layer.tar", LAYER)]
    # whiteouts that name no file (they removed their own directory once),
    # and a digest of valid hex followed by a NUL and more
    for name, wh in (("hostile-whiteout-root", ".wh."), ("hostile-whiteout-ckpt", "checkpoint/.wh.")):
        yield name, [
            ("oci-layout", LAYOUT), ("index.json", index(desc(MT + "manifest.v1+json", "2"))),
            ("blobs/sha256/$h2", manifest("3", ["4", "5"])), ("blobs/sha256/$h3", CONFIG),
            ("blobs/sha256/$h4", LAYER), ("blobs/sha256/$h5", tar([(wh, b"")]))]
    yield "hostile-digest-nul", [
        ("oci-layout", LAYOUT),
        ("index.json", sized(json.dumps({"manifests": [{"mediaType": MT + "manifest.v1+json", "digest": "$d2\0x",
                                                         "size": "$s2"}]}).encode())),
        ("blobs/sha256/$h2", manifest("3", ["4"])), ("blobs/sha256/$h3", CONFIG), ("blobs/sha256/$h4", LAYER)]
    # one nested index listed 5 times, three levels deep
    m = desc(MT + "manifest.v1+json", "5")
    yield "hostile-fanout", [
        ("oci-layout", LAYOUT), ("index.json", index(*[desc(MT + "index.v1+json", "2")] * 5)),
        ("blobs/sha256/$h2", index(*[desc(MT + "index.v1+json", "3", annotations=ref)] * 5)),
        ("blobs/sha256/$h3", index(*[desc(MT + "index.v1+json", "4")] * 5)),
        ("blobs/sha256/$h4", index(*[m] * 5)),
        ("blobs/sha256/$h5", manifest("6", ["7"])), ("blobs/sha256/$h6", CONFIG), ("blobs/sha256/$h7", LAYER)]
    yield "crash-docker-repotags-number", [
        ("manifest.json", b'[{"Config": "$h1.json", "RepoTags": [3, null], "Layers": [4]}]'),
        ("$h1.json", CONFIG)]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, members in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(dump(members))


if __name__ == "__main__":
    main()
