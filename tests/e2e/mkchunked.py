#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bad variants of a zstd:chunked OCI layout that skopeo wrote.

usage: mkchunked.py SRC-LAYOUT OUT-DIR

SRC-LAYOUT holds one image with one zstd:chunked layer (its descriptor
carries the manifest-position and manifest-checksum annotations, either
the io.github.containers.* or the older io.containers.* keys). Each
variant is a copy of the layout with the layer blob, the manifest and
index.json rewritten so that every digest and size still holds: only the
table of contents (TOC) is wrong, as ckptfs must notice:

  bad-checksum   the annotation's sha256 is not the TOC's
  truncated-toc  the TOC's compressed bytes cut in half (checksum and
                 position updated to match the cut bytes)
  past-blob      one member's frames said to end past the blob (TOC
                 recompressed, checksum and position updated)
  not-json       a TOC that decompresses to JSON cut inside its first
                 entry, a NUL byte where a value goes
  bad-chunks     the largest member's first chunk one byte longer: its
                 chunks do not add up to its size
  bad-frame      a byte of the largest member's first frame flipped, the
                 TOC intact: that member reads EIO, the others read

Prints the name of that largest member for bad-frame. Uses the zstd CLI.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

src, out = sys.argv[1], sys.argv[2]
KEYS = (("io.github.containers.zstd-chunked.manifest-position", "io.github.containers.zstd-chunked.manifest-checksum"),
        ("io.containers.zstd-chunked.manifest-position", "io.containers.zstd-chunked.manifest-checksum"))


def blob_path(root, digest):
    return os.path.join(root, "blobs", "sha256", digest.split(":", 1)[1])


def put_blob(root, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob_path(root, d), "wb") as f:
        f.write(data)
    return d, len(data)


def load(root):
    index = json.load(open(os.path.join(root, "index.json")))
    mdesc = index["manifests"][0]
    man = json.load(open(blob_path(root, mdesc["digest"])))
    return index, man


def save(root, index, man, layer, ann):
    """Write @layer as the manifest's layer blob with annotations @ann."""
    ld = man["layers"][0]
    ld["digest"], ld["size"] = put_blob(root, layer)
    ld["annotations"] = ann
    md, ms = put_blob(root, json.dumps(man).encode())
    index["manifests"][0]["digest"], index["manifests"][0]["size"] = md, ms
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump(index, f)


def skippable(data):
    return b"\x50\x2a\x4d\x18" + len(data).to_bytes(4, "little") + data


def variant(name, fn):
    root = os.path.join(out, name)
    shutil.copytree(src, root)
    index, man = load(root)
    ld = man["layers"][0]
    ann = dict(ld["annotations"])
    pos_key, sum_key = next(k for k in KEYS if k[0] in ann)
    off, clen, ulen, typ = (int(x) for x in ann[pos_key].split(":"))
    layer = open(blob_path(root, ld["digest"]), "rb").read()
    layer, toc = fn(layer, off, clen, ulen)
    if toc is not None:
        ctoc, ulen2 = toc
        ann[sum_key] = "sha256:" + hashlib.sha256(ctoc).hexdigest()
        ann[pos_key] = "%d:%d:%d:%d" % (off, len(ctoc), ulen2, typ)
    elif name == "bad-checksum":
        ann[sum_key] = "sha256:" + hashlib.sha256(b"not the toc").hexdigest()
    save(root, index, man, layer, ann)


def toc_json(layer, off, clen):
    return json.loads(subprocess.run(["zstd", "-dc"], input=layer[off:off + clen],
                                     capture_output=True, check=True).stdout)


def rewrite_toc(layer, off, clen, toc):
    """The blob with @toc in place of its TOC: the data, the TOC's skippable
    frame, then the footer (its offsets as the writer puts them)."""
    raw = json.dumps(toc).encode()
    ctoc = subprocess.run(["zstd", "-c", "-q"], input=raw, capture_output=True, check=True).stdout
    footer = bytearray(layer[-40:]) if layer[-8:] == b"GNUlInUx" else None
    data = layer[:off - 8] + skippable(ctoc)
    if footer:
        footer[8:16] = len(ctoc).to_bytes(8, "little")
        footer[16:24] = len(raw).to_bytes(8, "little")
        data += skippable(bytes(footer))
    return data, (ctoc, len(raw))


def truncated(layer, off, clen, ulen):
    cut = layer[off:off + clen // 2]
    return layer[:off - 8] + skippable(cut), (cut, ulen)


def past_blob(layer, off, clen, ulen):
    toc = toc_json(layer, off, clen)
    reg = next(e for e in toc["entries"] if e["type"] == "reg" and e.get("size"))
    reg["endOffset"] = len(layer) * 4
    return rewrite_toc(layer, off, clen, toc)


def not_json(layer, off, clen, ulen):
    # a NUL where a value goes, inside the first entry, then nothing
    raw = b'{"version":1,"entries":[{"type":"reg","name":"x","size":\x00'
    ctoc = subprocess.run(["zstd", "-c", "-q"], input=raw, capture_output=True, check=True).stdout
    return layer[:off - 8] + skippable(ctoc), (ctoc, len(raw))


def bad_chunks(layer, off, clen, ulen):
    toc = toc_json(layer, off, clen)
    big = max((e for e in toc["entries"] if e["type"] == "reg"), key=lambda e: e.get("size", 0))
    if big.get("chunkSize"):
        big["chunkSize"] += 1
    else:
        big["size"] += 1
    return rewrite_toc(layer, off, clen, toc)


def largest(layer, off, clen):
    """The largest member's entry, and where its first frame ends."""
    ents = toc_json(layer, off, clen)["entries"]
    i = max((i for i, e in enumerate(ents) if e["type"] == "reg"), key=lambda i: ents[i].get("size", 0))
    nxt = ents[i + 1] if i + 1 < len(ents) and ents[i + 1]["type"] == "chunk" else None
    return ents[i], nxt["offset"] if nxt else ents[i]["endOffset"]


def bad_frame(layer, off, clen, ulen):
    big, end = largest(layer, off, clen)
    b = bytearray(layer)
    b[(big["offset"] + end) // 2] ^= 0x55
    return bytes(b), None


os.makedirs(out, exist_ok=True)
variant("bad-checksum", lambda layer, off, clen, ulen: (layer, None))
variant("truncated-toc", truncated)
variant("past-blob", past_blob)
variant("not-json", not_json)
variant("bad-chunks", bad_chunks)
variant("bad-frame", bad_frame)
index, man = load(src)
ld = man["layers"][0]
ann = ld["annotations"]
pos_key = next(k for k in KEYS if k[0] in ann)[0]
o, c = (int(x) for x in ann[pos_key].split(":")[:2])
print(largest(open(blob_path(src, ld["digest"]), "rb").read(), o, c)[0]["name"])
