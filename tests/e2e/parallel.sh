#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Parallel readers: 8 processes read different files of one mount at once
# (each process's pages and mem, the pages images and other members), with
# read sizes from 1 byte to 1 MiB, several rounds. Every byte must equal the
# goldens (memhash.json, members.sha256), as for a single reader. Covers the
# spliced read path (fd extents, holes as zero buffers) under concurrency,
# for a plain tar (archive fd), zstd and gzip (spill file and memory).
# No timing here: speed is scripts/bench's business.
. "$(dirname "$0")/lib.sh"
need python3

for file in wl-gamma.tar wl-alpha.tar.zst wl-beta.tar.gz; do
	name=${file%%.tar*}
	mnt=$WORK/$name
	mount_ck "$FIXTURES/$file" "$mnt" || { fail "mount $file"; continue; }
	check "$file: 8 parallel readers see the golden bytes" \
		python3 - "$mnt" "$GOLDEN/$name/memhash.json" "$GOLDEN/$name/members.sha256" <<'PY'
import hashlib, json, os, sys
from concurrent.futures import ProcessPoolExecutor

mnt, memhash, members = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
SIZES = [4095, 4096, 12305, 65536, 131072, 1 << 20]

def runs_of(pid):
    out = []
    for line in open(os.path.join(mnt, pid, 'pages.map')):
        rng, perms, off = line.split()[:3]
        a, b = (int(x, 16) for x in rng.split('-'))
        out.append((a, b, int(off, 16)))
    return out

def check_pages(pid, bs):
    """Read pid/pages sequentially in @bs chunks; hash every golden run."""
    data = bytearray()
    with open(os.path.join(mnt, pid, 'pages'), 'rb', buffering=0) as f:
        while True:
            b = f.read(bs)
            if not b:
                break
            data += b
    table = runs_of(pid)
    bad = 0
    for vaddr, n, sha in memhash[pid]:
        v = int(vaddr, 16)
        off = next(o + (v - a) for a, b, o in table if a <= v < b)
        if hashlib.sha256(data[off:off + n * 4096]).hexdigest() != sha:
            bad += 1
    return bad

def mapped(pid, addr, n):
    """How many bytes a read of n at addr returns from pid/mem: mem reads
    through adjacent VMAs (holes inside them as zeros) and ends outside
    every VMA, as maps lists them."""
    vmas = []
    for line in open(os.path.join(mnt, pid, 'maps')):
        a, b = (int(x, 16) for x in line.split()[0].split('-'))
        vmas.append((a, b))
    end = None
    for a, b in sorted(vmas):
        if end is None and a <= addr < b:
            end = b
        elif end is not None and a == end:
            end = b
    return 0 if end is None else min(n, end - addr)

def check_mem(pid, bs):
    """pread every golden run from pid/mem in @bs pieces, plus the page
    before it (a hole or another run: only its length is checked)."""
    fd = os.open(os.path.join(mnt, pid, 'mem'), os.O_RDONLY)
    bad = 0
    for vaddr, n, sha in memhash[pid]:
        v, h, left = int(vaddr, 16), hashlib.sha256(), n * 4096
        while left:
            b = os.pread(fd, min(bs, left), v)
            if not b:
                break
            h.update(b)
            v += len(b)
            left -= len(b)
        bad += h.hexdigest() != sha
        if int(vaddr, 16) >= 4096 and len(os.pread(fd, 8192, int(vaddr, 16) - 4096)) != \
                mapped(pid, int(vaddr, 16) - 4096, 8192):
            bad += 1
    os.close(fd)
    return bad

def check_members(bs):
    bad = 0
    for line in open(members):
        sha, path = line.split(None, 1)
        path = os.path.join(mnt, os.path.normpath(path.strip()))
        h = hashlib.sha256()
        with open(path, 'rb', buffering=0) as f:
            while True:
                b = f.read(bs)
                if not b:
                    break
                h.update(b)
        bad += h.hexdigest() != sha
    return bad

def job(args):
    kind, pid, bs = args
    if kind == 'pages':
        return kind, pid, bs, check_pages(pid, bs)
    if kind == 'mem':
        return kind, pid, bs, check_mem(pid, bs)
    return kind, pid, bs, check_members(bs)

pids = sorted(memhash)
jobs = []
for rnd in range(3):
    for i in range(8):
        bs = SIZES[(i + rnd) % len(SIZES)]
        pid = pids[i % len(pids)]
        kind = ('pages', 'mem', 'members')[(i + rnd) % 3]
        jobs.append((kind, pid, bs))
failed = 0
with ProcessPoolExecutor(8) as ex:
    for kind, pid, bs, bad in ex.map(job, jobs):
        if bad:
            print('#', kind, pid, 'read size', bs, ':', bad, 'mismatches')
            failed += 1
sys.exit(1 if failed else 0)
PY
	umount_ck "$mnt"
done
finish
