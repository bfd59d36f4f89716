#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --recompress IN OUT: OUT holds the same tar as IN (zstd -dc of both
# agree), stock zstd verifies it, its frames start where tar members start,
# and ckptfs mounts it through the seek table with nothing spilled and every
# file as the original's mount shows it. Bad input fails with one line and
# leaves nothing behind.
. "$(dirname "$0")/lib.sh"
need zstd gzip python3 sha256sum

# decoded FILE: the tar inside a fixture, whatever its compression
decoded() {
	case $(head -c4 "$1" | od -An -tx1 | tr -d ' ') in
	28b52ffd | 5?2a4d18) zstd -dc "$1" ;;
	1f8b*) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# hashes DIR: sha256 of every regular file but the sparse mem files
hashes() { (cd "$1" && find . -type f ! -name mem -print0 | sort -z | xargs -0 sha256sum); }

# The frames of OUT's seek table must each begin at a tar header of IN.
cat >"$WORK/frames.py" <<'EOF'
import struct, sys, tarfile
out, tar = sys.argv[1], sys.argv[2]
data = open(out, "rb").read()
n, desc, magic = struct.unpack("<IBI", data[-9:])
assert magic == 0x8F92EAB1, "no seekable footer"
entry = 12 if desc & 0x80 else 8
table = data[-9 - n * entry:-9]
starts, pos = [], 0
for i in range(n):
    c, d = struct.unpack_from("<II", table, i * entry)
    starts.append(pos)
    pos += d
heads = set()
with tarfile.open(tar) as t:
    for m in t.getmembers():
        heads.add(m.offset)
# the first entry of a pax-prefixed member starts at its pax header: accept
# any block boundary that tarfile reports as an entry or pax header start
bad = [s for s in starts[1:] if s not in heads and s % 512]
# every member of 1 MiB or more (a quarter of the 4 MiB frames) starts a
# frame of its own, unless the previous frame starts right before it
with tarfile.open(tar) as t:
    members = t.getmembers()
late = [m.name for i, m in enumerate(members)
        if m.size >= 1 << 20 and m.offset not in starts and members[i - 1].offset not in starts]
print("frames", n, "tar bytes", pos, "large members not starting a frame", late)
sys.exit(1 if bad or late else 0)
EOF

for f in wl-alpha.tar.zst wl-beta.tar.gz wl-gamma.tar busybox-loop.tar.gz; do
	in=$FIXTURES/$f out=$WORK/${f%%.*}.tar.zst
	decoded "$in" >"$WORK/in.tar"
	check "$f: --recompress exits 0" "$CKPTFS" --recompress --threads=2 "$in" "$out"
	check "$f: zstd -dc OUT equals the decoded IN" cmp <(zstd -dc "$out") "$WORK/in.tar"
	check "$f: zstd -t accepts OUT" zstd -qt "$out"
	check "$f: every frame starts on a tar block" python3 "$WORK/frames.py" "$out" "$WORK/in.tar"
	mount_ck "$out" "$WORK/new" -d || { fail "$f: mount OUT"; continue; }
	mount_ck "$in" "$WORK/old" || { fail "$f: mount IN"; continue; }
	# data frames in the seek table (the member index is a frame of no content)
	if [ "$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); n=struct.unpack("<I",d[-9:-5])[0]; print(sum(1 for i in range(n) if struct.unpack_from("<II",d,len(d)-9-8*n+8*i)[1]))' "$out")" -gt 1 ]; then
		check "$f: OUT is read through its seek table" grep -q 'zstd seekable' "$WORK/new.log"
		check "$f: nothing is spilled" grep -q 'compressed tar (seekable), 0 bytes spilled' "$WORK/new.log"
	fi
	# /stat's btime may come from the archive file's time
	check "$f: every file reads as the original's mount shows it" \
		cmp <(hashes "$WORK/new" | grep -v ' \./stat$') <(hashes "$WORK/old" | grep -v ' \./stat$')
	check "$f: pages of pid 1 are identical" cmp "$WORK/new/1/pages" "$WORK/old/1/pages"
	umount_ck "$WORK/new"
	umount_ck "$WORK/old"
done

# Members larger than a frame start frames of their own: a 9 MiB member
# between small ones, with 1 MiB frames.
python3 - "$WORK/big.tar" <<'EOF'
import io, os, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, size in (("a", 1000), ("big", 9 << 20), ("b", 3000), ("big2", 2 << 20), ("c" * 120, 5000)):
        ti = tarfile.TarInfo(name)
        ti.size = size
        t.addfile(ti, io.BytesIO(os.urandom(size)))
EOF
check "a tar with a large member recompresses" "$CKPTFS" --recompress --level=1 "$WORK/big.tar" "$WORK/big.tar.zst"
check "its frames start on tar blocks" python3 "$WORK/frames.py" "$WORK/big.tar.zst" "$WORK/big.tar"
check "and decode to the same tar" cmp <(zstd -dc "$WORK/big.tar.zst") "$WORK/big.tar"
check "each large member starts a frame" python3 - "$WORK/big.tar.zst" "$WORK/big.tar" <<'EOF'
import struct, sys, tarfile
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<I", data[-9:-5])[0]
table = data[-9 - 8 * n:-9]
starts, pos = set(), 0
for i in range(n):
    starts.add(pos)
    pos += struct.unpack_from("<II", table, 8 * i)[1]
