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
for f in $inputs; do
	mnt=$WORK/m-$f
	if mount_ck "$WORK/$f" "$mnt"; then
		same_views "$mnt" "$f"
		umount_ck "$mnt"
	else
		fail "mount $f"
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
