#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The FUSE conventions: -f, -d, -s, -o ro,allow_other, daemon mode,
# fusermount3 -u, --help/--version; the mount.fuse3 calling convention
# (`ckptfs SOURCE MOUNTPOINT -o rw,dev,suid,...`), `mount -t fuse.ckptfs`
# and an /etc/fstab line; exit status 20; the indexing progress bar.
. "$(dirname "$0")/lib.sh"
need grep tar
archive=$FIXTURES/wl-alpha.tar.zst

# mounted_opts DIR: the options column of DIR in /proc/mounts
mounted_opts() { awk -v d="$1" '$2 == d { print $4 }' /proc/mounts; }
# wait_unmounted DIR: until DIR is no mount point (bounded by meson's timeout)
wait_unmounted() { while mountpoint -q "$1"; do sleep 0.05; done; }

out=$("$CKPTFS" --version); rc=$?
check "--version exits 0 and names ckptfs" sh -c "[ $rc -eq 0 ] && echo '$out' | grep -q '^ckptfs [0-9]'"
"$CKPTFS" --help >"$WORK/help" 2>&1; rc=$?
check "--help exits 0" test "$rc" -eq 0
for o in json= cache_dir= --ls --cat --readlink -h -V -f -d -s allow_other; do
	check "--help mentions $o" grep -q -- "$o" "$WORK/help"
done

for flag in -f -d -s; do
	mnt=$WORK/flag$flag
	mount_ck "$archive" "$mnt" "$flag" || { fail "mount with $flag"; continue; }
	check "$flag: 1/comm reads" test "$(cat "$mnt/1/comm")" = ckpt-workload
	umount_ck "$mnt"
done
check "-d logged FUSE requests" grep -q 'unique:' "$WORK/flag-d.log"

mnt=$WORK/opts
mount_ck "$archive" "$mnt" -o ro,allow_other || fail "mount -o ro,allow_other"
opts=$(mounted_opts "$mnt")
check "-o ro,allow_other: mounted ro ($opts)" grep -qE '(^|,)ro(,|$)' <<<"$opts"
check "-o ro,allow_other: allow_other is set" grep -q allow_other <<<"$opts"
check "fstype is fuse.ckptfs, source the archive" \
	grep -q "^$archive $mnt fuse.ckptfs " /proc/mounts
check "writes fail" sh -c "! touch '$mnt/x' 2>/dev/null"
umount_ck "$mnt"

# Without -f the daemon detaches once mounted: ckptfs returns 0.
mnt=$WORK/bg
mkdir -p "$mnt"
MOUNTS+=("$mnt")
"$CKPTFS" "$archive" "$mnt" 2>"$mnt.log"; rc=$?
check "daemon mode: exits 0 once mounted" sh -c "[ $rc -eq 0 ] && mountpoint -q '$mnt'"
check "daemon mode: fusermount3 -u unmounts" fusermount3 -u "$mnt"
wait_unmounted "$mnt"

# mount.fuse3 runs `ckptfs SOURCE MOUNTPOINT -o OPTS`, with OPTS such as
# rw,dev,suid plus whatever fstab carried; none of them may fail the mount.
mnt=$WORK/helper
mkdir -p "$mnt"
"$CKPTFS" "$archive" "$mnt" -o rw,dev,suid,_netdev,noauto,user,users,nofail,defaults,x-systemd.automount,comment=x 2>"$mnt.log"; rc=$?
check "mount.fuse3 convention with fstab-only options: exit 0" test "$rc" -eq 0
check "mount.fuse3 convention: still read-only" grep -qE '(^|,)ro(,|$)' <<<"$(mounted_opts "$mnt")"
fusermount3 -u "$mnt" 2>/dev/null
wait_unmounted "$mnt"

# mount -t fuse.ckptfs and fstab, through the real mount(8) and mount.fuse3.
# mount(8) clears PATH, so the helper's shell finds ckptfs only in the
# default PATH: a private mount namespace puts it in /usr/local/sbin.
if command -v mount.fuse3 >/dev/null && unshare -m true 2>/dev/null; then
	mnt=$WORK/mnt-t
	mkdir -p "$mnt"
	printf '%s %s fuse.ckptfs ro,noauto,allow_other,_netdev,nofail 0 0\n' "$archive" "$mnt" >"$WORK/fstab"
	unshare -m --propagation private bash -c '
		set -e
		mount -t tmpfs tmpfs /usr/local/sbin
		ln -s "$1" /usr/local/sbin/ckptfs
		mount -t fuse.ckptfs -o noauto,_netdev "$2" "$3"
		grep -q "^$2 $3 fuse.ckptfs ro," /proc/mounts
		test "$(cat "$3/1/comm")" = ckpt-workload
		umount "$3"
		mount -T "$4" "$3"
		test "$(cat "$3/6/comm")" = ckpt-child
		umount "$3"
	' _ "$CKPTFS" "$archive" "$mnt" "$WORK/fstab" >"$WORK/mount.log" 2>&1
	check "mount -t fuse.ckptfs and an fstab line mount and unmount" test $? -eq 0 ||
		sed 's/^/# /' "$WORK/mount.log"