with tarfile.open(sys.argv[2]) as t:
    big = [t.getmember("big"), t.getmember("big2")]
sys.exit(0 if all(m.offset in starts for m in big) else 1)
EOF

# Bad input: one line naming the file, the documented exit code, no file left.
mkdir "$WORK/outdir"
"$CKPTFS" --recompress "$WORK/missing.tar" "$WORK/outdir/x.zst" 2>"$WORK/err"; rc=$?
check "a missing IN exits 10" test "$rc" -eq 10
check "with one line naming it" test "$(wc -l <"$WORK/err")" -eq 1 -a -n "$(grep missing.tar "$WORK/err")"
head -c $(($(stat -c %s "$FIXTURES/wl-alpha.tar.zst") / 2)) "$FIXTURES/wl-alpha.tar.zst" >"$WORK/cut.tar.zst"
"$CKPTFS" --recompress "$WORK/cut.tar.zst" "$WORK/outdir/x.zst" 2>"$WORK/err"; rc=$?
check "a truncated IN exits 10" test "$rc" -eq 10
check "with one line naming it" test "$(wc -l <"$WORK/err")" -eq 1 -a -n "$(grep cut.tar.zst "$WORK/err")"
check "and leaves nothing in OUT's directory" test -z "$(ls -A "$WORK/outdir")"
"$CKPTFS" --recompress "$FIXTURES/wl-gamma.tar" "$WORK/nodir/x.zst" 2>"$WORK/err"; rc=$?
check "an OUT in a missing directory exits 14" test "$rc" -eq 14
"$CKPTFS" --recompress --level=99 "$FIXTURES/wl-gamma.tar" "$WORK/outdir/x.zst" 2>"$WORK/err"; rc=$?
check "a bad --level exits 1" test "$rc" -eq 1
check "and leaves nothing behind" test -z "$(ls -A "$WORK/outdir")"

# A tar cut inside a member, and bytes that are no tar, are refused before
# OUT is named; an input that is not a regular file is refused at once.
head -c 300000 "$FIXTURES/wl-gamma.tar" >"$WORK/cut.tar"
"$CKPTFS" --recompress "$WORK/cut.tar" "$WORK/outdir/x.zst" 2>"$WORK/err"; rc=$?
check "a plain tar cut inside a member exits 10" test "$rc" -eq 10
check "with one line saying so" grep -q 'cut.tar: the tar ends inside a member' "$WORK/err"
head -c 1024 /dev/urandom >"$WORK/noise.bin"
"$CKPTFS" --recompress "$WORK/noise.bin" "$WORK/outdir/x.zst" 2>"$WORK/err"; rc=$?
check "random bytes exit 10" test "$rc" -eq 10 -a "$(wc -l <"$WORK/err")" -eq 1
timeout 20 "$CKPTFS" --recompress /dev/zero "$WORK/outdir/x.zst" 2>"$WORK/err"; rc=$?
check "/dev/zero is refused at once (exit 10)" test "$rc" -eq 10
check "as not a regular file" grep -q 'not a regular file' "$WORK/err"
check "none of them leaves anything behind" test -z "$(ls -A "$WORK/outdir")"

# OUT that exists is never replaced; --force replaces a regular file only,
# never a device, FIFO, directory or symlink (nothing is followed).
in=$FIXTURES/wl-gamma.tar
mknod "$WORK/outdir/null" c 1 3
mkfifo "$WORK/outdir/fifo"
mkdir "$WORK/outdir/dir"
echo keep >"$WORK/outdir/file"
ln -s file "$WORK/outdir/link"
for name in null fifo dir file link; do
	for force in "" --force; do
		[ "$name$force" = file--force ] && continue
		"$CKPTFS" --recompress $force "$in" "$WORK/outdir/$name" 2>"$WORK/err"; rc=$?
		check "OUT an existing $name ${force:-without --force}: exit 14" test "$rc" -eq 14
		check "  with one line naming it" test "$(wc -l <"$WORK/err")" -eq 1 -a -n "$(grep "outdir/$name" "$WORK/err")"
	done
done
check "the device is still a device" test -c "$WORK/outdir/null"
check "the FIFO is still a FIFO" test -p "$WORK/outdir/fifo"
check "the symlink is still a symlink to the untouched file" \
	test -L "$WORK/outdir/link" -a "$(cat "$WORK/outdir/file")" = keep
check "--force replaces a regular file" "$CKPTFS" --recompress --force "$in" "$WORK/outdir/file"
check "with the recompressed tar" cmp <(zstd -dc "$WORK/outdir/file") "$in"
rm -rf "$WORK/outdir"/*

# Killed while writing: nothing is left in OUT's directory.
for sig in TERM HUP KILL; do
	"$CKPTFS" --recompress --level=19 --threads=1 "$in" "$WORK/outdir/x.zst" 2>/dev/null &
	pid=$!
	sleep 0.3
	kill -$sig $pid
	wait $pid; rc=$?
	check "SIG$sig while writing: the writer dies of it ($rc)" test "$rc" -gt 128
	check "SIG$sig while writing: nothing left behind" test -z "$(ls -A "$WORK/outdir")"
done
finish
