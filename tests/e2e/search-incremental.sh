#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --search and --yara across page runs and checkpoints: scripts/mkincremental
# splits wl-gamma's pid 1 into a child and a parent checkpoint, so that
# contiguous memory comes from two pages images. A marker planted across two
# such runs is found whole at its address (-F, regex, YARA), through -o
# parent= and through the child's `parent` link; a marker planted across a
# hole is not; without the parent, the markers the parent holds are not found
# and what only the child holds still is. A damaged pages image is reported
# by pid and image, the rest is searched, and the exit status is 2.
. "$(dirname "$0")/lib.sh"
need tar python3 jq yara

SCRIPTS=$(cd "$(dirname "$0")/../../scripts" && pwd)
chk="python3 $(dirname "$0")/search-check.py"
x=$WORK/x
mkdir -p "$x"
tar -xf "$FIXTURES/wl-gamma.tar" -C "$x" || { fail "extract wl-gamma.tar"; finish; }
python3 "$SCRIPTS/mkincremental" "$x/checkpoint" 1 "$WORK/inc" || { fail "mkincremental"; finish; }
check "plant markers across a run boundary and across a hole" \
	$chk plant "$WORK" "$WORK/inc/child" "$WORK/inc/parent"
cross=$(jq -r 'keys[] | select(startswith("CROSS"))' "$WORK/planted.json")
caddr=$(jq -r --arg k "$cross" '.[$k]' "$WORK/planted.json")
hole=$(jq -r 'keys[] | select(startswith("HOLE"))' "$WORK/planted.json")
tar -cf "$WORK/child.tar" -C "$WORK/inc/child" . && tar -cf "$WORK/parent.tar" -C "$WORK/inc/parent" . ||
	{ fail "tar the levels"; finish; }

# hits ARGS...: the addresses of pid 1's hits, one a line
hits() { "$CKPTFS" "$@" --pid 1 --json | jq -r '.address' | sort -u; }

check "-F across two pages images (-o parent=): found at $caddr" \
	test "$(hits --search -F "$cross" "$WORK/child.tar" -o "parent=$WORK/parent.tar")" = "$caddr"
check "regex across two pages images: found at $caddr" \
	test "$(hits --search 'CROSS-RUN-MARKER-[0-9a-f]+' "$WORK/child.tar" -o "parent=$WORK/parent.tar")" = "$caddr"
printf 'rule cross { strings: $c = /CROSS-RUN-MARKER-[0-9a-f]+/ condition: $c }\n' >"$WORK/cross.yar"
check "--yara across two pages images: found at $caddr" \
	test "$(hits --yara "$WORK/cross.yar" "$WORK/child.tar" -o "parent=$WORK/parent.tar")" = "$caddr"
check "-F through the child directory's parent link: found at $caddr" \
	test "$(hits --search -F "$cross" "$WORK/inc/child")" = "$caddr"
m=$("$CKPTFS" --search -F "$cross" --pid 1 "$WORK/inc/child" | cut -f6)
check "the whole marker is printed" test "$m" = "$cross"

"$CKPTFS" --search -F "$hole" "$WORK/child.tar" -o "parent=$WORK/parent.tar" >/dev/null
check "a marker across a hole is not found (exit 1)" test $? -eq 1
"$CKPTFS" --search -F "${hole:0:8}" --pid 1 "$WORK/child.tar" -o "parent=$WORK/parent.tar" >/dev/null
check "its first half, before the hole, is" test $? -eq 0

# the golden markers of pid 1 through the chain: all at their addresses
while read -r mk addr; do
	check "-o parent=: $mk at $addr" sh -c \
		"'$CKPTFS' --search -F '$mk' --pid 1 --json '$WORK/child.tar' -o 'parent=$WORK/parent.tar' | jq -r .address | grep -qx '$addr'"
done < <(jq -r 'to_entries[] | .key as $k | .value[] | select(.[0] == 1) | "\($k) \(.[1])"' \
	"$GOLDEN/wl-gamma/found.json")

# Without the parent, the bytes it holds are holes: the planted marker is
# cut, and it is neither found nor an error.
"$CKPTFS" --search -F "$cross" "$WORK/child.tar" >/dev/null 2>"$WORK/err"
check "without the parent: the cross-run marker is not found (exit 1)" test $? -eq 1