else
	echo "# skipped mount(8) checks: no mount.fuse3 or no mount namespaces"
fi

# exit status 20: the mount itself fails (nobody may not open /dev/fuse
# nor mount on root's directory)
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$WORK/nobody"
	cp "$archive" "$WORK/nobody.tar.zst"
	chmod 755 "$WORK"
	chmod 644 "$WORK/nobody.tar.zst"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CKPTFS" -f "$WORK/nobody.tar.zst" "$WORK/nobody" 2>"$WORK/err"; rc=$?
	if [ "$rc" -ge 126 ]; then
		echo "# skipped exit 20: nobody cannot run $CKPTFS"
	else
		check "mount failure: exit 20 ($(tail -n1 "$WORK/err"))" test "$rc" -eq 20
	fi
fi

# read-ahead: the mount's read_ahead_kb is what -o read_ahead= asks (root
# only), the kernel's 128 with 0; requests stay within max_read, and reads
# return the archive's bytes either way.
if [ "$(id -u)" -eq 0 ]; then
	for ra in 2048 0; do
		mount_ck "$archive" "$WORK/ra$ra" -o read_ahead=$ra -d || { fail "mount with read_ahead=$ra"; continue; }
		want=$ra; [ "$ra" -eq 0 ] && want=128
		got=
		for _ in $(seq 100); do
			got=$(cat "/sys/class/bdi/$(mountpoint -d "$WORK/ra$ra")/read_ahead_kb")
			[ "$got" = "$want" ] && break
			sleep 0.05
		done
		check "read_ahead=$ra: read_ahead_kb is $want ($got)" test "$got" = "$want"
		check "read_ahead=$ra: 1/pages reads as --cat gives it" \
			cmp "$WORK/ra$ra/1/pages" <("$CKPTFS" --cat "$archive" /1/pages)
		check "read_ahead=$ra: no read request over max_read" test -z "$(grep -o 'read\[[0-9]*\] [0-9]* bytes' \
			"$WORK/ra$ra.log" | awk '$2 > 1032192')"
		fusermount3 -u "$WORK/ra$ra"
	done
fi

# A multi-block xz mounted in the background (the daemon forks after the
# archive is indexed, which reads ahead): sequential reads of a large file
# finish, with the right bytes, several times over.
if command -v xz >/dev/null && command -v zstd >/dev/null; then
	zstd -dqc "$archive" | xz -T2 -0 --block-size=262144 -c >"$WORK/blocks.tar.xz"
	mkdir -p "$WORK/bg"
	for run in 1 2 3; do
		"$CKPTFS" "$WORK/blocks.tar.xz" "$WORK/bg" || { fail "background mount of a multi-block xz"; break; }
		MOUNTS+=("$WORK/bg")
		check "background mount, run $run: 1/pages reads whole and right" \
			cmp <(timeout 120 cat "$WORK/bg/1/pages") <("$CKPTFS" --cat "$archive" /1/pages)
		fusermount3 -u "$WORK/bg"
	done
fi

# progress: a bar on a terminal while a slow (bzip2, incompressible) archive
# is indexed, nothing when stderr is not a terminal
if command -v script >/dev/null && command -v bzip2 >/dev/null && command -v zstd >/dev/null; then
	zstd -dqc "$archive" >"$WORK/big.tar"
	head -c 8M /dev/urandom >"$WORK/noise.bin"
	tar -rf "$WORK/big.tar" -C "$WORK" noise.bin
	bzip2 -1 "$WORK/big.tar"
	script -qc "'$CKPTFS' -o cache_dir='$WORK' --ls '$WORK/big.tar.bz2' >/dev/null" /dev/null >"$WORK/tty" 2>&1
	check "progress on a terminal: a bar with bytes" grep -q 'indexing \[#*.*\] .*MiB / [0-9.]* MiB' "$WORK/tty"
	check "progress on a terminal: the line is cleared at the end" sh -c "tail -c 4 '$WORK/tty' | od -c | grep -q '033   \\[   K'"
	"$CKPTFS" -o cache_dir="$WORK" --ls "$WORK/big.tar.bz2" 2>"$WORK/notty" >/dev/null
	check "progress: silent when stderr is not a terminal" test ! -s "$WORK/notty"
else
	echo "# skipped progress checks: script, bzip2 or zstd missing"
fi
finish
