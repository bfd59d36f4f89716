# SPDX-License-Identifier: Apache-2.0
"""Make a CRIU dump incremental against an older dump of the same process,
as `criu dump --track-mem --prev-images-dir` would have written it: every
page of the child's pagemap whose bytes equal the parent's becomes a
PE_PARENT entry and leaves the child's pages file. Used by make-real where
the kernel has no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY), so that CRIU
cannot track memory itself. The pagemap framing is scripts/mkincremental's."""
import importlib.machinery
import os

import realkit as rk

_mk = importlib.machinery.SourceFileLoader(
    "mkincremental", os.path.join(rk.SRC, "scripts", "mkincremental")).load_module()
PAGE = 4096


def _pages(images, pid):
    pages_id, entries = _mk.read_pagemap(os.path.join(images, "pagemap-%d.img" % pid))
    data = open(os.path.join(images, "pages-%d.img" % pages_id), "rb").read()
    out, off = {}, 0
    for e in entries:
        if e["flags"] & _mk.PE_PRESENT:
            for i in range(e["nr"]):
                out[e["vaddr"] + i * PAGE] = data[off:off + PAGE]
                off += PAGE
    return pages_id, entries, out, data


def make_incremental(child, parent, pid):
    """Rewrite CHILD's pagemap and pages of PID in place; returns the pages moved."""
    pages_id, entries, mine, _ = _pages(child, pid)
    theirs = _pages(parent, pid)[2]
    out, data, moved = [], bytearray(), 0
    for e in entries:
        if not e["flags"] & _mk.PE_PRESENT:
            out.append(e)
            continue
        for i in range(e["nr"]):
            a = e["vaddr"] + i * PAGE
            flags = _mk.PE_PARENT if theirs.get(a) == mine[a] else e["flags"]
            if flags == _mk.PE_PARENT:
                moved += 1
            else:
                data += mine[a]
            last = out[-1] if out else None
            if last and last["flags"] == flags and last["vaddr"] + last["nr"] * PAGE == a:
                last["nr"] += 1
            else:
                out.append({"vaddr": a, "nr": 1, "flags": flags})
    _mk.write_pagemap(os.path.join(child, "pagemap-%d.img" % pid), pages_id, out)
    with open(os.path.join(child, "pages-%d.img" % pages_id), "wb") as f:
        f.write(data)
    return moved
