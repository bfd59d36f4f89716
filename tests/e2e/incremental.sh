#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Incremental dumps: scripts/mkincremental splits wl-gamma's pid 1 into a
# child and a parent checkpoint (and a three-level chain). Every dumped
# range of memhash.json must read back identically through the child, via
# its `parent` link and via -o parent= with tars; without the parent, the
# ranges that moved are holes.
. "$(dirname "$0")/lib.sh"
need tar python3

SCRIPTS=$(cd "$(dirname "$0")/../../scripts" && pwd)
x=$WORK/x
mkdir -p "$x"
tar -xf "$FIXTURES/wl-gamma.tar" -C "$x" || { fail "extract wl-gamma.tar"; finish; }
check "mkincremental: child and parent" python3 "$SCRIPTS/mkincremental" "$x/checkpoint" 1 "$WORK/inc"
check "mkincremental: three levels" python3 "$SCRIPTS/mkincremental" --depth 3 "$x/checkpoint" 1 "$WORK/inc3"
check "child/parent is a relative link" test "$(readlink "$WORK/inc/child/parent")" = ../parent
check "some entries moved to the parent" test -s "$WORK/inc/moved.txt"
tar -cf "$WORK/child.tar" -C "$WORK/inc/child" . &&
	tar -cf "$WORK/parent.tar" -C "$WORK/inc/parent" . &&
	tar -cf "$WORK/p1.tar" -C "$WORK/inc3/parent" . &&
	tar -cf "$WORK/p2.tar" -C "$WORK/inc3/parent2" . ||
	{ fail "tar the levels"; finish; }

# memhash MNT PID: every range of golden memhash.json for PID, read from MNT/PID/mem.
memhash() {
	python3 - "$GOLDEN/wl-gamma/memhash.json" "$1/$2/mem" "$2" <<'EOF'
import hashlib, json, os, sys
want = json.load(open(sys.argv[1]))[sys.argv[3]]
fd = os.open(sys.argv[2], os.O_RDONLY)
bad = 0
for vaddr, n, sha in want:
    data = os.pread(fd, n * 4096, int(vaddr, 16))
    if hashlib.sha256(data).hexdigest() != sha:
        bad += 1
print("%d of %d ranges differ" % (bad, len(want)))
sys.exit(1 if bad else 0)
EOF
}

not_memhash() { ! memhash "$@" >/dev/null; }

# holes MNT: the ranges of moved.txt are holes in MNT/1/mem (SEEK_DATA skips them) and read as zeros.
holes() {
	python3 - "$WORK/inc/moved.txt" "$1/1/mem" <<'EOF'
import os, sys
fd = os.open(sys.argv[2], os.O_RDONLY)
bad = 0
moved = [l.split() for l in open(sys.argv[1])]
for vaddr, n, _ in moved:
    start, length = int(vaddr, 16), int(n) * 4096
    try:
        data_at = os.lseek(fd, start, os.SEEK_DATA)
    except OSError:
        data_at = None
    if (data_at is not None and data_at < start + length) or os.pread(fd, length, start).strip(b"\0"):
        bad += 1
print("%d of %d moved ranges are not holes" % (bad, len(moved)))
sys.exit(1 if bad else 0)
EOF
}

m=$WORK/m-link
if mount_ck "$WORK/inc/child" "$m"; then
	check "via parent link: pid 1 memhash ranges" memhash "$m" 1
	check "via parent link: pid 6 memhash ranges" memhash "$m" 6
	umount_ck "$m"
else
	fail "mount the child directory"
fi

m=$WORK/m-opt
if mount_ck "$WORK/child.tar" "$m" -o "parent=$WORK/parent.tar"; then
	check "-o parent=parent.tar: pid 1 memhash ranges" memhash "$m" 1
	umount_ck "$m"
else
	fail "mount child.tar -o parent=parent.tar"
fi

m=$WORK/m-chain
if mount_ck "$WORK/inc3/child" "$m"; then
	check "three levels via links: pid 1 memhash ranges" memhash "$m" 1
	umount_ck "$m"
else
	fail "mount the three-level child"
fi

m=$WORK/m-chain-opt
if mount_ck "$WORK/inc3/child" "$m" -o "parent=$WORK/p1.tar:$WORK/p2.tar"; then
	check "-o parent=p1.tar:p2.tar: pid 1 memhash ranges" memhash "$m" 1
	umount_ck "$m"
else
	fail "mount the three-level child with -o parent=A:B"
fi

m=$WORK/m-none
if mount_ck "$WORK/child.tar" "$m"; then
	check "without the parent: moved ranges are holes" holes "$m"
	check "without the parent: pid 6 is whole" memhash "$m" 6
	check "without the parent: pid 1 differs from the golden" not_memhash "$m" 1
	check "without the parent: pages.map lists every moved range as missing" python3 - "$WORK/inc/moved.txt" "$m/1/pages.map" <<'EOF'
import sys
moved = set()
for vaddr, n, _ in (l.split() for l in open(sys.argv[1])):
    a = int(vaddr, 16)
    moved.update(range(a, a + int(n) * 4096, 4096))
missing = set()
for l in open(sys.argv[2]):
    if l.rstrip().endswith('[missing: in a parent checkpoint not given]'):
        a, b = (int(x, 16) for x in l.split()[0].split('-'))
        missing.update(range(a, b, 4096))
sys.exit(0 if missing == moved else print(len(missing), len(moved)) or 1)
EOF
	umount_ck "$m"
else
	fail "mount child.tar alone"
fi

mkdir -p "$WORK/m-bad"
check "-o parent= naming a missing file exits 10" sh -c \
	"'$CKPTFS' -f -o parent='$WORK/nope.tar' '$WORK/child.tar' '$WORK/m-bad' 2>/dev/null; test \$? -eq 10"
check "-o page_size=1000 exits 1" sh -c \
	"'$CKPTFS' -f -o page_size=1000 '$WORK/child.tar' '$WORK/m-bad' 2>/dev/null; test \$? -eq 1"
finish
