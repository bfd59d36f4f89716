#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A checkpoint holds secrets. Without -o allow_other no other user gets in
# (FUSE itself refuses). With allow_other, the archive's own uid/gid/modes
# count for nothing: everything is owned by the mounting user, nothing is
# writable, setuid or sticky, archive members and images/*.json are
# owner-only, as are mem, pages, environ, auxv and fd/. Needs root (to run
# commands as nobody).
. "$(dirname "$0")/lib.sh"
need setpriv python3 tar find
[ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
id nobody >/dev/null 2>&1 || skip "no user nobody"
chmod 0755 "$WORK"
as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }
denied() { ! as_nobody head -c1 "$1" >/dev/null 2>&1; }
readable() { as_nobody head -c1 "$1" >/dev/null 2>&1; }

# A hostile archive: world-writable setuid members owned by uid 1234.
mkdir -p "$WORK/src"
tar -xf "$FIXTURES/busybox-loop.tar.gz" -C "$WORK/src"
python3 - "$WORK/src" "$WORK/hostile.tar" <<'PY'
import os, sys, tarfile
src, out = sys.argv[1:]
def f(ti):
    ti.uid, ti.gid, ti.uname, ti.gname = 1234, 1234, 'evil', 'evil'
    ti.mode = 0o7777 if ti.isdir() else 0o6777
    return ti
with tarfile.open(out, 'w') as t:
    t.add(os.path.join(src, 'checkpoint'), 'checkpoint', filter=f)
    t.add(os.path.join(src, 'config.dump'), 'config.dump', filter=f)
PY

mnt=$WORK/private
mount_ck "$FIXTURES/wl-alpha.tar.zst" "$mnt" || { fail "mount"; finish; }
check "without allow_other: nobody cannot stat the mount" sh -c "! setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups stat '$mnt/' >/dev/null 2>&1"
check "without allow_other: nobody cannot read 1/status" denied "$mnt/1/status"
check "without allow_other: the owner can" test -s "$mnt/1/status"
umount_ck "$mnt"

me="$(id -u) $(id -g)"
for a in "$FIXTURES/wl-alpha.tar.zst" "$WORK/hostile.tar"; do
	n=$(basename "$a"); mnt=$WORK/shared-${n%%.*}
	mount_ck "$a" "$mnt" -o allow_other || { fail "mount $n -o allow_other"; continue; }
	check "$n: every node is owned by the mounting user" test "$(find "$mnt" -printf '%U %G\n' | sort -u)" = "$me"
	bad=$(find "$mnt" ! -type l -perm /7222 -printf '%m %P\n' | head -5)
	check "$n: nothing writable, setuid, setgid or sticky (rootfs-diff/ included)" test -z "$bad"
	[ -n "$bad" ] && echo "# $bad"
	if [ -d "$mnt/rootfs-diff/tmp" ]; then
		check "$n: allow_other: nobody cannot read rootfs-diff/tmp/addrs.txt" denied "$mnt/rootfs-diff/tmp/addrs.txt"
	fi
	check "$n: allow_other: nobody reads 1/status (as /proc)" readable "$mnt/1/status"
	for f in 1/mem 1/pages 1/environ 1/auxv 1/fd/0 checkpoint/pstree.img checkpoint/pages-1.img \
		images/core-1.json images/pagemap-1.json config.dump; do
		[ -e "$mnt/$f" ] || [ -L "$mnt/$f" ] || continue
		check "$n: allow_other: nobody cannot read $f" denied "$mnt/$f"
	done
	check "$n: allow_other: members are 0400" test "$(stat -c %a "$mnt/checkpoint/pstree.img")" = 400
	umount_ck "$mnt"
done
finish
