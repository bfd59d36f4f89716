#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Write one hostile checkpoint, built from an extracted fixture (SRC holds
# checkpoint/), that is small on disk but large in what it asks of the
# daemon. Used by e2e/hostile.sh (small N) and scripts/stress-bounds
# (large N). Protobuf is written by hand, as in mkbad.py.
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
import io, os, random, struct, subprocess, sys, tarfile

src, out, kind, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ck = os.path.join(src, 'checkpoint')


def varint(v):
    v &= (1 << 64) - 1
    b = bytearray()
    while True:
        c = v & 0x7f
        v >>= 7
        b.append(c | 0x80 if v else c)
        if not v:
            return bytes(b)


def rd_varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << s; s += 7
        if not c & 0x80:
            return v, i


def parse(b):
    f, i = [], 0
    while i < len(b):
        k, i = rd_varint(b, i)
        num, wt = k >> 3, k & 7
        if wt == 0:
            v, i = rd_varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            ln, i = rd_varint(b, i)
            v, i = b[i:i + ln], i + ln
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError('wire type %d' % wt)
        f.append((num, wt, v))
    return f


def ser(fields):
    b = bytearray()
    for num, wt, v in fields:
        b += varint(num << 3 | wt)
        if wt == 0:
            b += varint(v)
        elif wt == 2:
            b += varint(len(v)) + v
        else:
            b += v
    return bytes(b)


def read_img(name):
    b = open(os.path.join(ck, name), 'rb').read()
    hl = 4 if b[:4] == struct.pack('<I', 0x58313116) else 8
    recs, i = [], hl
    while i < len(b):
        ln = struct.unpack('<I', b[i:i + 4])[0]
        recs.append(b[i + 4:i + 4 + ln]); i += 4 + ln
    return b[:hl], recs


def img_bytes(hdr, recs):
    return hdr + b''.join(struct.pack('<I', len(r)) + r for r in recs)


def fixture(overrides):
    res = []
    for name in sorted(os.listdir(src)):
        if os.path.isfile(os.path.join(src, name)):
            res.append((name, open(os.path.join(src, name), 'rb').read()))
    for name in sorted(os.listdir(ck)):
        data = overrides.pop(name, None)
        if data is None:
            data = open(os.path.join(ck, name), 'rb').read()
        res.append(('checkpoint/' + name, data))
    return res


def add(t, path, data):
    ti = tarfile.TarInfo(path); ti.size = len(data); ti.mode = 0o644; ti.mtime = 1700000000
    t.addfile(ti, io.BytesIO(data))


def write(mems, extra=None, compress=False):
    f = io.BytesIO() if compress else open(out, 'wb')
    with tarfile.open(fileobj=f, mode='w', format=tarfile.USTAR_FORMAT) as t:
        for p, data in mems:
            add(t, p, data)
        if extra:
            extra(t)
    if compress:
        with open(out, 'wb') as o:
            subprocess.run(['zstd', '-q', '-3', '-c'], input=f.getvalue(), stdout=o, check=True)
    else:
        f.close()


ps_hdr, ps = read_img('pstree.img')
pse = [parse(r) for r in ps]


def pstree(entries):
    return img_bytes(ps_hdr, [ser(e) for e in entries])


def proc(pid, ppid, threads=None):
    # PstreeEntry: 1 pid, 2 ppid, 3 pgid, 4 sid, 5 threads
    return [(1, 0, pid), (2, 0, ppid), (3, 0, 1), (4, 0, 1)] + [(5, 0, t) for t in (threads or [pid])]


rng = random.Random(14)
if kind == 'members':
    zero = bytes(1 << 20)
    def junk(t):
        for i in range(n):
            add(t, 'junk/m%06d' % i, zero)
    write(fixture({}), junk, compress=True)
elif kind == 'bigmember':
    # a header claiming N GiB: zstd of a stream of zeros, written piecewise
    def big(t):
        ti = tarfile.TarInfo('junk/big'); ti.size = n << 30; ti.mode = 0o644
        t.addfile(ti)
    f = io.BytesIO()
    with tarfile.open(fileobj=f, mode='w', format=tarfile.PAX_FORMAT) as t:
        for p, data in fixture({}):
            add(t, p, data)
        big(t)
    head = f.getvalue()[:-1024]       # without the end-of-archive blocks
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
    f = io.BytesIO()
    with tarfile.open(fileobj=f, mode='w', format=tarfile.PAX_FORMAT) as t:
        for p, data in fixture({}):
            add(t, p, data)
        ti = tarfile.TarInfo('junk/claim'); ti.size = n << 30; ti.mode = 0o644
        t.addfile(ti)
    head = f.getvalue()[:-1024] + bytes(1 << 20)
    with open(out, 'wb') as o:
        subprocess.run(['zstd', '-q', '-3', '-c'], input=head, stdout=o, check=True)
elif kind == 'livechain':
    root = [v for k, _, v in pse[0] if k == 1][0]
    core_hdr, _ = read_img('core-1.img')
    # core_entry: 1 mtype (1: x86_64), 3 tc; task_core_entry: 1 task_state
    # (1: alive), 2 exit_code, 3 personality, 4 flags, 5 blk_sigset, 6 comm
    tc = ser([(1, 0, 1), (2, 0, 0), (3, 0, 0), (4, 0, 0), (5, 0, 0), (6, 2, b'chain')])
    core = img_bytes(core_hdr, [ser([(1, 0, 1), (3, 2, tc)])])
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
    root = [v for k, _, v in pse[0] if k == 1][0]
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
    vmas = []
    for i in range(n):
        start = 0x100000000 + i * 0x2000
        # vma_entry: 1 start, 2 end, 3 pgoff, 4 shmid, 5 prot, 6 flags, 7 status, 8 fd
        vmas.append(ser([(1, 0, start), (2, 0, start + 0x1000), (3, 0, 0), (4, 0, 0),
                         (5, 0, 3), (6, 0, 0x22), (7, 0, 0x201), (8, 0, (1 << 64) - 1)]))
    mmb = img_bytes(mm_hdr, [ser([x for x in mmf if x[0] != 14] + [(14, 2, v) for v in vmas])])
    write(fixture({'mm-1.img': mmb}))
elif kind == 'jsons':
    mm_hdr, mm = read_img('mm-1.img')
    mmf = parse(mm[0])
    extra = {}
    for k in range(n):
        vmas = [ser([(1, 0, 0x100000000 + (k * 1500 + i) * 0x2000), (2, 0, 0x100000000 + (k * 1500 + i) * 0x2000 + 0x1000),
                     (3, 0, 0), (4, 0, 0), (5, 0, 3), (6, 0, 0x22), (7, 0, 0x201), (8, 0, (1 << 64) - 1)])
                for i in range(1500)]
        extra['mm-%d.img' % (5000 + k)] = img_bytes(mm_hdr, [ser([x for x in mmf if x[0] != 14] + [(14, 2, v) for v in vmas])])
    mems = fixture({}) + [('checkpoint/' + k, v) for k, v in sorted(extra.items())]
    write(mems)
elif kind == 'pagemap':
    pm_hdr, pm = read_img('pagemap-1.img')
    # pagemap_entry: 1 vaddr, 4 flags (4: present), 5 nr_pages
    ents = [ser([(1, 0, 0x10000000 + 8192 * i), (4, 0, 4), (5, 0, 1)]) for i in range(n)]
    write(fixture({'pagemap-1.img': img_bytes(pm_hdr, [pm[0]] + ents)}))
else:
    sys.exit('mkhostile.py: unknown case ' + kind)
