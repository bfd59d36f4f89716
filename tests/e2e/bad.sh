#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Malformed archives, generated at test time from busybox-loop by mkbad.py:
# truncations, bad magics, sizes and counts past the data, broken VMAs and
# process trees, hostile tar members, tar bombs. Each one must give a clear
# error (exit 10/11/12 with one line naming the file) or mount, with only
# the affected files failing (EIO), under `timeout` and `ulimit -v`; no
# crash, no hang, nothing left in cache_dir, nothing written outside.
. "$(dirname "$0")/lib.sh"
need python3 tar timeout

src=$WORK/src
mkdir -p "$src" "$WORK/cases"
tar -xf "$FIXTURES/busybox-loop.tar.gz" -C "$src"
python3 "$(dirname "$0")/mkbad.py" "$src" "$WORK/cases" > "$WORK/cases.tsv" || { fail "mkbad.py"; finish; }
walk=$(dirname "$0")/walk.py

# ASan reserves terabytes of address space: bound memory with ulimit -v only
# in a plain build (1 GiB); under ASan the allocator's own limit applies.
vlimit=1048576
if ldd "$CKPTFS" 2>/dev/null | grep -q libasan; then
	vlimit=unlimited
	export ASAN_OPTIONS=${ASAN_OPTIONS:-}:max_allocation_size_mb=1024:allocator_may_return_null=1
fi

# run_case FILE EXPECT DESC
run_case() {
	local file=$1 expect=$2 desc=$3 name=${1%.tar} arc=$WORK/cases/$1
	local mnt=$WORK/mnt-$name cache=$WORK/cache-$name log=$WORK/$name.log pid rc out
	mkdir -p "$mnt" "$cache"
	(ulimit -v "$vlimit"; exec timeout -s KILL 120 "$CKPTFS" -f -o "cache_dir=$cache" "$arc" "$mnt") 2>"$log" &
	pid=$!
	for _ in $(seq 600); do		# 30 s to mount or fail
		mountpoint -q "$mnt" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if mountpoint -q "$mnt"; then
		MOUNTS+=("$mnt")
		out=$(timeout -s KILL 240 python3 "$walk" "$mnt" 2>&1); rc=$?	# a hang, not speed: 20000 threads are 220000 files
		if ! kill -0 "$pid" 2>/dev/null; then
			fail "$name: daemon died while reading ($desc): $(head -5 "$log")"; return
		fi
		fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"
		wait "$pid"; local drc=$?
		if [ "$rc" -ne 0 ]; then fail "$name: walking the mount ($desc): $out"; return; fi
		if [ "$drc" -ne 0 ]; then fail "$name: daemon exited $drc ($desc): $(head -5 "$log")"; return; fi
		if grep -E 'ERROR|AddressSanitizer|runtime error|LeakSanitizer' "$log" >/dev/null; then
			fail "$name: errors in the daemon log ($desc)"; head -20 "$log"; return
		fi
		case $expect in mount|any) ;; *) fail "$name: mounted, want exit $expect ($desc)"; return ;; esac
		out="mounted, ${out%%$'\n'*}"
	else
		if kill -0 "$pid" 2>/dev/null; then
			kill -9 "$pid"; wait "$pid"
			fail "$name: neither mounted nor failed within 30 s ($desc)"; return
		fi
		wait "$pid"; rc=$?
		case $rc in
		10|11|12) ;;
		137) fail "$name: killed by timeout ($desc)"; return ;;
		*) fail "$name: exit $rc ($desc): $(head -5 "$log")"; return ;;
		esac
		if [ "$(wc -l < "$log")" -ne 1 ] || ! grep -qF "$arc" "$log"; then
			fail "$name: want one line naming the file, got: $(head -5 "$log")"; return
		fi
		case $expect in "$rc"|any) ;; *) fail "$name: exit $rc, want $expect ($desc): $(cat "$log")"; return ;; esac
		out="exit $rc: $(sed "s|$WORK/cases/||" "$log")"
	fi
	if [ -n "$(ls -A "$cache")" ]; then fail "$name: cache_dir not empty: $(ls -A "$cache")"; return; fi
	for p in /tmp/ckptfs-bad-escape /tmp/ckptfs-bad-abs "$WORK/ckptfs-bad-dotdot" "$WORK/cases/ckptfs-bad-dotdot"; do
		if [ -e "$p" ]; then fail "$name: wrote $p"; return; fi
	done
	ok "$name: $desc -> $out"
}

