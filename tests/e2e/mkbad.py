#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Write the malformed archives of bad.sh into OUTDIR, from an extracted
# fixture (SRC holds checkpoint/). Images and tars are written with
# tests/lib/ckimg.py (protobuf by hand, no protobuf module). Prints one line per case:
#   NAME<TAB>EXPECT<TAB>DESCRIPTION
# EXPECT: 10, 11, 12 (exit status), mount (must mount), any (a clean error or a mount).
# usage: mkbad.py SRC OUTDIR
import os, struct, sys, tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import ckimg
from ckimg import get, img_bytes, parse, ser, setf

src, out = sys.argv[1], sys.argv[2]
ck = os.path.join(src, 'checkpoint')
cases = []

def read_img(name):
    return ckimg.read_img(os.path.join(ck, name))

def members(overrides=None, drop=()):
    """The fixture's checkpoint/ as (path, bytes), with some images replaced."""
    return ckimg.fixture_members(src, overrides, drop, top=False)

def write_tar(name, mems, extra=()):
    path = os.path.join(out, name + '.tar')
    ckimg.tar_write(path, mems, extra)
    return path

def case(name, expect, desc):
    cases.append((name, expect, desc))

def tar_with(name, expect, desc, overrides=None, drop=(), extra=()):
    write_tar(name, members(overrides, drop), extra)
    case(name + '.tar', expect, desc)

good = write_tar('good', members())
case('good.tar', 'mount', 'the fixture itself, rewritten as a plain tar')
raw = open(good, 'rb').read()

# offsets of each member's header and data in the plain tar
offs = {}
with tarfile.open(good) as t:
    for m in t.getmembers():
        offs[m.name] = (m.offset, m.offset_data, m.size)

