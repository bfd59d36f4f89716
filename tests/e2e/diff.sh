#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two checkpoints side by side: `diff -r` walks both whole trees (sparse mem
# and core files included) and ends with differences but without errors.
. "$(dirname "$0")/lib.sh"
need diff timeout

a=$WORK/alpha b=$WORK/beta
mount_ck "$FIXTURES/wl-alpha.tar.zst" "$a" || { fail "mount wl-alpha"; finish; }
mount_ck "$FIXTURES/wl-beta.tar.gz" "$b" || { fail "mount wl-beta"; finish; }
timeout 600 diff -r --no-dereference "$a" "$b" > "$WORK/diff.out" 2> "$WORK/diff.err"
rc=$?
check "diff -r exits 1 (differences, no trouble), not $rc" test "$rc" -eq 1
check "diff -r printed no error" test ! -s "$WORK/diff.err"
check "diff -r sees the different secrets" grep -q 'environ differ' "$WORK/diff.out"
check "diff -r compares images/*.json" grep -q '^diff -r --no-dereference .*/images/core-1.json' "$WORK/diff.out"
umount_ck "$a"
umount_ck "$b"
finish
