#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# zstd:chunked layers, made for real: each fixture goes through ckptfs
# --build-oci, then `skopeo copy --dest-compress-format zstd:chunked` into
# another layout. ckptfs reads that layer through its table of contents
# (TOC): every regular file and symlink of the original tar is compared
# with the mount, the names, sizes and modes with the original's mount; the /proc views with those of the original's
# mount; strace shows that reading the largest member writes nothing to
# the spill (-o cache_dir). Then bad TOCs (mkchunked.py): a checksum that
# is not the TOC's, a truncated TOC, frames past the blob, JSON cut short,
# chunks that do not add up: one line, exit 10; a corrupt frame: EIO on that member only, with one line.
. "$(dirname "$0")/lib.sh"
need python3 skopeo jq zstd strace cmp bc

listing() { (cd "$1" && find . -printf '%p %y %s %m %l\n' | grep -v -e '^\./container\.json ' -e '^\./stat ' | LC_ALL=C sort); }
hashes() { (cd "$1" && find . -type f ! -name mem ! -name stat ! -name container.json -print0 | sort -z | xargs -0 sha256sum); }

# compare.py TAR MNT: every member of TAR as MNT shows it (bytes, link
# targets, kinds; modes as the mount shows them are compared with the
# original's mount).
cat >"$WORK/compare.py" <<'EOF'
import os, stat, sys, tarfile
tar, mnt = sys.argv[1], sys.argv[2]
n = bad = 0
with tarfile.open(tar) as t:
    for m in t.getmembers():
        p = os.path.join(mnt, m.name.lstrip("./"))
        n += 1
        try:
            st = os.lstat(p)
            if m.isreg():
                ok = open(p, "rb").read() == t.extractfile(m).read()
            elif m.issym():
                ok = os.readlink(p) == m.linkname
            elif m.isdir():
                ok = stat.S_ISDIR(st.st_mode)
            else:
                ok = True
        except OSError as e:
            ok = False
        if not ok:
            bad += 1
            print("differs:", m.name)
print(n, "members,", bad, "differ")
sys.exit(1 if bad or not n else 0)
EOF

for f in wl-alpha.tar.zst wl-gamma.tar busybox-loop.tar.gz; do
	name=${f%%.*} src=$WORK/$name-src dst=$WORK/$name
	# by content: busybox-loop.tar.gz is zstd
	case $(head -c4 "$FIXTURES/$f" | od -An -tx1 | tr -d ' ') in
	28b52ffd) zstd -dcq "$FIXTURES/$f" >"$WORK/$name.tar" ;;
	1f8b*) gzip -dc "$FIXTURES/$f" >"$WORK/$name.tar" ;;
	*) cp "$FIXTURES/$f" "$WORK/$name.tar" ;;
	esac
	check "$name: --build-oci" "$CKPTFS" --build-oci --ref ck:1 "$FIXTURES/$f" "$src"
	check "$name: skopeo copies it as zstd:chunked" \
		skopeo copy -q --dest-compress-format zstd:chunked "oci:$src:ck:1" "oci:$dst:ck:1"
	man=$dst/blobs/sha256/$(jq -r '.manifests[0].digest' "$dst/index.json" | cut -d: -f2)
	check "$name: its layer descriptor places a TOC" \
		jq -e '.layers[0].annotations | keys | any(test("zstd-chunked.manifest-position"))' "$man"
	mount_ck "$dst" "$WORK/m-$name" -d || { fail "$name: mount"; continue; }
	check "$name: the layer is read through its TOC" grep -q 'zstd:chunked layer' "$WORK/m-$name.log"
	check "$name: every member of the original tar, as the mount shows it" \
		python3 "$WORK/compare.py" "$WORK/$name.tar" "$WORK/m-$name"
	mount_ck "$FIXTURES/$f" "$WORK/o-$name" || { fail "$name: mount the original"; continue; }
	check "$name: the same names, kinds, sizes and modes as the original's mount" \
		cmp <(listing "$WORK/m-$name") <(listing "$WORK/o-$name")
	check "$name: the process views read as the original's" \
		cmp <(hashes "$WORK/m-$name/1") <(hashes "$WORK/o-$name/1")
	umount_ck "$WORK/o-$name"
	umount_ck "$WORK/m-$name"
	big=$(python3 -c 'import sys,tarfile; print(max((m for m in tarfile.open(sys.argv[1]) if m.isreg()), key=lambda m: m.size).name)' "$WORK/$name.tar")
	mkdir -p "$WORK/cache"
	# LeakSanitizer cannot run under ptrace
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -y -e trace=write,pwrite64 -o "$WORK/strace.$name" \
		"$CKPTFS" --cat -o cache_dir="$WORK/cache" "$dst" "$big" >"$WORK/big.$name"
	check "$name: --cat $big exits 0" test $? -eq 0
	check "$name: $big reads as in the tar" cmp "$WORK/big.$name" <(tar -xOf "$WORK/$name.tar" "$big")
	# the layer spills nothing; the tars nested in the checkpoint
	# (rootfs-diff.tar, ...) are decoded into the spill to be indexed
	spilled=$(grep "$WORK/cache" "$WORK/strace.$name" | sed -n 's/.* = \([0-9]*\)$/\1/p' | paste -sd+ | bc)
	nested=$(python3 -c 'import sys,tarfile; print(sum(m.size for m in tarfile.open(sys.argv[1]) if m.isreg() and ".tar" in m.name))' "$WORK/$name.tar")
	check "$name: only the nested tars are spilled (${spilled:-0} bytes of $nested)" \
		test "${spilled:-0}" -le "$nested"