# A damaged pages image: the child's is cut short. The error names the pid
# and the image; the other processes are still searched; exit 2.
cp -a "$WORK/inc/child" "$WORK/cut"
rm "$WORK/cut/parent"
python3 - "$WORK/cut" <<'EOF'
import os, sys
from ckimg import fdict, read_img
d = sys.argv[1]
# pid 6's pages (not touched by mkincremental) lose their second half;
# pagemap_head is the first record, its field 1 the pages_id
v = fdict(read_img(os.path.join(d, "pagemap-6.img"))[1][0]).get(1, 0)
f = os.path.join(d, "pages-%d.img" % v)
os.truncate(f, os.path.getsize(f) // 2)

EOF
"$CKPTFS" --search 'MARKER-gamma' -o "parent=$WORK/inc/parent" "$WORK/cut" >"$WORK/out" 2>"$WORK/err"
rc=$?
check "damaged pages image: exit 2" test "$rc" -eq 2
check "damaged pages image: one line naming pid 6 and its images" \
	sh -c "test \$(wc -l <'$WORK/err') -eq 1 && grep -q 'pid 6: .*pagemap-6.img' '$WORK/err'"
check "damaged pages image: pid 1 still searched" grep -q '^1	' "$WORK/out"

# Damage found only when read: a multi-block xz (read block by block, see
# README) with bytes flipped in its middle. The unreadable stretch is
# reported with its pid, addresses and pages image and skipped as a hole;
# every golden marker outside it is still found; exit 2.
if command -v xz >/dev/null; then
	xz -T0 -0 --block-size=262144 -c "$FIXTURES/wl-gamma.tar" >"$WORK/g.tar.xz"
	python3 - "$WORK/g.tar.xz" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
for k in range(16):
    d[len(d) // 2 + k] ^= 0x55
open(sys.argv[1], "wb").write(d)
EOF
	mapfile -t pats < <(jq -r 'keys[] | "-e", .' "$GOLDEN/wl-gamma/found.json")
	"$CKPTFS" --search -F "${pats[@]}" --json "$WORK/g.tar.xz" >"$WORK/xz.jsonl" 2>"$WORK/err"
	check "xz block damaged: exit 2" test $? -eq 2
	check "xz block damaged: the stretch is named with pid, addresses and image" \
		grep -qE '^ckptfs: .*: pid [0-9]+: memory 0x[0-9a-f]+-0x[0-9a-f]+ \(checkpoint/pages-[0-9]+\.img\) cannot be read' "$WORK/err"
	check "xz block damaged: every golden marker outside it is found" python3 - "$GOLDEN/wl-gamma/found.json" \
		"$WORK/xz.jsonl" "$WORK/err" <<'EOF'
import json, re, sys
found = json.load(open(sys.argv[1]))
hits = {(h["pid"], int(h["address"], 16)) for h in map(json.loads, open(sys.argv[2]))}
bad = [(int(p), int(a, 16), int(b, 16)) for p, a, b in
       re.findall(r"pid (\d+): memory 0x([0-9a-f]+)-0x([0-9a-f]+)", open(sys.argv[3]).read())]
miss = 0
for marker, where in found.items():
    for pid, addr in where:
        a = int(addr, 16)
        if (pid, a) not in hits and not any(p == pid and s <= a < e for p, s, e in bad):
            print("#", marker, pid, addr, "missing"); miss += 1
print("# %d hits, %d damaged stretches" % (len(hits), len(bad)))
sys.exit(1 if miss or not bad else 0)
EOF
fi

# A pod checkpoint (scripts/mkpod): every container is searched, and named.
python3 "$SCRIPTS/mkpod" "$WORK/pod.tar" gamma="$FIXTURES/wl-gamma.tar" busybox="$FIXTURES/busybox-loop.tar.gz" ||
	{ fail "scripts/mkpod"; finish; }
"$CKPTFS" --search -F -e POSTGRES_PASSWORD -e APP_SECRET --json "$WORK/pod.tar" >"$WORK/pod.jsonl"
want=$(jq -r '.POSTGRES_PASSWORD[] | "busybox \(.[0]) \(.[1])"' "$GOLDEN/busybox-loop/found.json"
	jq -r '.APP_SECRET[] | "gamma \(.[0]) \(.[1])"' "$GOLDEN/wl-gamma/found.json")
got=$(jq -r '"\(.container) \(.pid) \(.address)"' "$WORK/pod.jsonl")
missing=$(comm -23 <(sort <<<"$want") <(sort <<<"$got"))
check "pod: both containers searched, each marker at its golden address ($(wc -l <<<"$want"))" test -z "$missing"
check "pod: text lines name the container" \
	sh -c "'$CKPTFS' --search -F POSTGRES_PASSWORD '$WORK/pod.tar' | cut -f1 | sort -u | grep -qx busybox/9"
check "pod: --pid busybox/9 selects one process of one container" \
	test "$("$CKPTFS" --search -F -e POSTGRES_PASSWORD -e APP_SECRET --pid busybox/9 "$WORK/pod.tar" | cut -f1 | sort -u)" = busybox/9
off=$(jq -r 'select(.container == "gamma" and .pid == 1) | .pages_offset' "$WORK/pod.jsonl" | head -1)
addr=$(jq -r 'select(.container == "gamma" and .pid == 1) | .address' "$WORK/pod.jsonl" | head -1)
check "pod: --where gamma/1 OFFSET gives the address of the match" \
	test "$("$CKPTFS" --where gamma/1 "$off" "$WORK/pod.tar" | cut -f1,3)" = "gamma/1	$addr"
finish
