#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile container images for tests/e2e/oci-hostile.sh and
scripts/stress-bounds: small on disk, each asks too much of the image
reader (src/arc/arc-oci*.c) in one way. SRC is a checkpoint tar; the
image forms come from mkoci.py's writer.

  mkocihostile.py CASE SRC OUT [N]
    tags      docker-archive whose RepoTags holds null and a number
"""
import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkoci  # noqa: E402  (the layout writer: put, desc, retar, reg, ...)


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
    open(out, "wb").write(mkoci.retar(res))


def main():
    case, src, out = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    globals()["case_" + case](src, out, n)


if __name__ == "__main__":
    sys.exit(main())
