#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every kind of input shows the same tree: compressions detected by content
# whatever the file is called, an extracted checkpoint directory, and a bare
# CRIU images directory (criu dump -D dir) with no container metadata.
. "$(dirname "$0")/lib.sh"
need tar xz bzip2 gzip zstd cmp

src=$FIXTURES/wl-gamma.tar
gold=$GOLDEN/wl-gamma

# same_views MNT DESC: the process views and images of MNT equal the goldens.
same_views() {
	local mnt=$1 desc=$2 bad=0
	for g in "$gold"/pretty/*.img.json; do
		b=$(basename "$g" .img.json)
		cmp -s "$g" "$mnt/images/$b.json" || bad=$((bad + 1))
	done
	check "$desc: images/*.json equal crit" test "$bad" -eq 0
	check "$desc: 1/cmdline" cmp -s <(printf '/usr/bin/workload\0gamma\0') "$mnt/1/cmdline"
	check "$desc: 1/task has 4 threads" test "$(ls "$mnt/1/task" | wc -l)" -eq 4
	check "$desc: checkpoint/pages-1.img byte-identical" cmp -s "$WORK/x/checkpoint/pages-1.img" "$mnt/checkpoint/pages-1.img"
}

mkdir -p "$WORK/x" && tar -xf "$src" -C "$WORK/x"
xz -T1 -c "$src" > "$WORK/xz-named.tar.gz"
bzip2 -c "$src" > "$WORK/bz2-named.tar"
gzip -c "$src" > "$WORK/gzip-named.zst"
zstd -q -c "$src" > "$WORK/zstd-named.tar.gz"
inputs="xz-named.tar.gz bz2-named.tar gzip-named.zst zstd-named.tar.gz"
# pzstd: several zstd frames behind a skippable frame; must not be taken for a plain tar
if command -v pzstd >/dev/null; then
	pzstd -q -p 2 -c "$src" > "$WORK/pzstd-multiframe.tar.zst"
	inputs="$inputs pzstd-multiframe.tar.zst"
fi
# Seekable: multi-block xz and zstd frames that declare their sizes are
# indexed without decoding the large members (pages-*.img), which are then
# decoded block by block on read.
xz -T2 --block-size=256KiB -c "$src" > "$WORK/xz-blocks.tar.xz"
split -b 300000 "$src" "$WORK/part." && for p in "$WORK"/part.*; do zstd -q -c "$p"; done > "$WORK/zstd-frames.tar.zst"
for p in "$WORK"/part.*; do zstd -q -c "$p" | wc -c; done > "$WORK/zstd-frames.sizes"	# compressed frame sizes
rm -f "$WORK"/part.*
seekable="xz-blocks.tar.xz zstd-frames.tar.zst"
inputs="$inputs $seekable"
for f in $inputs; do
	mnt=$WORK/m-$f
	if mount_ck "$WORK/$f" "$mnt"; then
		same_views "$mnt" "$f"
		bad=0
		for m in "$WORK"/x/checkpoint/*.img; do
			cmp -s "$m" "$mnt/checkpoint/${m##*/}" || bad=$((bad + 1))
		done
		check "$f: every checkpoint/*.img byte-identical" test "$bad" -eq 0
		umount_ck "$mnt"
	else
		fail "mount $f"
	fi
done
for f in $seekable; do
	mnt=$WORK/d-$f
	if mount_ck "$WORK/$f" "$mnt" -d; then
		check "$f: indexed by random access" grep -q 'arc: random access: ' "$mnt.log"
		check "$f: pages-1.img reads back" cmp -s "$WORK/x/checkpoint/pages-1.img" "$mnt/checkpoint/pages-1.img"
		umount_ck "$mnt"
	else
		fail "mount $f -d"
	fi
done
# Damage in a skipped member is found when it is read: that file fails with
# EIO and every other file reads right (a full pass would refuse the whole
# archive). The damage goes into a unit in the middle of pages-2.img.
for f in $seekable; do
	[ "$f" = xz-blocks.tar.xz ] && xz --robot --list -vv "$WORK/$f" > "$WORK/units"
	[ "$f" = zstd-frames.tar.zst ] && cp "$WORK/zstd-frames.sizes" "$WORK/units"
	python3 - "$src" "$WORK/$f" "$WORK/bad-$f" "$WORK/units" <<'PY'
import sys, tarfile
src, good, bad, units = sys.argv[1:]
with tarfile.open(src) as t:
    m = t.getmember('checkpoint/pages-2.img')
    d, e = m.offset_data, m.offset_data + m.size
spans = []	# (uncompressed offset, size, compressed offset, compressed size)
if good.endswith('.xz'):
    for l in open(units):
        c = l.split('\t')
        if c[0] == 'block':
            spans.append((int(c[5]), int(c[7]), int(c[4]) + int(c[11]), int(c[13])))
else:
    uo = co = 0
    for l in open(units):
        spans.append((uo, 300000, co, int(l)))
        uo += 300000; co += int(l)
inside = [s for s in spans if s[0] >= d and s[0] + s[1] <= e]
u = inside[len(inside) // 2]	# far from the headers around the member
b = bytearray(open(good, 'rb').read())
for i in range(u[2] + u[3] // 2, u[2] + u[3] // 2 + 8):
    b[i] ^= 0x55
open(bad, 'wb').write(b)
PY
	mnt=$WORK/b-$f
	if mount_ck "$WORK/bad-$f" "$mnt"; then
		eio=0 wrong=0
		for m in "$WORK"/x/checkpoint/*; do
			if cat "$mnt/checkpoint/${m##*/}" > "$WORK/got" 2>"$WORK/err"; then
				cmp -s "$m" "$WORK/got" || wrong=$((wrong + 1))
			elif grep -q 'Input/output error' "$WORK/err"; then
				eio=$((eio + 1))
			else
				wrong=$((wrong + 1))
			fi
		done
		check "damaged $f: pages-2.img fails with EIO, nothing else ($eio EIO), nothing reads wrong" \
			test "$wrong" -eq 0 -a "$eio" -eq 1
		! cat "$mnt/checkpoint/pages-2.img" >/dev/null 2>&1; check "damaged $f: pages-2.img is the one" test $? -eq 0
		check "damaged $f: 1/status still reads" grep -q '^Name:' "$mnt/1/status"
		umount_ck "$mnt"
	else
		fail "damaged $f: mount"
	fi
done

mnt=$WORK/m-dir
if mount_ck "$WORK/x" "$mnt"; then
	same_views "$mnt" "extracted directory"
	check "extracted directory: config.dump present" cmp -s "$WORK/x/config.dump" "$mnt/config.dump"
	umount_ck "$mnt"
else
	fail "mount an extracted checkpoint directory"
fi

mnt=$WORK/m-bare
if mount_ck "$WORK/x/checkpoint" "$mnt"; then
	check "bare images dir: 1/status" grep -qx 'Pid:	1' "$mnt/1/status"
	check "bare images dir: images/pstree.json" cmp -s "$gold/pretty/pstree.img.json" "$mnt/images/pstree.json"
	check "bare images dir: core-1.img at the top" cmp -s "$WORK/x/checkpoint/core-1.img" "$mnt/core-1.img"
	check "bare images dir: environ" sh -c "tr '\\0' '\\n' < '$mnt/1/environ' | grep -qx 'APP_SECRET=gamma-secret-9'"
	umount_ck "$mnt"
else
	fail "mount a bare images directory"
fi
finish
