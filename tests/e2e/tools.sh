#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ps aux/-ef/-eLf/-o lstart, pstree -p, top, lsof -p/-i and psutil on every
# fixture mount and on a bare CRIU images directory (the fixture's
# checkpoint/ alone), checked against the images by tools_check.py.
. "$(dirname "$0")/lib.sh"
need ps pstree top lsof unshare python3 tar
unshare -pfm true 2>/dev/null || skip "cannot create mount and pid namespaces (needs root)"
here=$(dirname "$0")
# Debian's python3-psutil is in the system python's path, not in a pyenv's
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

run() { # run ARCHIVE|DIR NAME
	local mnt=$WORK/$2
	mount_ck "$1" "$mnt" || { fail "mount $2"; return; }
	if TZ=UTC "$py" "$here/tools_check.py" "$mnt" "$1" >"$WORK/out" 2>&1; then
		ok "$2: $(grep -c '^ok' "$WORK/out") checks of ps, pstree, top, lsof and psutil"
	else
		fail "$2: tools_check"
		grep -v '^ok' "$WORK/out" | sed 's/^/# /'
	fi
	umount_ck "$mnt"
}

for f in wl-alpha.tar.zst wl-beta.tar.gz wl-gamma.tar busybox-loop.tar.gz; do
	run "$FIXTURES/$f" "${f%%.*}"
done
# a bare `criu dump -D dir`: the images without the engine's files
mkdir -p "$WORK/bare"
tar -xf "$FIXTURES/wl-gamma.tar" -C "$WORK/bare" checkpoint
run "$WORK/bare/checkpoint" bare-gamma
finish
