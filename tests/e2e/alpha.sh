#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The analyst's first minutes on wl-alpha, with plain shell tools: the facts
# the issue names, read the way a person would read them.
. "$(dirname "$0")/lib.sh"
need jq tar dd tr grep readlink

mnt=$WORK/alpha
mount_ck "$FIXTURES/wl-alpha.tar.zst" "$mnt" || { fail "mount wl-alpha"; finish; }

check "1/cmdline is /usr/bin/workload NUL alpha NUL" \
	cmp <(printf '/usr/bin/workload\0alpha\0') "$mnt/1/cmdline"
check "1/environ holds APP_SECRET" sh -c "tr '\\0' '\\n' < '$mnt/1/environ' | grep -qx 'APP_SECRET=s3cr3t-alpha-7731'"
check "1/fd/7 is a socket" sh -c "readlink '$mnt/1/fd/7' | grep -Eq '^socket:\\[[0-9]+\\]\$'"
check "1/fd/0 is /dev/null" test "$(readlink "$mnt/1/fd/0")" = /dev/null
check "1/fd/15 is the deleted ghost file" test "$(readlink "$mnt/1/fd/15")" = "/tmp/work/ghost.txt (deleted)"
check "1/fd/17 is the memfd" test "$(readlink "$mnt/1/fd/17")" = "/memfd:secret-memfd (deleted)"
check "1/fd/18 is an eventfd" test "$(readlink "$mnt/1/fd/18")" = "anon_inode:[eventfd]"
check "1/fd/1 (write end of a pipe) shows l-wx------" test "$(stat -c %A "$mnt/1/fd/1")" = l-wx------
check "1/fd/0 (O_RDWR) shows lrwx------" test "$(stat -c %A "$mnt/1/fd/0")" = lrwx------
check "1/cwd is /tmp/work" test "$(readlink "$mnt/1/cwd")" = /tmp/work
check "1/exe is /usr/bin/workload" test "$(readlink "$mnt/1/exe")" = /usr/bin/workload
check "1/task has 4 threads" test "$(ls "$mnt/1/task" | wc -l)" -eq 4
check "task/7 is worker-1" test "$(cat "$mnt/1/task/7/comm")" = worker-1
check "1/status says ckpt-workload, sleeping" \
	sh -c "grep -qx 'Name:	ckpt-workload' '$mnt/1/status' && grep -qx 'State:	S (sleeping)' '$mnt/1/status'"
check "6/status has PPid 1" grep -qx 'PPid:	1' "$mnt/6/status"
check "1/limits shows open files 1048576 or a number" grep -Eq '^Max open files +[0-9]+ +[0-9]+ +files' "$mnt/1/limits"
check "1/maps names the heap-side mapping and the stack" sh -c "grep -q '\\[stack\\]\$' '$mnt/1/maps' && grep -q ' /usr/bin/workload\$' '$mnt/1/maps'"

heap=$(tar -xOf "$mnt/rootfs-diff.tar" tmp/addrs.txt | awk '$1 == "heap" { print $2 }')
check "addrs.txt from rootfs-diff.tar names the heap marker" test -n "$heap"
got=$(python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(os.pread(fd, 17, int(sys.argv[2], 16)).decode())" "$mnt/1/mem" "$heap")
check "pread of 1/mem at the heap address returns HEAP-MARKER-alpha" test "$got" = HEAP-MARKER-alpha
check "jq: core-1 comm is ckpt-workload" jq -e '.entries[0].tc.comm == "ckpt-workload"' "$mnt/images/core-1.json"
check "jq: pstree has pids 1 and 6" jq -e '[.entries[].pid] == [1, 6]' "$mnt/images/pstree.json"
umount_ck "$mnt"
finish
