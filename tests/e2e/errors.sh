#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bad input: one clear line on stderr naming the file, the documented exit
# status, nothing mounted; a single corrupt image only fails its own views.
. "$(dirname "$0")/lib.sh"
need tar truncate head

# expect_fail DESC STATUS ARCHIVE: ckptfs must exit STATUS with one stderr
# line that names ARCHIVE, and leave nothing mounted.
expect_fail() {
	local desc=$1 want=$2 archive=$3 mnt=$WORK/m-$checks rc
	mkdir -p "$mnt"
	timeout 60 "$CKPTFS" -f "$archive" "$mnt" 2>"$WORK/err" >/dev/null
	rc=$?
	if [ "$rc" -ne "$want" ]; then fail "$desc: exit $rc, want $want ($(cat "$WORK/err"))"; return; fi
	if mountpoint -q "$mnt"; then fail "$desc: left a mount"; fusermount3 -u "$mnt"; return; fi
	if [ "$(wc -l < "$WORK/err")" -ne 1 ] || ! grep -qF "$archive" "$WORK/err"; then
		fail "$desc: want one line naming the file, got: $(cat "$WORK/err")"; return
	fi
	ok "$desc (exit $rc: $(cat "$WORK/err"))"
}

expect_fail "non-existent path" 10 "$WORK/does-not-exist.tar"
: > "$WORK/empty.tar"
expect_fail "empty file" 10 "$WORK/empty.tar"
head -c 100000 /dev/urandom > "$WORK/random.bin"
expect_fail "random bytes" 10 "$WORK/random.bin"
head -c 3000000 "$FIXTURES/wl-gamma.tar" > "$WORK/truncated.tar"
expect_fail "truncated plain tar" 10 "$WORK/truncated.tar"
head -c 20000 "$FIXTURES/wl-beta.tar.gz" > "$WORK/truncated.tar.gz"
expect_fail "truncated gzip tar" 10 "$WORK/truncated.tar.gz"
mkdir -p "$WORK/nock" && echo hello > "$WORK/nock/readme.txt"
tar -cf "$WORK/nock.tar" -C "$WORK/nock" readme.txt
expect_fail "tar without checkpoint/" 11 "$WORK/nock.tar"

# A decompression bomb: 256 MiB of 'A' in 9 KiB of zstd, against a 16 MiB
# spill limit (zeros would be holes in the spill file and cost nothing).
# The mount must stop early, leaving the cache dir empty.
if command -v zstd >/dev/null; then
	mkdir -p "$WORK/bomb" "$WORK/cache" && head -c 256M /dev/zero | tr '\0' A > "$WORK/bomb/zeros.bin"
	tar -C "$WORK/bomb" -cf - zeros.bin | zstd -q -c > "$WORK/bomb.tar.zst"
	rm -f "$WORK/bomb/zeros.bin"
	out=$(timeout 60 "$CKPTFS" -f -o spill_limit=16777216,cache_dir="$WORK/cache" "$WORK/bomb.tar.zst" "$WORK/bomb" 2>&1)
	rc=$?
	check "decompression bomb: exit 10 naming the spill limit ($out)" sh -c "[ $rc -eq 10 ] && echo '$out' | grep -q 'spill limit'"
	check "decompression bomb: nothing left in the cache dir" test -z "$(ls -A "$WORK/cache")"
fi

# A corrupt pstree.img: every view needs it.
mkdir -p "$WORK/badtree" && tar -xf "$FIXTURES/wl-gamma.tar" -C "$WORK/badtree"
printf '\x19\x43\x56\x54\x30\x30\x27\x50\xff\xff\x00\x00' > "$WORK/badtree/checkpoint/pstree.img"
expect_fail "malformed pstree.img" 12 "$WORK/badtree"

# A corrupt core-6.img in an otherwise good checkpoint: only pid 6's views fail.
mkdir -p "$WORK/badcore" && tar -xf "$FIXTURES/wl-gamma.tar" -C "$WORK/badcore"
head -c 40 "$WORK/badcore/checkpoint/core-6.img" > "$WORK/badcore/checkpoint/core-6.img.t"
mv "$WORK/badcore/checkpoint/core-6.img.t" "$WORK/badcore/checkpoint/core-6.img"
mnt=$WORK/badcore-mnt
if mount_ck "$WORK/badcore" "$mnt"; then
	ok "checkpoint with one corrupt image mounts"
	check "6/status fails with EIO" sh -c "! cat '$mnt/6/status' >/dev/null 2>'$WORK/e6' && grep -q 'Input/output error' '$WORK/e6'"
	check "images/core-6.json fails with EIO" sh -c "! cat '$mnt/images/core-6.json' >/dev/null 2>'$WORK/e7' && grep -q 'Input/output error' '$WORK/e7'"
	check "1/status still works" grep -q '^Name:' "$mnt/1/status"
	check "6/cmdline still works (mm is intact)" test -s "$mnt/6/cmdline"
	check "images/core-1.json still works" jq -e '.magic == "CORE"' "$mnt/images/core-1.json"
	fusermount3 -u "$mnt"
else
	fail "checkpoint with one corrupt image mounts"
fi

# Usage errors.
"$CKPTFS" >/dev/null 2>&1; rc=$?
check "no arguments: exit 1" test "$rc" -eq 1
"$CKPTFS" -o json=fancy "$FIXTURES/wl-gamma.tar" "$WORK" >/dev/null 2>&1; rc=$?
check "bad -o json value: exit 1" test "$rc" -eq 1
check "--version prints the version" sh -c "'$CKPTFS' --version | grep -q '^ckptfs [0-9]'"
check "--help mentions json=" sh -c "'$CKPTFS' --help 2>&1 | grep -q 'json=pretty|plain'"

# A missing archive is named before a bad mount point is.
"$CKPTFS" "$WORK/no-such.tar" "$WORK/no-such-dir" >/dev/null 2>"$WORK/err"; rc=$?
check "missing archive and mount point: exit 10, one line naming the archive" \
	sh -c 'test "$1" -eq 10 && test "$(wc -l <"$2")" -eq 1 && grep -q "no-such.tar: No such file" "$2"' _ "$rc" "$WORK/err"

# Mounting on a mount point that holds a ckptfs mount fails instead of stacking.
mnt="$WORK/twice mnt"
if mount_ck "$FIXTURES/wl-gamma.tar" "$mnt"; then
	"$CKPTFS" "$FIXTURES/wl-alpha.tar.zst" "$mnt" >/dev/null 2>"$WORK/err"; rc=$?
	check "a second mount on the same mount point: exit 20 with a clear line" \
		sh -c 'test "$1" -eq 20 && grep -q "already holds a ckptfs mount" "$2"' _ "$rc" "$WORK/err"
	check "the first mount is still the one shown" sh -c 'tr "\0" "\n" <"$1/1/cmdline" | grep -qx gamma' _ "$mnt"
	n=$(python3 -c 'import sys
print(sum(1 for l in open("/proc/self/mountinfo")
          if l.split()[4].replace("\\040", " ") == sys.argv[1]))' "$mnt")
	check "exactly one mount on the mount point ($n)" test "$n" -eq 1
	umount_ck "$mnt"
else
	fail "mount for the stacking test"
fi
finish
