#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Write one hostile checkpoint, built from an extracted fixture (SRC holds
# checkpoint/), that is small on disk but large in what it asks of the
# daemon. Used by e2e/hostile.sh (small N) and scripts/stress-bounds
# (large N). Images and tars are written with tests/lib/ckimg.py.
#
# usage: mkhostile.py SRC OUT CASE N
#   members   N members of 1 MiB of zeros next to the checkpoint, and OUT is
#             zstd-compressed (-o spill_limit= does not cover them: each is
#             small enough to stay in memory)
#   procs     pstree.img with N processes in a random tree (no core images)
#   chain     pstree.img with N processes, each the child of the one before
#   livechain as chain, and each new process has a small core image (alive,
#             comm "chain"), so that container.json descends into it
#   longnames rootfs-diff.tar with N more members whose names are 300 bytes
#             long (long/<i>aaa...), next to long/short and its own members
#   cycle     pstree.img whose ppids form a cycle: the first process, child
#             of the last of N new ones, each the child of the one before
#             (no root at all)
#   threads   the first process of pstree.img with N threads
#   vmas      mm-1.img with N VMAs
#   pagemap   pagemap-1.img with N one-page entries
#   bigmember one member of N GiB of zeros, zstd-compressed (slow: stress only)
#   jsons     N more copies of mm-1.img (mm-5000.img, ...) with 1500 VMAs
#             each: N JSON files of about 600 KB, more than the text cache
#   claim     one member whose header claims N GiB, with 1 MiB of data, zstd
# OUT is a plain tar unless said otherwise.
import io, os, random, subprocess, sys, tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import ckimg
from ckimg import get, img_bytes, parse, ser, tar_add as add

src, out, kind, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ck = os.path.join(src, 'checkpoint')


def read_img(name):
    return ckimg.read_img(os.path.join(ck, name))


def fixture(overrides):
    return ckimg.fixture_members(src, overrides)


def write(mems, compress=False):
    f = io.BytesIO() if compress else out
    ckimg.tar_write(f, mems, fmt=tarfile.USTAR_FORMAT)
    if compress:
        with open(out, 'wb') as o:
            o.write(ckimg.zstd(f.getvalue(), '-3'))


def claim_head(name):
    """A pax tar of the fixture and a header of @name claiming N GiB, without
    its end-of-archive blocks."""
    f = io.BytesIO()
    ckimg.tar_write(f, fixture({}), [ckimg.tar_info(name, n << 30, mtime=0)])
    return f.getvalue()[:-1024]


ps_hdr, ps = read_img('pstree.img')
pse = [parse(r) for r in ps]


def pstree(entries):
    return img_bytes(ps_hdr, [ser(e) for e in entries])


def proc(pid, ppid, threads=None):
    return ckimg.pstree_entry(pid, ppid, 1, 1, threads or [pid])


# the VMAs written here are anonymous, so their fd is never read: it is
# -2^63 (the varint 2^64-1)
def vma(start):
    return ser(ckimg.vma_entry(start, start + 0x1000, fd=-(1 << 63)))


rng = random.Random(14)
if kind == 'members':
    zero = bytes(1 << 20)
    write(fixture({}) + [('junk/m%06d' % i, zero) for i in range(n)], compress=True)
elif kind == 'bigmember':
    # a header claiming N GiB: zstd of a stream of zeros, written piecewise
    head = claim_head('junk/big')
    with open(out, 'wb') as o:
        z = subprocess.Popen(['zstd', '-q', '-3', '-c'], stdin=subprocess.PIPE, stdout=o)
        z.stdin.write(head)
        chunk = bytes(1 << 24)
        for _ in range((n << 30) // len(chunk)):
            z.stdin.write(chunk)
        z.stdin.write(bytes(1024))
        z.stdin.close()
        z.wait()
elif kind == 'claim':
    with open(out, 'wb') as o:
        o.write(ckimg.zstd(claim_head('junk/claim') + bytes(1 << 20), '-3'))
elif kind == 'livechain':
    root = get(pse[0], 1)[0]
    core_hdr, _ = read_img('core-1.img')
    core = img_bytes(core_hdr, [ser(ckimg.core_entry(b'chain'))])
    entries = [pse[0]] + [proc(1000 + i, root if i == 0 else 999 + i) for i in range(n)]
    mems = fixture({'pstree.img': pstree(entries)})
    mems += [('checkpoint/core-%d.img' % (1000 + i), core) for i in range(n)]
    write(mems)
elif kind == 'longnames':
    f = io.BytesIO()
    with tarfile.open(os.path.join(src, 'rootfs-diff.tar')) as inner, \
            tarfile.open(fileobj=f, mode='w', format=tarfile.PAX_FORMAT) as t:
        for m in inner.getmembers():
            t.addfile(m, inner.extractfile(m) if m.isfile() else None)
        for name in ['long/%03d' % i + 'a' * 297 for i in range(n)] + ['long/short']:
            add(t, name, b'hi\n')
    mems = [(p, f.getvalue() if p == 'rootfs-diff.tar' else data) for p, data in fixture({})]
    write(mems)
elif kind in ('procs', 'chain', 'cycle'):
    entries = [pse[0]]
    root = get(pse[0], 1)[0]
    base = 1000
    for i in range(n):
        pid = base + i
        if kind == 'procs':
            ppid = root if i == 0 else base + rng.randrange(i)
        elif kind == 'chain':
            ppid = root if i == 0 else pid - 1
        else:
            ppid = root if i == 0 else pid - 1
        entries.append(proc(pid, ppid))
    if kind == 'cycle':
        entries[0] = [x for x in pse[0] if x[0] != 2] + [(2, 0, base + n - 1)]
    write(fixture({'pstree.img': pstree(entries)}))
elif kind == 'threads':
    e0 = pse[0] + [(5, 0, 100000 + i) for i in range(n)]
    write(fixture({'pstree.img': pstree([e0] + pse[1:])}))
elif kind == 'vmas':
    mm_hdr, mm = read_img('mm-1.img')
    mmf = parse(mm[0])
    vmas = [vma(0x100000000 + i * 0x2000) for i in range(n)]
    mmb = img_bytes(mm_hdr, [ser(ckimg.mm_with_vmas(mmf, vmas))])
    write(fixture({'mm-1.img': mmb}))
elif kind == 'jsons':
    mm_hdr, mm = read_img('mm-1.img')
    mmf = parse(mm[0])
    extra = {}
    for k in range(n):
        vmas = [vma(0x100000000 + (k * 1500 + i) * 0x2000) for i in range(1500)]
        extra['mm-%d.img' % (5000 + k)] = img_bytes(mm_hdr, [ser(ckimg.mm_with_vmas(mmf, vmas))])
    mems = fixture({}) + [('checkpoint/' + k, v) for k, v in sorted(extra.items())]
    write(mems)
elif kind == 'pagemap':
    pm_hdr, pm = read_img('pagemap-1.img')
    ents = [ser(ckimg.pagemap_entry(0x10000000 + 8192 * i, 1, compat_nr=False)) for i in range(n)]
    write(fixture({'pagemap-1.img': img_bytes(pm_hdr, [pm[0]] + ents)}))
else:
    sys.exit('mkhostile.py: unknown case ' + kind)
