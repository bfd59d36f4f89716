#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# /proc fidelity: procps ps, psmisc pstree and lsof, run on the mounted
# checkpoint as their /proc (ckptfs --exec, scripts/procps-check), agree with the
# checkpoint's own pids, ppids, comm, args, threads and descriptors.
. "$(dirname "$0")/lib.sh"
need ps pstree lsof unshare python3 jq
unshare -pfm true 2>/dev/null || skip "cannot create mount and pid namespaces (needs root)"
check_script=$CKPTFS_DATA/../../scripts/procps-check

for f in wl-alpha.tar.zst wl-gamma.tar busybox-loop.tar.gz; do
	mnt=$WORK/${f%%.*}
	mount_ck "$FIXTURES/$f" "$mnt" || { fail "mount $f"; continue; }
	if python3 "$check_script" "$mnt" >"$WORK/out" 2>&1; then
		ok "procps-check $f ($(grep -c '^ok' "$WORK/out") checks)"
	else
		fail "procps-check $f"
		sed 's/^/# /' "$WORK/out"
	fi
	umount_ck "$mnt"
done
finish
