#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Walk a mount: list every directory, stat and readlink everything, read
# every regular file (at most 1 MiB each). Prints "files=N dirs=N links=N
# eio=N other=N"; exits 0 unless something other than EIO (or ENOENT for a
# name that vanished between readdir and stat) goes wrong. usage: walk.py DIR
import errno, os, stat, sys

root = sys.argv[1]
n = {'files': 0, 'dirs': 0, 'links': 0, 'eio': 0, 'other': 0}
bad = []

def err(p, e):
    if e.errno == errno.EIO:
        n['eio'] += 1
    else:
        n['other'] += 1
        bad.append('%s: %s' % (p, e))

# iterative: a member may sit 1000 directories deep
stack = [root]
while stack:
    d = stack.pop()
    n['dirs'] += 1
    try:
        names = sorted(os.listdir(d))
    except OSError as e:
        err(d, e); continue
    for f in names:
        p = os.path.join(d, f)
        try:
            st = os.lstat(p)
        except OSError as e:
            err(p, e); continue
        if stat.S_ISLNK(st.st_mode):
            n['links'] += 1
            try:
                os.readlink(p)
            except OSError as e:
                err(p, e)
        elif stat.S_ISDIR(st.st_mode):
            stack.append(p)
        elif stat.S_ISREG(st.st_mode):
            n['files'] += 1
            try:
                with open(p, 'rb', buffering=0) as fh:
                    left = 1 << 20
                    while left > 0:
                        b = fh.read(min(left, 65536))
                        if not b:
                            break
                        left -= len(b)
            except OSError as e:
                err(p, e)
print(' '.join('%s=%d' % kv for kv in n.items()))
for b in bad[:10]:
    print('#', b)
sys.exit(1 if bad else 0)
