#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Concurrency: many readers on one fresh wl-alpha mount for a bounded time
# (STRESS_SECONDS, default 15; STRESS_READERS, default 16), every byte
# checked against the goldens (stress.py); then a clean unmount.
. "$(dirname "$0")/lib.sh"
need python3

mnt=$WORK/alpha
mkdir -p "$WORK/cache"
mount_ck "$FIXTURES/wl-alpha.tar.zst" "$mnt" -o "cache_dir=$WORK/cache" || { fail "mount wl-alpha"; finish; }
out=$(timeout 300 python3 "$(dirname "$0")/stress.py" "$mnt" "$GOLDEN/wl-alpha" \
	"${STRESS_SECONDS:-15}" "${STRESS_READERS:-16}" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "parallel readers: ${out%%$'\n'*}" test "$rc" -eq 0
check "daemon still alive" kill -0 "$DAEMON_alpha"
umount_ck "$mnt"
check "no spill file left in cache_dir" test -z "$(ls -A "$WORK/cache")"
finish
