#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The scanner's view of memory: `pages` (dumped pages back to back) with
# `pages.map` to turn an offset into an address. strings/grep find every
# marker of found.json, pages.map translates each hit to the address CRIU's
# own page walk reports, and every memhash.json run reads back through it.
# usage: pages.sh FIXTURE-FILE
. "$(dirname "$0")/lib.sh"
need strings grep python3

file=$1
name=${file%%.tar*}
gold=$GOLDEN/$name
mnt=$WORK/mnt
mount_ck "$FIXTURES/$file" "$mnt" || { fail "mount $file"; finish; }

# Every marker, found by strings|grep and located by grep -boa, then
# translated through pages.map, lands where found.json says.
while read -r marker; do
	for pid in $(python3 -c "import json,sys; print(' '.join(str(p) for p, a in json.load(open(sys.argv[1]))[sys.argv[2]]))" "$gold/found.json" "$marker"); do
		check "strings $pid/pages | grep $marker" sh -c "strings '$mnt/$pid/pages' | grep -q -- '$marker'"
		offs=$(grep -boa -- "$marker" "$mnt/$pid/pages" | cut -d: -f1 | tr '\n' ' ')
		check "grep -boa $marker in $pid/pages maps to found.json addresses" \
			python3 - "$mnt/$pid/pages.map" "$gold/found.json" "$marker" "$pid" $offs <<'PY'
import json, sys
mp, found, marker, pid = sys.argv[1:5]
offs = [int(o) for o in sys.argv[5:]]
runs = []
for line in open(mp):
    rng, perms, off = line.split()[:3]
    a, b = (int(x, 16) for x in rng.split('-'))
    runs.append((int(off, 16), a, b))
def addr(o):
    for off, a, b in runs:
        if off <= o < off + (b - a):
            return a + (o - off)
got = sorted(addr(o) for o in offs)
want = sorted(int(a, 16) for p, a in json.load(open(found))[marker] if str(p) == pid)
sys.exit(0 if set(want) <= set(got) else print(marker, pid, [hex(x) for x in got if x], [hex(x) for x in want]) or 1)
PY
	done
done < <(python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))))" "$gold/found.json")

check "every memhash.json run reads back through pages + pages.map" python3 - "$mnt" "$gold/memhash.json" <<'PY'
import hashlib, json, os, sys
mnt, memhash = sys.argv[1], json.load(open(sys.argv[2]))
bad = 0
for pid, runs in memhash.items():
    table = []
    for line in open(os.path.join(mnt, pid, 'pages.map')):
        rng, perms, off = line.split()[:3]
        a, b = (int(x, 16) for x in rng.split('-'))
        table.append((a, b, int(off, 16)))
    size = os.stat(os.path.join(mnt, pid, 'pages')).st_size
    total = sum(b - a for a, b, _ in table)
    if size != total or size != sum(n for _, n, _ in runs) * 4096:
        print('#', pid, 'pages size', size, 'map total', total); bad += 1
    fd = os.open(os.path.join(mnt, pid, 'pages'), os.O_RDONLY)
    for vaddr, n, sha in runs:
        v, h, left = int(vaddr, 16), hashlib.sha256(), n * 4096
        while left:
            seg = [(a, b, o) for a, b, o in table if a <= v < b]
            if not seg:
                print('#', pid, hex(v), 'not in pages.map'); bad += 1; break
            a, b, o = seg[0]
            k = min(left, b - v)
            h.update(os.pread(fd, k, o + (v - a)))
            v += k; left -= k
        if not left and h.hexdigest() != sha:
            print('#', pid, vaddr, 'sha mismatch'); bad += 1
    os.close(fd)
sys.exit(1 if bad else 0)
PY
umount_ck "$mnt"
finish
