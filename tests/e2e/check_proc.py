#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check the /proc-style views of a mounted checkpoint against the goldens
made by CRIU's own tools: proc.json (comm, ppid, threads, cmdline, environ,
VMAs), memhash.json (sha256 of every dumped page run), found.json (marker
addresses), x-fds.txt (crit x fds) and the workload's own tmp/addrs.txt.
usage: check_proc.py MOUNT GOLDEN_DIR.  Prints one line per failure."""
import base64, hashlib, io, json, os, re, sys, tarfile

mnt, gold = sys.argv[1], sys.argv[2]
errors = []
checked = 0


def expect(cond, what):
    global checked
    checked += 1
    if not cond:
        errors.append(what)


def read(path):
    with open(os.path.join(mnt, path), 'rb') as f:
        return f.read()


def pread(path, off, n):
    fd = os.open(os.path.join(mnt, path), os.O_RDONLY)
    try:
        return os.pread(fd, n, off)
    finally:
        os.close(fd)


proc = json.load(open(os.path.join(gold, 'proc.json')))
state_letter = {1: 'S', 2: 'Z', 3: 'T'}
for pid, want in proc.items():
    d = pid
    expect(os.path.isdir(os.path.join(mnt, d)), f'/{d} missing')
    if not os.path.isdir(os.path.join(mnt, d)):
        continue
    expect(read(f'{d}/comm') == (want['comm'] + '\n').encode(), f'{d}/comm')
    status = read(f'{d}/status').decode()
    fields = dict(l.split(':\t', 1) for l in status.splitlines() if ':\t' in l)
    expect(fields.get('Name') == want['comm'], f'{d}/status Name')
    expect(fields.get('Pid') == pid and fields.get('Tgid') == pid, f'{d}/status Pid/Tgid')
    expect(fields.get('PPid') == str(want['ppid']), f'{d}/status PPid')
    expect(fields.get('Threads') == str(len(want['threads'])), f'{d}/status Threads')
    expect(fields.get('State', '').startswith(state_letter.get(want['task_state'], '?')), f'{d}/status State')
    stat = read(f'{d}/stat').decode()
    m = re.match(r'^(\d+) \((.*)\) (\S) (\d+) (\d+) (\d+) ', stat)
    expect(m is not None and m.group(1) == pid and m.group(2) == want['comm'] and
           m.group(4) == str(want['ppid']) and m.group(5) == str(want['pgid']) and
           m.group(6) == str(want['sid']), f'{d}/stat head: {stat[:60]!r}')
    expect(len(stat.split()) >= 52 and stat.endswith('\n'), f'{d}/stat has 52 fields')
    tids = sorted(int(t) for t in os.listdir(os.path.join(mnt, d, 'task')))
    expect(tids == sorted(want['threads']), f'{d}/task lists {tids}')
    for t in tids:
        tc = read(f'{d}/task/{t}/comm').decode().rstrip('\n')
        ts = read(f'{d}/task/{t}/status').decode()
        expect(f'Pid:\t{t}\n' in ts and f'Tgid:\t{pid}\n' in ts, f'{d}/task/{t}/status ids')
        expect(f'Name:\t{tc}\n' in ts, f'{d}/task/{t}/status Name')
    expect(read(f'{d}/cmdline') == base64.b64decode(want['cmdline']), f'{d}/cmdline')
    expect(read(f'{d}/environ') == base64.b64decode(want['environ']), f'{d}/environ')
    maps = read(f'{d}/maps').decode().splitlines()
    ranges = [l.split()[0].split('-') for l in maps]
    want_ranges = [[int(a, 16), int(b, 16)] for a, b in want['vmas']]
    expect([[int(a, 16), int(b, 16)] for a, b in ranges] == want_ranges, f'{d}/maps ranges')
    expect(any(l.endswith('[heap]') for l in maps) or pid != '1' or 'busybox' in gold, f'{d}/maps names [heap]')
    expect(any(l.endswith('[stack]') for l in maps), f'{d}/maps names [stack]')
    expect(any(l.endswith('[vdso]') for l in maps), f'{d}/maps names [vdso]')
    auxv = read(f'{d}/auxv')
    expect(len(auxv) % 16 == 0 and auxv[-16:] == b'\0' * 16, f'{d}/auxv ends with AT_NULL')
    limits = read(f'{d}/limits').decode()
    expect(limits.startswith('Limit') and 'Max open files' in limits, f'{d}/limits')

# Memory: every dumped run through mem, by sha256; the SEEK_DATA/SEEK_HOLE walk.
memhash = json.load(open(os.path.join(gold, 'memhash.json')))
for pid, runs in memhash.items():
    path = os.path.join(mnt, pid, 'mem')
    fd = os.open(path, os.O_RDONLY)
    try:
        for vaddr, n, sha in runs:
            data = os.pread(fd, n * 4096, int(vaddr, 16))
            expect(hashlib.sha256(data).hexdigest() == sha, f'{pid}/mem run {vaddr}+{n} pages')
        merged = []
        for vaddr, n, _ in sorted(runs, key=lambda r: int(r[0], 16)):
            a = int(vaddr, 16)
            if merged and merged[-1][1] == a:
                merged[-1][1] = a + n * 4096
            else:
                merged.append([a, a + n * 4096])
        walk, off = [], 0
        while True:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            walk.append([start, end])
            off = end
        expect(walk == merged, f'{pid}/mem SEEK_DATA/SEEK_HOLE walk ({len(walk)} runs, want {len(merged)})')
    finally:
        os.close(fd)

found = json.load(open(os.path.join(gold, 'found.json')))
for marker, places in found.items():
    for pid, addr in places:
        got = pread(f'{pid}/mem', int(addr, 16), len(marker))
        expect(got == marker.encode(), f'{pid}/mem at {addr} holds {marker}')

# fd links against `crit x fds`.
cur = None
for line in open(os.path.join(gold, 'x-fds.txt')):
    line = line.rstrip('\n')
    if re.match(r'^\d+$', line):
        cur = line
        continue
    m = re.match(r'^\s+(\w+): (.*)$', line)
    if not m or cur is None:
        continue
    fd, what = m.groups()
    link = os.path.join(mnt, cur, 'fd', fd) if fd.isdigit() else os.path.join(mnt, cur, fd)
    try:
        target = os.readlink(link)
    except OSError as e:
        expect(False, f'{cur}/fd/{fd}: {e}')
        continue
    if what.startswith('/'):
        expect(target == what or target == what + ' (deleted)', f'{cur}/fd/{fd} -> {target!r}, crit says {what!r}')
    elif what.startswith('pipe['):
        expect(target == 'pipe:[%s]' % what[5:-1], f'{cur}/fd/{fd} -> {target!r}')
    elif what.startswith('unix['):
        expect(target == 'socket:[%s]' % what[5:].split()[0].rstrip(']'), f'{cur}/fd/{fd} -> {target!r}')
    elif what.startswith('INETSK'):
        expect(target.startswith('socket:['), f'{cur}/fd/{fd} -> {target!r}')
    if fd.isdigit():
        info = read(f'{cur}/fdinfo/{fd}').decode()
        expect(re.match(r'pos:\t\d+\nflags:\t0[0-7]+\n', info) is not None, f'{cur}/fdinfo/{fd} format')

# The workload's own record of where it put its markers (wl-* fixtures).
try:
    with tarfile.open(os.path.join(mnt, 'rootfs-diff.tar')) as t:
        addrs = t.extractfile('tmp/addrs.txt').read().decode()
except (OSError, KeyError, tarfile.TarError):
    addrs = ''
tag = os.path.basename(gold.rstrip('/')).split('-', 1)[-1]
child = [p for p, w in proc.items() if w['comm'] == 'ckpt-child']
for line in addrs.splitlines():
    parts = line.split()
    if len(parts) != 2:
        continue
    what, addr = parts[0], int(parts[1], 16)
    marker, pid = {
        'heap': (f'HEAP-MARKER-{tag}', '1'),
        'sparse': (f'SPARSE-PAGE-0-{tag}', '1'),
        'filemap': (f'FILEMAP-MARKER-{tag}', '1'),
        'child': (f'CHILD-MARKER-{tag}', child[0] if child else '1'),
    }.get(what, (None, None))
    if what.startswith('thread'):
        marker, pid = f'THREAD-{what[6:]}-MARKER-{tag}', '1'
    if marker:
        expect(pread(f'{pid}/mem', addr, len(marker)) == marker.encode(), f'{pid}/mem at {addr:#x} holds {marker}')

for e in errors:
    print('#', e)
print(f'# {checked - len(errors)} of {checked} proc checks passed')
sys.exit(1 if errors else 0)
