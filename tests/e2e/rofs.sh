#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Read-only: every writing operation fails with EROFS and changes nothing.
# Clean shutdown: SIGINT, SIGTERM and fusermount3 -u unmount and exit 0,
# also after a reader was killed with SIGKILL in mid-read; no spill file is
# left in cache_dir, not even when the daemon itself is killed.
. "$(dirname "$0")/lib.sh"
need python3 timeout cmp tar

arc=$FIXTURES/wl-alpha.tar.zst
cache=$WORK/cache
mkdir -p "$cache"
mnt=$WORK/ro
mount_ck "$arc" "$mnt" -o "cache_dir=$cache" || { fail "mount wl-alpha"; finish; }
tar -xf "$arc" -C "$WORK" config.dump

erofs() { # erofs DESC CMD...: CMD must fail with "Read-only file system"
	local desc=$1; shift
	if "$@" >/dev/null 2>"$WORK/erofs.err"; then fail "$desc succeeded"; return; fi
	if grep -q 'Read-only file system' "$WORK/erofs.err"; then ok "$desc: EROFS"
	else fail "$desc: want EROFS, got: $(cat "$WORK/erofs.err")"; fi
}
erofs "touch a new file" touch "$mnt/newfile"
erofs "touch an existing file" touch "$mnt/config.dump"
erofs "write into a file" sh -c "echo x >> '$mnt/config.dump'"
erofs "overwrite a view" sh -c "echo x > '$mnt/1/status'"
erofs "mkdir" mkdir "$mnt/newdir"
erofs "mkdir in a process dir" mkdir "$mnt/1/newdir"
erofs "rm a member" rm -f "$mnt/config.dump"
erofs "rm a view" rm -f "$mnt/1/status"
erofs "rmdir" rmdir "$mnt/artifacts"
erofs "mv" mv "$mnt/config.dump" "$mnt/moved"
erofs "chmod" chmod 0777 "$mnt/config.dump"
erofs "chown" chown 65534 "$mnt/config.dump"
erofs "truncate" truncate -s 0 "$mnt/config.dump"
erofs "ln (hard link)" ln "$mnt/config.dump" "$mnt/hardlink"
erofs "ln -s" ln -s config.dump "$mnt/symlink"
erofs "mkfifo" mkfifo "$mnt/fifo"
erofs "open O_RDWR" python3 -c "import os, sys; os.open(sys.argv[1], os.O_RDWR)" "$mnt/config.dump"
erofs "open O_WRONLY|O_TRUNC of mem" python3 -c "import os, sys; os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)" "$mnt/1/mem"
erofs "utime" python3 -c "import os, sys; os.utime(sys.argv[1], (0, 0))" "$mnt/1/maps"
erofs "setxattr" python3 -c "import os, sys; os.setxattr(sys.argv[1], 'user.x', b'1')" "$mnt/config.dump"
if command -v setfattr >/dev/null; then
	erofs "setfattr" setfattr -n user.x -v 1 "$mnt/config.dump"
fi
check "config.dump is unchanged" cmp "$WORK/config.dump" "$mnt/config.dump"
check "nothing was created" test ! -e "$mnt/newfile" -a ! -e "$mnt/newdir" -a ! -e "$mnt/moved" -a ! -e "$mnt/symlink"

# The spill file of the compressed archive lives in cache_dir, unlinked.
spill() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c "$cache"; }
check "the daemon holds a spill file in cache_dir" test "$(spill "$DAEMON_ro")" -ge 1
check "cache_dir looks empty while mounted (the spill file is unlinked)" test -z "$(ls -A "$cache")"

# A reader killed in mid-read: start a slow pread loop, SIGKILL it, unmount.
python3 - "$mnt/1/pages" <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
off = 0
while True:
    b = os.pread(fd, 1 << 20, off)
    off = off + len(b) if b else 0
PY
reader=$!
sleep 1
check "the reader is reading" kill -0 "$reader"
kill -9 "$reader"; wait "$reader" 2>/dev/null
check "mount still answers after the reader died" grep -q '^Name:' "$mnt/1/status"
umount_ck "$mnt"
check "fusermount3 -u: cache_dir empty" test -z "$(ls -A "$cache")"
check "fusermount3 -u: not mounted any more" sh -c "! mountpoint -q '$mnt'"

# SIGINT and SIGTERM: the daemon unmounts and exits 0.
for sig in INT TERM; do
	m=$WORK/sig$sig
	# job control: a non-interactive shell starts background jobs with SIGINT ignored
	set -m
	mount_ck "$arc" "$m" -o "cache_dir=$cache" || { set +m; fail "mount for SIG$sig"; continue; }
	set +m
	var=DAEMON_sig$sig; pid=${!var}
	cat "$m/1/pages" > /dev/null
	kill -s "$sig" "$pid"
	timeout 30 tail --pid="$pid" -f /dev/null
	kill -0 "$pid" 2>/dev/null && { fail "SIG$sig: daemon still running after 30 s"; kill -9 "$pid"; }
	wait "$pid"; rc=$?
	check "SIG$sig: daemon exits 0" test "$rc" -eq 0
	check "SIG$sig: unmounted" sh -c "! mountpoint -q '$m'"
	check "SIG$sig: cache_dir empty" test -z "$(ls -A "$cache")"
	check "SIG$sig: clean log" sh -c "! grep -E 'ERROR|AddressSanitizer|runtime error' '$m.log'"
done

# Even a killed daemon leaves nothing behind: the spill file was never linked.
m=$WORK/kill9
mount_ck "$arc" "$m" -o "cache_dir=$cache" || fail "mount for SIGKILL"
kill -9 "$DAEMON_kill9"; wait "$DAEMON_kill9" 2>/dev/null
fusermount3 -uz "$m" 2>/dev/null
check "SIGKILL of the daemon: cache_dir empty" test -z "$(ls -A "$cache")"
finish