while IFS=$'\t' read -r file expect desc; do
	run_case "$file" "$expect" "$desc"
done < "$WORK/cases.tsv"

# A few cases with known effects: only the damaged process's views fail.
eio() { ! cat "$1" >/dev/null 2>"$WORK/eio.err" && grep -q 'Input/output error' "$WORK/eio.err"; }
probe() { # probe ARCHIVE DESC FUNCTION: mount ARCHIVE and run FUNCTION MOUNTPOINT
	local arc=$WORK/cases/$1 desc=$2 m=$WORK/probe-$checks
	mount_ck "$arc" "$m" -o "cache_dir=$WORK/cache-probe" || { fail "$desc: mount"; return; }
	if "$3" "$m"; then ok "$desc"; else fail "$desc"; fi
	umount_ck "$m"
}
mkdir -p "$WORK/cache-probe"
p_pagemap() { ! cat "$1/1/mem" >/dev/null 2>&1 && test -s "$1/9/maps" && test -s "$1/1/maps"; }
probe magic-pagemap.tar "bad pagemap-1.img: 1/mem fails, 1/maps and 9/maps still read" p_pagemap
p_past() { ! cat "$1/1/mem" >/dev/null 2>&1 && grep -q '^Name:' "$1/1/status"; }
probe pagemap-past.tar "pagemap past its pages: 1/mem fails, 1/status still reads" p_past
p_core() { eio "$1/1/status" && eio "$1/images/core-1.json" && grep -q '^Name:' "$1/9/status"; }
probe size-core.tar "core-1.img record past the end: 1/status, images/core-1.json give EIO; 9/status reads" p_core
p_links() {
	test "$(readlink "$1/checkpoint/abs-link")" = ../etc/shadow &&
	test "$(readlink "$1/checkpoint/up-link")" = ../etc/passwd &&
	! test -e "$1/checkpoint/abs-link" && ! test -e "$1/checkpoint/up-link" &&
	cmp -s "$1/checkpoint/deep-up" "$1/checkpoint/core-1.img" &&
	cmp -s "$1/checkpoint/dots" "$1/checkpoint/core-1.img" &&
	cmp -s "$1/checkpoint/abs-core" "$1/checkpoint/core-1.img" &&
	test "$(readlink "$1/checkpoint/root-link")" = .. && test -f "$1/checkpoint/root-link/1/status" &&
	test "$(readlink "$1/checkpoint/long-up")" = ../etc/passwd &&
	cmp -s "$1/checkpoint/hard-core" "$1/checkpoint/core-1.img" &&
	! test -e "$1/checkpoint/hard-abs" && ! test -e "$1/checkpoint/hard-missing"
}
probe links.tar "archive symlinks stay inside the mount (/etc/shadow -> ../etc/shadow, dangling); hard links resolve only inside the archive" p_links
p_raw() {
	test "$(readlink "$1/checkpoint/abs-link")" = /etc/shadow &&
	test "$(readlink "$1/checkpoint/up-link")" = ../../../../etc/passwd
}
probe_raw() { # like probe, with -o raw_symlinks
	local m=$WORK/probe-raw
	mount_ck "$WORK/cases/links.tar" "$m" -o raw_symlinks || { fail "raw_symlinks: mount"; return; }
	if p_raw "$m"; then ok "-o raw_symlinks shows the stored targets"; else fail "-o raw_symlinks shows the stored targets"; fi
	umount_ck "$m"
}
probe_raw
p_deep() { test "$(cat "$1/$(printf 'd/%.0s' $(seq 1000))leaf")" = deep; }
probe deep.tar "the member 1000 directories deep reads back" p_deep
p_dotdot() { test -f "$1/tmp/ckptfs-bad-abs" && test -z "$(find "$1" -name 'ckptfs-bad-[ed]*' -o -name y)"; }
probe dotdot.tar "a leading '/' is stripped; members with '..' are dropped" p_dotdot
p_nested() { ! test -e "$1/rootfs-diff" && cat "$1/rootfs-diff.tar" >/dev/null && grep -q '^Name:' "$1/1/status"; }
probe nested-bad.tar "a corrupt rootfs-diff.tar: /rootfs-diff/ is left out, rootfs-diff.tar itself reads" p_nested
check "a corrupt rootfs-diff.tar is named in one warning line" \
	grep -q "cannot index 'rootfs-diff.tar': " "$WORK/nested-bad.log"
check "no spill file left in cache_dir" test -z "$(ls -A "$WORK/cache-probe")"
finish
