#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ckptfs --exec: ps, pstree, top, lsof, ss and netstat run with the
# checkpoint as their /proc (exec_check.py compares them with its images)
# on real CRIU 4.2 checkpoints: a bare dump whose init is pid 31526, a
# multi-threaded server, the triage tree with established connections, a
# pod (ARCHIVE:CONTAINER and a mounted pod's container), a mounted tree;
# none shows this host's processes or sockets. Then the exit status, the
# errors, and that the private mount is seen by nobody else and goes away.
. "$(dirname "$0")/lib.sh"
need ps pstree top lsof ss netstat ip pgrep python3 jq
unshare -pfm true 2>/dev/null || skip "cannot create namespaces (needs root)"
REAL=$CKPTFS_DATA/real
here=$(dirname "$0")
export CKPTFS

# this host's own process and listener, which must not show
marker=ckptfs-exec-host-marker-$$
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(600)' "$marker" >"$WORK/port" &
DAEMONS+=($!)
until [ -s "$WORK/port" ]; do sleep 0.05; done
port=$(cat "$WORK/port")
check "control: this host's ss shows its listener" sh -c "ss -tan | grep -q '127.0.0.1:$port '"
check "control: this host's ps shows its process" sh -c "ps aux | grep -v grep | grep -q '$marker'"

run_check() { # run_check TRUTH-MOUNT TARGET NAME
	if python3 "$here/exec_check.py" "$1" "$2" "$port" "$marker" >"$WORK/out" 2>&1; then
		ok "$3: $(grep -c '^ok' "$WORK/out") checks of ps, pstree, top, lsof, ss, netstat"
	else
		fail "$3: exec_check"
		grep -v '^ok' "$WORK/out" | sed 's/^/# /'
	fi
}

for f in rough-bare rough-threads triage; do
	mount_ck "$REAL/$f.tar.zst" "$WORK/$f" || { fail "mount $f"; continue; }
	run_check "$WORK/$f" "$REAL/$f.tar.zst" "$f (archive)"
done
run_check "$WORK/rough-threads" "$WORK/rough-threads" "rough-threads (mounted tree)"
check "bare: the command has the init's pid (31526), not 1" \
	test "$("$CKPTFS" --exec "$REAL/rough-bare.tar.zst" sh -c 'echo $$')" = 31526
check "bare: /proc/self is the init's directory" \
	test "$("$CKPTFS" --exec "$REAL/rough-bare.tar.zst" readlink /proc/self)" = 31526
check "PROC_ROOT is /proc" test "$("$CKPTFS" --exec "$WORK/rough-bare" sh -c 'echo $PROC_ROOT')" = /proc
check "threads: the command's own network namespace has only lo" \
	test "$("$CKPTFS" --exec "$WORK/rough-threads" ip -o link | awk '{ print $2 }')" = "lo:"
for f in rough-bare rough-threads triage; do umount_ck "$WORK/$f"; done

# a pod: by ARCHIVE:CONTAINER, and the container of a mounted pod
python3 "$here/../../scripts/mkpod" "$WORK/pod.tar" threads="$REAL/rough-threads.tar.zst" \
	triage="$REAL/triage.tar.zst" || fail "scripts/mkpod"
if mount_ck "$WORK/pod.tar" "$WORK/pod"; then
	run_check "$WORK/pod/triage" "$WORK/pod.tar:triage" "pod.tar:triage"
	run_check "$WORK/pod/threads" "$WORK/pod/threads" "a mounted pod's container"
	out=$("$CKPTFS" --exec "$WORK/pod.tar" ps 2>&1); rc=$?
	check "pod without a container: exit 1 naming them ($out)" \
		sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'is a pod: give one of its containers: .*pod.tar:threads, .*pod.tar:triage'"
	out=$("$CKPTFS" --exec "$WORK/pod" ps 2>&1); rc=$?
	check "mounted pod without a container: exit 1 naming them ($out)" \
		sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'is a pod: give one of its containers: .*/pod/t'"
	out=$("$CKPTFS" --exec "$WORK/pod.tar:nope" ps 2>&1); rc=$?
	check "pod, no such container: exit 1 ($out)" test "$rc" -eq 1
	umount_ck "$WORK/pod"
fi

# exit status, errors
T=$REAL/rough-bare.tar.zst
"$CKPTFS" --exec "$T" sh -c 'exit 7'; check "the command's exit status (7)" test $? -eq 7
"$CKPTFS" --exec "$T" sh -c 'kill -KILL $$'; rc=$?
check "a command killed by SIGKILL: 137 ($rc)" test "$rc" -eq 137
out=$("$CKPTFS" --exec "$T" no-such-command-here 2>&1); rc=$?
check "command not found: 127 ($out)" sh -c "[ $rc -eq 127 ] && echo '$out' | grep -q 'no-such-command-here: command not found'"
out=$("$CKPTFS" --exec "$T" /etc/hostname 2>&1); rc=$?
check "not executable: 126 ($out)" test "$rc" -eq 126
out=$("$CKPTFS" --exec "$WORK/missing.tar" ps 2>&1); rc=$?
check "a missing checkpoint: exit 10 ($out)" test "$rc" -eq 10
out=$("$CKPTFS" --exec "$T" 2>&1); rc=$?
check "no command: usage, exit 1 ($out)" test "$rc" -eq 1
check "-- before the command, and its own options" \
	test "$("$CKPTFS" --exec -o json=plain "$T" -- ps -o pid= -p 31530 | tr -d ' ')" = 31530

# the private mount: nobody else sees it, and it goes when the command ends
"$CKPTFS" --exec "$T" sleep 3 &
xpid=$!
sleep 1
check "while it runs, this host has no mount of it" sh -c "! grep -qF ' $T ' /proc/self/mountinfo"
check "while it runs, the command sees the tree on its /proc" \
	test "$("$CKPTFS" --exec "$T" sh -c 'cat /proc/31526/comm')" = sh
wait "$xpid"; check "it ends with the command (exit 0)" test $? -eq 0
none_left() { ! pgrep -f "^$CKPTFS --exec $T sleep 3" >/dev/null; }
check "and leaves no process of ckptfs behind" none_left
finish
