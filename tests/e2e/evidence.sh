#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Evidence copies and whole-tree scans of a mounted checkpoint (issue 13):
# cp -a, tar -cf (no --sparse) and rsync -a of the whole mount onto a small
# ext4 file system (a loop-mounted image: tmpfs takes files far larger than
# ext4's 16 TiB limit and would hide a 128 TiB mem), each copy's hashes equal
# to the mount's; grep -r -a, rg -a -uuu, du --apparent-size, sha256sum over
# find -type f, and, on a -o contain_links mount, find -L and yara -r end
# and find what the images hold, without leaving the mount. mem reports
# size 0 and still reads at any address.
# usage: evidence.sh FIXTURE
. "$(dirname "$0")/lib.sh"
need mkfs.ext4 losetup rsync tar sha256sum python3
[ "$(id -u)" = 0 ] || skip "needs root to loop-mount an ext4 image"
f=${1:?fixture}
mnt=$WORK/mnt
ext=$WORK/ext
mount_ck "$FIXTURES/$f" "$mnt" || { fail "mount $f"; finish; }

# the small ext4 file system: sized from the mount's apparent size
apparent=$(du -s --apparent-size -B1 "$mnt" | cut -f1)
check "du --apparent-size of the whole mount is bounded ($apparent bytes)" test "$apparent" -lt $((1 << 30))
truncate -s $((apparent * 4 + (64 << 20))) "$WORK/ext.img"
mkfs.ext4 -q -F "$WORK/ext.img" || { fail "mkfs.ext4"; finish; }
mkdir -p "$ext"
mount -o loop "$WORK/ext.img" "$ext" 2>"$WORK/loop.err" || skip "cannot loop-mount: $(cat "$WORK/loop.err")"
trap 'mountpoint -q "$ext" && umount "$ext"; cleanup' EXIT

# manifest DIR: sha256 of every regular file, the target of every symlink
manifest() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum &&
		find . -type l -printf 'link %p -> %l\n' | sort)
}
manifest "$mnt" >"$WORK/mount.sha" || fail "sha256sum over find -type f on the mount"
nfiles=$(grep -c '^[0-9a-f]\{64\} ' "$WORK/mount.sha")
check "sha256sum over find -type f hashes every file ($nfiles)" test "$nfiles" -gt 50
check "mem is listed with the empty file's hash" \
	grep -q "^e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  ./1/mem$" "$WORK/mount.sha"

copy_ok() { # copy_ok TOOL DIR: DIR's manifest equals the mount's
	manifest "$2" >"$WORK/$1.sha"
	if cmp -s "$WORK/mount.sha" "$WORK/$1.sha"; then
		ok "$1: the copy on ext4 has the mount's hashes and links ($nfiles files)"
	else
		fail "$1: the copy differs from the mount"
		diff "$WORK/mount.sha" "$WORK/$1.sha" | head -10 | sed 's/^/# /'
	fi
	rm -rf "$2"
}

if cp -a "$mnt" "$ext/cp" 2>"$WORK/cp.err"; then
	copy_ok "cp -a" "$ext/cp"
else
	fail "cp -a onto ext4: $(head -3 "$WORK/cp.err")"
	rm -rf "$ext/cp"
fi

if tar -cf "$ext/ck.tar" -C "$mnt" . 2>"$WORK/tar.err"; then
	size=$(stat -c %s "$ext/ck.tar")
	check "tar -cf (no --sparse): the archive is bounded ($size bytes)" test "$size" -lt $((apparent + (16 << 20)))
	mkdir "$ext/untar"
	tar -xf "$ext/ck.tar" -C "$ext/untar" && rm -f "$ext/ck.tar" && copy_ok "tar -cf" "$ext/untar"
else
	fail "tar -cf onto ext4: $(head -3 "$WORK/tar.err")"
fi
rm -f "$ext/ck.tar"

if rsync -a "$mnt/" "$ext/rsync/" 2>"$WORK/rsync.err"; then
	copy_ok "rsync -a" "$ext/rsync"
else
	fail "rsync -a onto ext4: $(head -3 "$WORK/rsync.err")"
fi

