#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Rough edges of real checkpoints (tests/data/real/, CRIU 4.2 dumps): a
# 1 GiB zeroed heap mounts with the default options and costs no disk,
# while a bomb of bytes that are not zeros is still stopped; a parent that
# does not fit the pre-dump child (an unrelated bare dump, a dump of another
# program with the same pid) is refused with exit 11, or said once when a
# `parent` link leads to it; a directory of several checkpoints is refused
# with the list of them; container.json, /stat's btime and ps agree on the
# checkpoint's time; a memfd-exec'ed process's exe link reads as the kernel
# shows it; a thread's task/<tid>/ holds its process's cmdline and the rest,
# so ps -eL and top -H show threads as threads of that program.
. "$(dirname "$0")/lib.sh"
need python3 zstd jq dd cmp
REAL=$CKPTFS_DATA/real
T() { jq -r "$1" "$REAL/$2.truth.json"; }
has() { grep -qF -- "$1" <<<"$2"; }

# The bytes the daemon @1 stores in its (unlinked) spill file in dir @2.
spill_blocks() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		case $(readlink "$fd") in "$2"/*) stat -L -c '%b %B %s' "$fd";; esac
	done | awk '{ d += $1 * $2; s += $3 } END { print d + 0, s + 0 }'
}

# ---- 1. zero pages are holes, not a bomb
m=$WORK/zero
mkdir -p "$WORK/cache"
if mount_ck "$REAL/rough-zeroheap.tar.zst" "$m" -o "cache_dir=$WORK/cache"; then
	hs=$(T .heap.start rough-zeroheap) he=$(T .heap.end rough-zeroheap)
	read -r disk size < <(spill_blocks "$DAEMON_zero" "$WORK/cache")
	check "zeroheap: mounts with the defaults; the spill file is $size bytes long" test "$size" -ge $((he - hs))
	check "zeroheap: and stores $disk bytes on disk (under 4 MiB)" test "$disk" -lt $((4 << 20))
	check "zeroheap: the first and last 16 MiB of the heap read as zeros from mem" sh -c "
		dd if='$m/1/mem' bs=1M iflag=skip_bytes,count_bytes skip=$((hs)) count=$((16 << 20)) status=none | cmp -s -n $((16 << 20)) - /dev/zero &&
		dd if='$m/1/mem' bs=1M iflag=skip_bytes,count_bytes skip=$((he - (16 << 20))) count=$((16 << 20)) status=none | cmp -s -n $((16 << 20)) - /dev/zero"
	check "zeroheap: SEEK_DATA from the heap's start stops there (dumped), SEEK_HOLE at its end" python3 -c "
import os, sys
fd = os.open('$m/1/mem', os.O_RDONLY)
sys.exit(not (os.lseek(fd, $hs, os.SEEK_DATA) == $hs and os.lseek(fd, $hs, os.SEEK_HOLE) >= $he))"
	check "zeroheap: the marker" test "$(dd if="$m/1/mem" bs=1 iflag=skip_bytes skip=$(($(T .marker.address rough-zeroheap))) count=15 status=none)" = ZEROHEAP-MARKER
	umount_ck "$m"
else
	fail "rough-zeroheap.tar.zst mounts with the default options"
fi
# the stored bytes count, not the zeros: it fits in a 32 MiB limit (the
# header of the 1 GiB pages-1.img may claim up to 64 times that)
out=$("$CKPTFS" --cat -o spill_limit=32M -o "cache_dir=$WORK/cache" "$REAL/rough-zeroheap.tar.zst" 1/maps 2>&1)
check "zeroheap: --cat with -o spill_limit=32M" grep -q "^${hs#0x}-" <<<"$out"

# ---- 2. the same checkpoint with 256 MiB of 'A' as pages-1.img: a bomb
python3 - "$REAL/rough-zeroheap.tar.zst" "$WORK/bomb.tar.zst" <<'EOF'
import subprocess, sys, tarfile

class As:
    def __init__(self, n): self.n = n
    def read(self, k=-1):
        k = self.n if k < 0 else min(k, self.n)
        self.n -= k
        return b'A' * k

src = subprocess.Popen(['zstd', '-dc', sys.argv[1]], stdout=subprocess.PIPE)
with open(sys.argv[2], 'wb') as o:
    dst = subprocess.Popen(['zstd', '-q', '-1', '-c'], stdin=subprocess.PIPE, stdout=o)
    with tarfile.open(fileobj=src.stdout, mode='r|') as i, tarfile.open(fileobj=dst.stdin, mode='w|') as w:
        for m in i:
            if m.name == 'checkpoint/pages-1.img':
                m.size = 256 << 20
                w.addfile(m, As(m.size))
            else:
                w.addfile(m, i.extractfile(m) if m.isfile() else None)
    dst.stdin.close()
    sys.exit(dst.wait() or src.wait())
EOF
check "made a bomb of 'A' from rough-zeroheap" test -s "$WORK/bomb.tar.zst"
out=$("$CKPTFS" --ls -o spill_limit=64M -o "cache_dir=$WORK/cache" "$WORK/bomb.tar.zst" / 2>&1); rc=$?
check "bomb of 'A': exit 10 ($rc)" test "$rc" -eq 10
check "bomb of 'A': one line naming the member and the limit" \
	grep -q "member 'checkpoint/pages-1.img' needs more temporary space than the spill limit (67108864 bytes" <<<"$out"
check "bomb of 'A': nothing left in the cache dir" test -z "$(ls -A "$WORK/cache")"

# ---- 3. a parent that does not fit is refused, or said when found by a link
child=$REAL/predump-child.tar.zst good=$REAL/predump-parent.tar.zst
for wrong in rough-bare diff-t0; do
	out=$("$CKPTFS" --ls -o parent="$REAL/$wrong.tar.zst" "$child" 1 2>&1 >/dev/null); rc=$?
	check "parent=$wrong: exit 11 ($rc), one line: $out" sh -c "[ $rc -eq 11 ] && [ \$(echo '$out' | wc -l) -eq 1 ] &&
		echo '$out' | grep -q 'parent .*$wrong.tar.zst does not fit: pid 1 keeps [0-9]* pages in its parent'"
done
check "parent=rough-bare: it has no pid 1" grep -q "pstree.img has no pid 1" <<<"$("$CKPTFS" --ls -o parent="$REAL/rough-bare.tar.zst" "$child" 1 2>&1)"
check "parent=diff-t0 (its pid 1 another program): its pages are not there" \
	grep -q "of them are in none of its pagemap entries" <<<"$("$CKPTFS" --ls -o parent="$REAL/diff-t0.tar.zst" "$child" 1 2>&1)"
mkdir -p "$WORK/m-wrong"
"$CKPTFS" -f -o parent="$REAL/rough-bare.tar.zst" "$child" "$WORK/m-wrong" 2>"$WORK/wrong.log"; rc=$?
check "mount -o parent=rough-bare: exit 11 ($rc)" test "$rc" -eq 11
check "mount -o parent=rough-bare: not mounted" sh -c "! mountpoint -q '$WORK/m-wrong'"
m=$WORK/chain
if mount_ck "$child" "$m" -o parent="$good"; then
	check "the right parent: no page missing in pages.map" sh -c "! grep -q missing '$m/1/pages.map'"
	check "the right parent: GEN-0 pages read through the parent" grep -qa PAGE-00-GEN-0 "$m/1/pages"
	check "the right parent: no warning" test ! -s "$m.log"
	umount_ck "$m"
fi
# --search with -o parent= a directory of two checkpoints, then of the right one only
mkdir -p "$WORK/p2/x" "$WORK/p2/y" "$WORK/p1/x"
zstd -dc "$good" | tar -x -C "$WORK/p2/x" && zstd -dc "$good" | tar -x -C "$WORK/p1/x"
zstd -dc "$REAL/rough-bare.tar.zst" | tar -x -C "$WORK/p2/y"
out=$("$CKPTFS" --search -F PAGE-00-GEN-0 -o parent="$WORK/p2" "$child" 2>&1); rc=$?
check "--search -o parent=DIR of two checkpoints: exit 2 ($rc)" test "$rc" -eq 2
check "--search -o parent=DIR of two checkpoints: one line naming both: $out" \
	has "parent $WORK/p2: holds 2 checkpoints (images directories 'x/pre-checkpoint', 'y'); give one of them" "$out"
"$CKPTFS" --search -F PAGE-00-GEN-0 -o parent="$WORK/p1" "$child" >"$WORK/found" 2>&1
check "--search -o parent=DIR of the right one: found at 0x600000000000" grep -q "0x600000000000" "$WORK/found"
# a `parent` link to a checkpoint that does not fit: mounted, with a warning
mkdir -p "$WORK/link/child" "$WORK/link/other"
zstd -dc "$child" | tar -x -C "$WORK/link/child" --strip-components=1 checkpoint
zstd -dc "$REAL/rough-bare.tar.zst" | tar -x -C "$WORK/link/other"
ln -sfn ../other "$WORK/link/child/parent"
out=$("$CKPTFS" --cat "$WORK/link/child" 1/comm 2>&1); rc=$?
check "a parent link to another checkpoint: exit 0 ($rc)" test "$rc" -eq 0
check "a parent link to another checkpoint: one warning: $out" \
	has "child/../other does not fit: pid 1 keeps 82 pages in its parent, and its pstree.img has no pid 1" "$out"

# ---- 4. a directory of several checkpoints is refused, unless it is a pod
mkdir -p "$WORK/amb/child" "$WORK/amb/parent"
zstd -dc "$child" | tar -x -C "$WORK/amb/child" --strip-components=1 checkpoint
zstd -dc "$good" | tar -x -C "$WORK/amb/parent" --strip-components=1 pre-checkpoint
zstd -dc "$child" >"$WORK/amb/child.tar"
out=$("$CKPTFS" --ls "$WORK/amb" 2>&1); rc=$?
check "child/, parent/ and child.tar: exit 11 ($rc)" test "$rc" -eq 11
check "child/, parent/ and child.tar: one line listing the candidates: $out" \
	has "amb: holds 2 checkpoints (images directories 'child', 'parent'); give one of them" "$out"
check "each of them mounts by itself" sh -c "'$CKPTFS' --ls -o parent='$WORK/amb/parent' '$WORK/amb/child' 1 >/dev/null"
# a parent copied into the child's directory (cp -rL of the link) is part of it
rm "$WORK/amb/child/parent" "$WORK/amb/child.tar"
mv "$WORK/amb/parent" "$WORK/amb/child/parent"
with_parent() { "$CKPTFS" --cat "$WORK/amb" 1/pages | grep -qa PAGE-00-GEN-0; }
check "a child with its parent/ inside: one checkpoint, its chain followed" with_parent

# ---- 5. one checkpoint time: container.json's checkpointed, /stat's btime, ps
# rough-threads as containerd's CRI writes it: io.container.manager
# containerd, a checkpointedTime 17 minutes after stats-dump was written
python3 - "$REAL/rough-threads.tar.zst" "$WORK/cri.tar" <<'EOF2'
import io, json, subprocess, sys, tarfile, time
src = tarfile.open(fileobj=io.BytesIO(subprocess.run(["zstd", "-dc", sys.argv[1]], check=True,
                                                     stdout=subprocess.PIPE).stdout))
with tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as out:
    stats = src.getmember("stats-dump").mtime
    for m in src.getmembers():
        data = src.extractfile(m).read() if m.isfile() else None
        if m.name in ("config.dump", "spec.dump"):
            j = json.loads(data)
            if m.name == "config.dump":
                j["checkpointedTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(stats) + 1008))
            else:
                j["annotations"]["io.container.manager"] = "containerd"
            data = json.dumps(j).encode()
            m.size = len(data)
        out.addfile(m, io.BytesIO(data) if data is not None else None)
EOF2
stats_epoch() { tar --full-time -tvf "$1" | awk '$6 == "stats-dump" { print $4 " " $5 }' | xargs -I{} date -u -d {} +%s; }
for a in cri:"$WORK/cri.tar" podman:"$REAL/rough-threads.tar.zst"; do
	name=${a%%:*} f=${a#*:}
	m=$WORK/time-$name
	mount_ck "$f" "$m" || continue
	btime=$(awk '$1 == "btime" { print $2 }' "$m/stat")
	ck=$(jq -r .checkpointed "$m/container.json")
	check "$name: container.json's checkpointed ($ck) is /stat's btime ($btime)" test "$(date -u -d "$ck" +%s)" = "$btime"
	lstart=$(TZ=UTC "$CKPTFS" --exec "$m" ps -o lstart= -p 1)
	check "$name: ps -o lstart ($lstart) is the same time" test "$(TZ=UTC date -d "$lstart" +%s)" = "$btime"
	if [ "$name" = cri ]; then
		check "cri: engine containerd, the time is checkpointedTime (the engine's record)" \
			jq -e --arg w "$(jq -r .checkpointedTime "$m/config.dump")" '.engine == "containerd" and .checkpointed == $w' "$m/container.json"
		check "cri: 1008 s after stats-dump was written" test "$btime" -eq $(($(stats_epoch "$f") + 1008))
	else
		zstd -dc "$f" >"$WORK/threads.tar"
		check "podman (no checkpointedTime): the time stats-dump was written" test "$btime" -eq "$(stats_epoch "$WORK/threads.tar")"
	fi
	umount_ck "$m"
done

# ---- 6. the exe link of a process started by fexecve() of a memfd
want=$(jq -r '.findings[] | select(.kind == "memfd-exe") | .path' "$REAL/triage.truth.json")
pid=$(jq -r '.findings[] | select(.kind == "memfd-exe") | .pid' "$REAL/triage.truth.json")
check "memfd exe: --readlink $pid/exe is '$want'" test "$("$CKPTFS" --readlink "$REAL/triage.tar.zst" "$pid/exe")" = "$want"
m=$WORK/triage
if mount_ck "$REAL/triage.tar.zst" "$m"; then
	check "memfd exe: readlink on the mount" test "$(readlink "$m/$pid/exe")" = "$want"
	check "memfd exe: the same text as the memfd's mappings in maps" grep -qF " $want" "$m/$pid/maps"
	check "memfd exe: lsof shows it as the program (txt)" \
		sh -c "'$CKPTFS' --exec '$m' lsof -w -n -P -p $pid -a -d txt -F n | grep -qxF 'n$want'"
	umount_ck "$m"
fi

# ---- 7. threads are not kernel threads: task/<tid>/ has the process's files
m=$WORK/threads
if mount_ck "$REAL/rough-threads.tar.zst" "$m"; then
	args=$(tr '\0' ' ' <"$m/1/cmdline" | sed 's/ $//')
	"$CKPTFS" --exec "$m" ps -eLo lwp=,comm=,args= >"$WORK/psL"
	for tid in $(T '.threads | keys[]' rough-threads); do
		name=$(T ".threads[\"$tid\"]" rough-threads)
		check "threads: ps -eL: thread $tid is '$name' running '$args' (not [$name])" \
			grep -qE "^ *$tid +$name +$args\$" "$WORK/psL"
		same=yes
		for f in cmdline environ maps statm smaps limits auxv; do
			cmp -s "$m/1/$f" "$m/1/task/$tid/$f" || same="no: $f"
		done
		for l in exe cwd root; do
			[ "$(readlink "$m/1/$l")" = "$(readlink "$m/1/task/$tid/$l")" ] || same="no: $l"
		done
		check "threads: task/$tid/ has the process's cmdline, environ, maps, statm, ..., exe ($same)" test "$same" = yes
	done
	rss=$(awk '{ print $2 }' "$m/1/statm")
	check "threads: top -H: every thread by name, with the process's resident set" python3 - "$CKPTFS" "$m" "$rss" \
		"$(jq -c .threads "$REAL/rough-threads.truth.json")" <<'EOF2'
import json, subprocess, sys
ck, m, rss, want = sys.argv[1], sys.argv[2], int(sys.argv[3]) * 4, json.loads(sys.argv[4])
out = subprocess.run([ck, "--exec", m, "top", "-H", "-b", "-n", "1", "-w", "512"], capture_output=True,
                     text=True, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}).stdout
rows = [l.split() for l in out.split("\n\n", 1)[1].splitlines()[1:] if l.strip()]
got = {r[0]: (r[11], int(r[5])) for r in rows}
sys.exit(not all(got.get(t, ("", 0))[0] == n[:15] and got[t][1] == rss for t, n in want.items() if t != "1"))
EOF2
	umount_ck "$m"
fi

finish
