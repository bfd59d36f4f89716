#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Concurrent readers on a fresh mount for a bounded time. The reference is
# built first and proven against the goldens: every memhash.json run of
# PID/mem (sha256), every found.json marker, PID/pages against PID/mem
# through pages.map. Then WORKERS processes read at random until the
# deadline: preads of mem and pages at random offsets and lengths, markers,
# images/*.json against crit's goldens, readdir of every directory, and the
# same /proc-style text files from every worker (rendered on first use, so
# the first reads race), which must all come out identical. Every byte read
# is compared. usage: stress.py MOUNT GOLDEN_DIR SECONDS WORKERS
import hashlib, json, multiprocessing as mp, os, random, sys, time

mnt, gold, secs, nworkers = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])

def pread_all(path, off, n):
    fd = os.open(path, os.O_RDONLY)
    try:
        out = b''
        while len(out) < n:
            b = os.pread(fd, n - len(out), off + len(out))
            if not b:
                break
            out += b
        return out
    finally:
        os.close(fd)

# --- reference ----------------------------------------------------------------
memhash = json.load(open(os.path.join(gold, 'memhash.json')))
found = json.load(open(os.path.join(gold, 'found.json')))
mem = {}          # pid -> [(vaddr, bytes)]
for pid, runs in memhash.items():
    mem[pid] = []
    for vaddr, n, sha in runs:
        b = pread_all(os.path.join(mnt, pid, 'mem'), int(vaddr, 16), n * 4096)
        if hashlib.sha256(b).hexdigest() != sha:
            sys.exit('reference: %s/mem run %s differs from memhash.json' % (pid, vaddr))
        v = int(vaddr, 16)
        if mem[pid] and mem[pid][-1][0] + len(mem[pid][-1][1]) == v:
            mem[pid][-1] = (mem[pid][-1][0], mem[pid][-1][1] + b)   # adjacent runs: one range
        else:
            mem[pid].append((v, b))

def mem_ref(pid, addr, n):
    for v, b in mem[pid]:
        if v <= addr and addr + n <= v + len(b):
            return b[addr - v:addr - v + n]
    return None

pages = {}
for pid in mem:
    p = os.path.join(mnt, pid, 'pages')
    if not os.path.exists(p):
        continue
    data = open(p, 'rb').read()
    covered = 0
    for line in open(os.path.join(mnt, pid, 'pages.map')):
        rng, _, off = line.split()[:3]
        s, e = (int(x, 16) for x in rng.split('-'))
        ref = mem_ref(pid, s, e - s)
        if ref is None or data[int(off, 16):int(off, 16) + e - s] != ref:
            sys.exit('reference: %s/pages at %s does not match %s/mem %s' % (pid, off, pid, rng))
        covered += e - s
    if covered != len(data):
        sys.exit('reference: %s/pages.map covers %d of %d bytes' % (pid, covered, len(data)))
    pages[pid] = data

images = sorted(f for f in os.listdir(os.path.join(gold, 'pretty')) if f.endswith('.img.json'))
dirs = []
for d, ds, fs in os.walk(mnt):
    dirs.append((d, sorted(ds + fs)))
shared = ['%s/%s' % (pid, f) for pid in mem for f in ('status', 'stat', 'maps', 'smaps', 'limits', 'cmdline',
                                                       'environ', 'auxv', 'pages.map', 'comm')]
shared = [f for f in shared if os.path.exists(os.path.join(mnt, f))]

# --- workers ------------------------------------------------------------------
def worker(idx, q):
    rnd = random.Random(idx)
    stats = {'ops': 0, 'bytes': 0, 'errors': [], 'seen': {}}
    def err(msg):
        if len(stats['errors']) < 5:
            stats['errors'].append(msg)
    role = idx % 6
    deadline = time.time() + secs
    fds = {}
    def fd_of(path):
        if path not in fds:
            fds[path] = os.open(os.path.join(mnt, path), os.O_RDONLY)
        return fds[path]
    while time.time() < deadline:
        stats['ops'] += 1
        try:
            if role in (0, 1):        # random preads of PID/mem inside dumped runs
                pid = rnd.choice(list(mem))
                v, b = rnd.choice(mem[pid])
                off = rnd.randrange(len(b)); n = rnd.randint(1, min(len(b) - off, 262144))
                got = os.pread(fd_of(pid + '/mem'), n, v + off)
                if got != b[off:off + n]:
                    err('%s/mem at %#x+%d differs' % (pid, v + off, n))
                stats['bytes'] += len(got)
            elif role == 2:           # random preads of PID/pages, and markers
                pid = rnd.choice(list(pages))
                data = pages[pid]
                off = rnd.randrange(len(data)); n = rnd.randint(1, 262144)
                got = os.pread(fd_of(pid + '/pages'), n, off)
                if got != data[off:off + n]:
                    err('%s/pages at %d+%d differs' % (pid, off, n))
                stats['bytes'] += len(got)
                marker, places = rnd.choice(list(found.items()))
                pid, addr = rnd.choice(places)
                got = os.pread(fd_of('%s/mem' % pid), len(marker), int(addr, 16))
                if got != marker.encode():
                    err('%s/mem at %s does not hold %s' % (pid, addr, marker))
                stats['bytes'] += len(got)
            elif role == 3:           # images/*.json against crit decode --pretty
                g = rnd.choice(images)
                got = open(os.path.join(mnt, 'images', g[:-len('.img.json')] + '.json'), 'rb').read()
                if got != open(os.path.join(gold, 'pretty', g), 'rb').read():
                    err('images/%s differs from the golden' % g)
                stats['bytes'] += len(got)
            elif role == 4:           # readdir loops
                d, names = rnd.choice(dirs)
                got = sorted(os.listdir(d))
                if got != names:
                    err('readdir %s changed' % d)
                stats['bytes'] += sum(len(x) for x in got)
            else:                     # the same text files from every worker
                f = rnd.choice(shared)
                got = open(os.path.join(mnt, f), 'rb').read()
                h = hashlib.sha256(got).hexdigest()
                if stats['seen'].setdefault(f, h) != h:
                    err('%s changed between reads' % f)
                stats['bytes'] += len(got)
        except OSError as e:
            err('%s' % e)
    for fd in fds.values():
        os.close(fd)
    q.put(stats)

if __name__ == '__main__':
    q = mp.Queue()
    procs = [mp.Process(target=worker, args=(i, q)) for i in range(nworkers)]
    for p in procs:
        p.start()
    results = [q.get(timeout=secs + 120) for _ in procs]
    for p in procs:
        p.join()
    errors = [e for r in results for e in r['errors']]
    seen = {}
    for r in results:
        for f, h in r['seen'].items():
            seen.setdefault(f, set()).add(h)
    for f, hs in seen.items():
        if len(hs) != 1 or hashlib.sha256(open(os.path.join(mnt, f), 'rb').read()).hexdigest() not in hs:
            errors.append('%s: readers saw %d different contents' % (f, len(hs)))
    ops = sum(r['ops'] for r in results)
    nbytes = sum(r['bytes'] for r in results)
    print('readers=%d seconds=%g ops=%d bytes_verified=%d (%.1f MiB)' % (nworkers, secs, ops, nbytes, nbytes / 2**20))
    for e in errors[:20]:
        print('#', e)
    sys.exit(1 if errors else 0)