done

# the same layer in an oci-archive: read at its offset in the tar
skopeo copy -q "oci:$WORK/wl-alpha:ck:1" "oci-archive:$WORK/wl-alpha-archive.tar:ck:1" 2>/dev/null
check "oci-archive: skopeo copies the layout" test -s "$WORK/wl-alpha-archive.tar"
if mount_ck "$WORK/wl-alpha-archive.tar" "$WORK/m-archive" -d; then
	check "oci-archive: the layer is read through its TOC" grep -q 'zstd:chunked layer' "$WORK/m-archive.log"
	check "oci-archive: every member of the original tar, as the mount shows it" \
		python3 "$WORK/compare.py" "$WORK/wl-alpha.tar" "$WORK/m-archive"
	umount_ck "$WORK/m-archive"
else
	fail "oci-archive: mount"
fi

# bad TOCs, from the wl-alpha image
big=$(python3 "$(dirname "$0")/mkchunked.py" "$WORK/wl-alpha" "$WORK/bad") || fail "mkchunked.py"
for v in bad-checksum:sha256 truncated-toc:decompress past-blob:outside not-json:'not a JSON object' \
	bad-chunks:'do not add up'; do
	"$CKPTFS" --ls "$WORK/bad/${v%%:*}" >/dev/null 2>"$WORK/err"
	check "${v%%:*}: exit 10" test $? -eq 10
	check "${v%%:*}: one line naming the TOC and the problem" \
		sh -c "test \$(wc -l <'$WORK/err') -eq 1 && grep -q 'zstd:chunked table of contents: .*${v#*:}' '$WORK/err'"
done
"$CKPTFS" --cat "$WORK/bad/bad-frame" "$big" >/dev/null 2>"$WORK/err"
check "bad-frame: --cat $big fails" test $? -ne 0
check "bad-frame: the frame's sha256 or data is named" grep -q 'zstd:chunked' "$WORK/err"
check "bad-frame: pstree.img still reads" cmp <("$CKPTFS" --cat "$WORK/bad/bad-frame" checkpoint/pstree.img) \
	<(tar -xOf "$WORK/wl-alpha.tar" checkpoint/pstree.img)
if mount_ck "$WORK/bad/bad-frame" "$WORK/m-bad"; then
	check "bad-frame: reading $big on the mount is EIO" \
		sh -c "cat '$WORK/m-bad/$big' 2>&1 >/dev/null | grep -q 'Input/output error'"
	check "bad-frame: 1/status still reads" test -s "$WORK/m-bad/1/status"
	fusermount3 -u "$WORK/m-bad"
else
	fail "bad-frame: mount"
fi
finish