# the copied mem is empty, the mounted one still reads at the first dumped address
python3 - "$mnt/1/mem" "$mnt/1/pages.map" "$mnt/1/pages" >"$WORK/mem.out" 2>&1 <<'EOF'
import os, sys
mem, pmap, pages = sys.argv[1:]
assert os.stat(mem).st_size == 0, 'mem size'
fd = os.open(mem, os.O_RDONLY)
first = os.lseek(fd, 0, os.SEEK_DATA)
line = open(pmap).readline().split()
start = int(line[0].split('-')[0], 16)
assert first == start, f'SEEK_DATA {first:#x}, pages.map starts at {start:#x}'
assert os.pread(fd, 4096, 0) == b'', 'offset 0 (unmapped) reads as the end of the file'
with open(pages, 'rb') as p:
    want = p.read(4096)
assert os.pread(fd, 4096, first) == want, 'the first dumped page differs from pages'
print('ok')
EOF
check "mem: size 0, SEEK_DATA and pread at the first dumped address give pages' bytes" grep -qx ok "$WORK/mem.out"

# grep and ripgrep over everything (text mode): they end and find the environment
secret=$(tr '\0' '\n' <"$mnt/1/environ" | sed -n 's/^[A-Z_]*SECRET=//p' | head -1)
if [ -n "$secret" ]; then
	grep -r -a -l -F -- "$secret" "$mnt" >"$WORK/grep.out" 2>"$WORK/grep.err"
	check "grep -r -a finds the secret in 1/environ and 1/pages" \
		sh -c 'grep -qx "$1/1/environ" "$2" && grep -qx "$1/1/pages" "$2"' _ "$mnt" "$WORK/grep.out"
	if command -v rg >/dev/null; then
		rg -a -uuu -l -F -- "$secret" "$mnt" >"$WORK/rg.out" 2>"$WORK/rg.err"
		check "rg -a -uuu finds the secret in 1/pages" grep -qx "$mnt/1/pages" "$WORK/rg.out"
	fi
else
	echo "# $f: no *SECRET= in 1/environ, grep and rg not checked"
fi
umount_ck "$mnt"

# link-following scanners on a contain_links mount stay inside it
mount_ck "$FIXTURES/$f" "$mnt" -o contain_links || { fail "mount -o contain_links"; finish; }
find -L "$mnt" -printf '%p\n' >"$WORK/findL.out" 2>"$WORK/findL.err"
check "find -L stays inside the mount ($(wc -l <"$WORK/findL.out") paths)" \
	sh -c '! grep -qv "^$1" "$2"' _ "$mnt" "$WORK/findL.out"
# following every link opens nothing that blocks: no FIFO is reachable
check "contain_links: find -L finds no FIFO" test -z "$(find -L "$mnt" -type p 2>/dev/null)"
timeout 120 find -L "$mnt" -type p -exec cat {} \; >/dev/null 2>&1
check "contain_links: find -L -type p -exec cat ends (exit $?, 124 is a hang)" test $? -ne 124
pipes=$(find "$mnt"/*/fd -lname 'pipe:*' 2>/dev/null | head -1)
[ -n "$pipes" ] && check "contain_links: a pipe fd reads as an empty file, with the pipe's inode" \
	sh -c 'test -f "$1" && test ! -s "$1" && test "$(stat -L -c %i "$1")" = "$(readlink "$1" | tr -dc 0-9)"' _ "$pipes"
for l in cwd root exe; do
	t=$(readlink "$mnt/1/$l") || continue
	case $t in
	/*) fail "contain_links: 1/$l -> $t is absolute" ;;
	*) ok "contain_links: 1/$l -> $t" ;;
	esac
done
if command -v yara >/dev/null && [ -n "$secret" ]; then
	printf 'rule secret { strings: $s = "%s" condition: $s }\n' "$secret" >"$WORK/s.yar"
	yara -r "$WORK/s.yar" "$mnt" >"$WORK/yara.out" 2>"$WORK/yara.err"
	check "yara -r finds the secret in 1/pages" grep -qx "secret $mnt/1/pages" "$WORK/yara.out"
	check "yara -r reports only files inside the mount" sh -c '! grep -v " $1/" "$2"' _ "$mnt" "$WORK/yara.out"
fi
umount_ck "$mnt"
umount "$ext"
finish