# truncations
h, d, s = offs['checkpoint/pstree.img']
open(os.path.join(out, 'trunc-header.tar'), 'wb').write(raw[:h + 100])
case('trunc-header.tar', 'any', 'cut in the middle of a tar header')
pages = [k for k in offs if os.path.basename(k).startswith('pages-') and offs[k][2] >= 8192]
h, d, s = offs[pages[0]]
open(os.path.join(out, 'trunc-pages.tar'), 'wb').write(raw[:d + s // 2])
case('trunc-pages.tar', 'any', 'cut in the middle of ' + os.path.basename(pages[0]))
h, d, s = offs['checkpoint/core-1.img']
open(os.path.join(out, 'trunc-core.tar'), 'wb').write(raw[:d + s // 2])
case('trunc-core.tar', 'any', 'cut in the middle of core-1.img')
open(os.path.join(out, 'empty.tar'), 'wb').close()
case('empty.tar', '10', 'a 0-byte archive')
open(os.path.join(out, 'zeros.tar'), 'wb').write(b'\0' * 10240)
case('zeros.tar', 'any', 'an archive of end-of-archive blocks only')

# magics
inv_hdr, inv = read_img('inventory.img')
tar_with('magic-inventory', '12', 'inventory.img with a wrong magic',
         {'inventory.img': b'\x01\x02\x03\x04' + img_bytes(inv_hdr, inv)[4:]})
pm_hdr, pm = read_img('pagemap-1.img')
tar_with('magic-pagemap', 'mount', 'pagemap-1.img with a wrong magic',
         {'pagemap-1.img': pm_hdr[:4] + b'\xde\xad\xbe\xef' + img_bytes(pm_hdr, pm)[8:]})
tar_with('magic-only', 'mount', 'core-1.img of its magic words only',
         {'core-1.img': open(os.path.join(ck, 'core-1.img'), 'rb').read()[:8]})

# record sizes past the end of the file
ps_hdr, ps = read_img('pstree.img')
tar_with('size-pstree', '12', 'a pstree.img record claiming 0xffffff00 bytes',
         {'pstree.img': ps_hdr + struct.pack('<I', 0xffffff00) + ps[0]})
core_hdr, core = read_img('core-1.img')
tar_with('size-core', 'mount', 'a core-1.img record claiming 2^31 bytes',
         {'core-1.img': core_hdr + struct.pack('<I', 0x80000000) + core[0]})
mm_hdr, mm = read_img('mm-1.img')
tar_with('size-mm', 'mount', 'an mm-1.img record 1 byte longer than the file',
         {'mm-1.img': mm_hdr + struct.pack('<I', len(mm[0]) + 1) + mm[0]})

# pagemap counts
def pm_entries(recs, fn):
    res = [recs[0]]
    for r in recs[1:]:
        res.append(ser(fn(parse(r))))
    return res
first = [True]
def huge(f):
    if first[0] and get(f, 5):
        first[0] = False
        return setf(f, 5, 1 << 60)
    return f
tar_with('pagemap-huge', 'mount', 'a pagemap entry with nr_pages 2^60',
         {'pagemap-1.img': img_bytes(pm_hdr, pm_entries(pm, huge))})
def wrap(f):
    return setf(setf(f, 1, (1 << 64) - 4096), 5, 16)
tar_with('pagemap-wrap', 'mount', 'pagemap entries at the top of the address space that wrap',
         {'pagemap-1.img': img_bytes(pm_hdr, pm_entries(pm, wrap))})
last = len(pm) - 1
def past(f, _n=[0]):
    _n[0] += 1
    return setf(f, 5, get(f, 5)[0] + 100) if _n[0] == last and get(f, 5) else f
tar_with('pagemap-past', 'mount', 'a pagemap that runs 100 pages past its pages image',
         {'pagemap-1.img': img_bytes(pm_hdr, pm_entries(pm, past))})
tar_with('pagemap-many', 'mount', '200000 one-page pagemap entries (PRESENT, far past the pages image)',
         {'pagemap-1.img': img_bytes(pm_hdr, [pm[0]] + [ser(ckimg.pagemap_entry(0x10000000 + 4096 * i, 1, compat_nr=False))
                                                       for i in range(200000)])})
tar_with('pagemap-noid', 'mount', 'a pagemap naming pages-4242.img, which does not exist',
         {'pagemap-1.img': img_bytes(pm_hdr, [ser(ckimg.pagemap_head(4242))] + pm[1:])})

# VMAs
mmf = parse(mm[0])
vmas = get(mmf, 14)
def with_vmas(v):
    return img_bytes(mm_hdr, [ser(ckimg.mm_with_vmas(mmf, v))])
over = [ser(setf(parse(x), 2, get(parse(vmas[-1]), 2)[0])) for x in vmas]
tar_with('vma-overlap', 'mount', 'every VMA of mm-1.img extended to the end of the last one (overlapping)',
         {'mm-1.img': with_vmas(over)})
tar_with('vma-reversed', 'mount', 'mm-1.img VMAs in reverse order, one with end < start',
         {'mm-1.img': with_vmas(list(reversed(vmas)) + [ser(ckimg.vma_entry(0x9000, 0x1000))])})
tar_with('vma-huge', 'mount', 'a VMA spanning [0, 2^64-4096), negative fd, huge pgoff',
         {'mm-1.img': with_vmas(vmas + [ser(ckimg.vma_entry(0, (1 << 64) - 4096, pgoff=(1 << 64) - 1, prot=7,
                                                              status=0x41, fd=-(1 << 63)))])})
tar_with('mm-args', 'mount', 'mm-1.img arg/env ranges of 2^63 bytes and reversed',
         {'mm-1.img': img_bytes(mm_hdr, [ser(setf(setf(setf(setf(mmf, 8, 0), 9, 1 << 63), 10, 1 << 40), 11, 4096))])})

# pstree shapes
pse = [parse(r) for r in ps]
pids = [get(e, 1)[0] for e in pse]
def tree(entries):
    return img_bytes(ps_hdr, [ser(e) for e in entries])
cyc = [setf(e, 2, pids[(i + 1) % len(pids)]) for i, e in enumerate(pse)]
tar_with('pstree-cycle', 'any', 'pstree.img whose ppids form a cycle', {'pstree.img': tree(cyc)})
tar_with('pstree-self', 'any', 'a pstree entry that is its own parent', {'pstree.img': tree([setf(pse[0], 2, pids[0])] + pse[1:])})
tar_with('pstree-dup', 'any', 'pstree.img listing the same pid twice', {'pstree.img': tree(pse + [pse[0]])})
if len(pids) > 1:
    reuse = [[x for x in pse[0] if x[0] != 5] + [(5, 0, pids[0]), (5, 0, pids[1])]] + pse[1:]
    tar_with('pstree-tid-is-pid', 'any', 'a thread id of pid %d reused as pid %d' % (pids[0], pids[1]),
             {'pstree.img': tree(reuse)})
tar_with('pstree-threads', 'any', 'a pstree entry with 20000 threads (no core images)',
         {'pstree.img': tree([pse[0] + [(5, 0, 100000 + i) for i in range(20000)]] + pse[1:])})
tar_with('pstree-pid0', 'any', 'pstree.img with pid 0 and pid 2^32-1',
         {'pstree.img': tree(pse + [ckimg.pstree_entry(0, 0, 0, 0, []),
                                    ckimg.pstree_entry(0xffffffff, 0, 0, 0, [])])})
tar_with('pstree-empty', '12', 'pstree.img with magic only', {'pstree.img': ps_hdr})
tar_with('pstree-missing', '11', 'no pstree.img', drop=('pstree.img',))
tar_with('core-missing', 'mount', 'no core-1.img', drop=('core-1.img',))

# tar-level tricks
mems = members()
deep = '/'.join(['d'] * 1000)
write_tar('deep', mems + [(deep + '/leaf', b'deep\n')])
case('deep.tar', 'any', 'a member 1000 directories deep')
escape = [('../../../tmp/ckptfs-bad-escape', b'x'), ('/tmp/ckptfs-bad-abs', b'x'),
          ('checkpoint/../../ckptfs-bad-dotdot', b'x'), ('./checkpoint/./x/../y', b'y')]
write_tar('dotdot', mems + escape)
case('dotdot.tar', 'any', "member names with '..', absolute paths and './'")
links = []
for name, target, kind in (('checkpoint/abs-link', '/etc/shadow', tarfile.SYMTYPE),
                           ('checkpoint/up-link', '../../../../etc/passwd', tarfile.SYMTYPE),
                           ('checkpoint/loop-a', 'loop-b', tarfile.SYMTYPE),
                           ('checkpoint/loop-b', 'loop-a', tarfile.SYMTYPE),
                           ('checkpoint/self', 'self', tarfile.SYMTYPE),
                           ('checkpoint/deep-up', 'x/../../../../../checkpoint/./core-1.img', tarfile.SYMTYPE),
                           ('checkpoint/dots', './/.//../checkpoint//core-1.img', tarfile.SYMTYPE),
                           ('checkpoint/abs-core', '//checkpoint/core-1.img', tarfile.SYMTYPE),
                           ('checkpoint/root-link', '/', tarfile.SYMTYPE),
                           ('checkpoint/long-up', '../' * 3000 + 'etc/passwd', tarfile.SYMTYPE),
                           ('checkpoint/hard-core', 'checkpoint/core-1.img', tarfile.LNKTYPE),
                           ('checkpoint/hard-abs', '/etc/passwd', tarfile.LNKTYPE),
                           ('checkpoint/hard-missing', 'checkpoint/nope', tarfile.LNKTYPE),
                           ('checkpoint/fifo', '', tarfile.FIFOTYPE),
                           ('checkpoint/dev', '', tarfile.CHRTYPE)):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = target
    links.append(ti)
write_tar('links', mems, links)
case('links.tar', 'mount', 'symlinks (absolute, escaping, loops), hard links (inside, absolute, missing), fifo, device')
ti = tarfile.TarInfo('checkpoint/pstree.img'); ti.type = tarfile.SYMTYPE; ti.linkname = '/etc/passwd'
write_tar('link-pstree', [m for m in mems if m[0] != 'checkpoint/pstree.img'], [ti])
case('link-pstree.tar', 'any', 'pstree.img is a symlink to /etc/passwd')
ti = tarfile.TarInfo('checkpoint/core-1.img'); ti.type = tarfile.LNKTYPE; ti.linkname = 'checkpoint/core-1.img'
write_tar('link-self', [m for m in mems if m[0] != 'checkpoint/core-1.img'], [ti])
case('link-self.tar', 'any', 'core-1.img a hard link to itself')
write_tar('dup', mems + [('checkpoint/pstree.img', b'\x19CVT\x00\x00\x00\x00garbage'),
                         ('checkpoint/core-1.img', open(os.path.join(ck, 'core-1.img'), 'rb').read()[:20])])
case('dup.tar', 'any', 'pstree.img and core-1.img twice, the second copies corrupt')
write_tar('dup-dir', mems + [('checkpoint', b'a file where the directory is')])
case('dup-dir.tar', 'any', 'a regular member with the name of the checkpoint/ directory')

# NUL in a pax path, and a long name with a NUL in the ustar field
def pax_member(path_bytes, data):
    rec = b' path=' + path_bytes + b'\n'
    n = len(rec) + 1
    while len(str(n)) + len(rec) != n:
        n = len(str(n)) + len(rec)
    paxdata = str(n).encode() + rec
    hdr = lambda name, size, typ: ckimg.ustar_header(name, b'%011o\0' % size, typ)
    pad = lambda b: b + b'\0' * (-len(b) % 512)
    return hdr(b'PaxHeader', len(paxdata), b'x') + pad(paxdata) + hdr(b'checkpoint/nul', len(data), b'0') + pad(data)
body = raw[:offs['checkpoint/pstree.img'][0]]     # members before pstree.img, then the rest
rest = raw[offs['checkpoint/pstree.img'][0]:]
open(os.path.join(out, 'nul.tar'), 'wb').write(body + pax_member(b'checkpoint/ev\0il/../../x', b'nul\n') + rest)
case('nul.tar', 'any', 'a pax path holding a NUL byte')

# tar bombs: a header claiming 1 TiB (pax size) with 1 KiB of data, and a
# base-256 size of 2^62 in the ustar field
b256 = bytes([0x80]) + (1 << 62).to_bytes(11, 'big')
end = len(raw) - 1024
while raw[end - 512:end] == b'\0' * 512:
    end -= 512
open(os.path.join(out, 'bomb-b256.tar'), 'wb').write(raw[:end] + ckimg.ustar_header(b'checkpoint/pages-99.img', b256) + b'A' * 1024)
case('bomb-b256.tar', 'any', 'a member claiming 2^62 bytes (base-256 size) with 1 KiB of data')
paxsz = b' size=1099511627776\n'
paxsz = (str(len(paxsz) + 2).encode() + paxsz)
ph = ckimg.ustar_header(b'PaxHeader', b'%011o\0' % len(paxsz), b'x')
open(os.path.join(out, 'bomb-pax.tar'), 'wb').write(raw[:end] + ph + paxsz + b'\0' * (512 - len(paxsz))
                                                   + ckimg.ustar_header(b'checkpoint/pages-98.img', b'%011o\0' % 0) + b'B' * 1024)
case('bomb-pax.tar', 'any', 'a member claiming 1 TiB (pax size) with 1 KiB of data')

# a rootfs-diff.tar that is no tar: the mount leaves /rootfs-diff/ out and says so
write_tar('nested-bad', members() + [('rootfs-diff.tar', b'\x28\xb5\x2f\xfd' + b'not zstd at all' * 64)])
case('nested-bad.tar', 'mount', 'a rootfs-diff.tar of corrupt zstd data')

for c in cases:
    print('\t'.join(c))
