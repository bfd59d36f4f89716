#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile container images (tests/e2e/mkocihostile.py, small versions; the
# large ones are in scripts/stress-bounds): each must give one line and a
# non-zero exit, or mount and show what was planted, never crash.
. "$(dirname "$0")/lib.sh"
need python3 tar
GEN="python3 $(dirname "$0")/mkocihostile.py"
src=$FIXTURES/wl-gamma.tar
asan=false
ldd "$CKPTFS" 2>/dev/null | grep -q libasan && asan=true
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# rss_under DESC MNT MIB: the daemon of MNT peaked under MIB MiB (not checked under ASan)
rss_under() {
	local var kib
	var="DAEMON_$(basename "$2" | tr -c 'A-Za-z0-9_\n' _)"
	kib=$(hwm_kib "${!var}")
	if $asan; then
		ok "$1: peak RSS $((kib / 1024)) MiB (not checked under ASan)"
	else
		check "$1: peak RSS $((kib / 1024)) MiB stays under $3 MiB" test "$kib" -lt $(($3 * 1024))
	fi
}

# mounted DESC IMAGE: mount IMAGE on $m (a new directory); fail DESC if it does not mount
mounted() {
	m=$WORK/m-$(basename "$2")
	mount_ck "$2" "$m" && return 0
	fail "$1: mounts"
	return 1
}

# on_top DESC MNT: the checkpoint's files are there, as in the archive
on_top() {
	check "$1: the checkpoint's pstree.img as in the archive" \
		bash -c "cmp -s '$2/checkpoint/pstree.img' <(tar -xOf '$src' checkpoint/pstree.img)"
}

# refused DESC WANT_RC PATTERN IMAGE [OPTIONS]: --ls and a mount both fail
# with WANT_RC and one line matching PATTERN
refused() {
	local desc=$1 want=$2 pat=$3 img=$4 mnt=$WORK/refused rc; shift 4
	timeout 120 "$CKPTFS" --ls "$@" "$img" / >/dev/null 2>"$WORK/err"; rc=$?
	if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -qE "$pat" "$WORK/err"; then
		ok "$desc: --ls exits $want with one line"
	else
		fail "$desc: --ls exit $rc (want $want): $(head -c 300 "$WORK/err")"
	fi
	mkdir -p "$mnt"
	timeout 120 "$CKPTFS" "$@" "$img" "$mnt" 2>"$WORK/err"; rc=$?
	if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -qE "$pat" "$WORK/err" && ! mountpoint -q "$mnt"; then
		ok "$desc: mount exits $want with one line"
	else
		fail "$desc: mount exit $rc (want $want): $(head -c 300 "$WORK/err")"
		mountpoint -q "$mnt" && fusermount3 -u "$mnt"
	fi
}

# item: RepoTags holding null and a number (a strcmp on NULL once)
$GEN tags "$src" "$WORK/tags.tar" || fail "mkocihostile tags"
refused "RepoTags [null, 3, ...], -o image=foo" 10 "no image tagged 'foo' in manifest.json" "$WORK/tags.tar" -o image=foo
refused "RepoTags [null, 3, ...], -o image=3" 10 "no image tagged '3'" "$WORK/tags.tar" -o image=3
check "RepoTags [null, 3, ...], -o image=wl:tagged: the string tag still names it" \
	sh -c "'$CKPTFS' --cat -o image=wl:tagged '$WORK/tags.tar' container.json | grep -q '\"reference\": \"wl:tagged\"'"
check "RepoTags [null, 3, ...]: mounts and lists the checkpoint" \
	sh -c "'$CKPTFS' --ls '$WORK/tags.tar' checkpoint | grep -q inventory.img"

# item: whiteouts that name no file would remove their own directory
$GEN whiteouts "$src" "$WORK/wh" || fail "mkocihostile whiteouts"
refused "whiteout '.wh.'" 10 "layer 2 of manifest sha256:[0-9a-f]{64}: whiteout '\\.wh\\.' names no file" "$WORK/wh"
refused "whiteout 'checkpoint/.wh.'" 10 "whiteout 'checkpoint/\\.wh\\.' names no file" "$WORK/wh-ckpt"
"$CKPTFS" --ls "$WORK/wh-ok" / >"$WORK/ls" 2>"$WORK/err"
check "whiteout '.wh.stats-dump': mounts, stats-dump gone, checkpoint/ and the rest there" \
	sh -c "! grep -qx stats-dump '$WORK/ls' && grep -qx checkpoint '$WORK/ls' && grep -qx config.dump '$WORK/ls' && test ! -s '$WORK/err'"
check "whiteout '.wh.stats-dump': checkpoint/inventory.img reads as in the archive" \
	bash -c "'$CKPTFS' --cat '$WORK/wh-ok' checkpoint/inventory.img | cmp -s - <(tar -xOf '$src' checkpoint/inventory.img)"

# item: a digest of valid hex followed by "\0x" (json-c keeps the whole string)
$GEN nuldigest "$src" "$WORK/nul" || fail "mkocihostile nuldigest"
refused "digest 'sha256:<hex>\\u0000x'" 10 "digest 'sha256:[0-9a-f]{64}' is followed by a NUL byte and more" "$WORK/nul"

# item: an index.json of 6 KB that lists one nested index 40 times, three
# levels deep: 2.56 million paths to one manifest, which is one image
$GEN fanout "$src" "$WORK/fan" 40 || fail "mkocihostile fanout"
check "fan-out 40^3: lists the checkpoint" sh -c "'$CKPTFS' --ls '$WORK/fan' checkpoint | grep -qx inventory.img"
refused "fan-out 40^3, -o image=nothere" 10 "^ckptfs: .*: no image named 'nothere' here \\(images: sha256:[0-9a-f]{64}\\)$" \
	"$WORK/fan" -o image=nothere
# many images: the message names 8 and counts them; past 1024 the walk stops
$GEN manyimages "$src" "$WORK/many" 500 || fail "mkocihostile manyimages 500"
refused "500 images, none chosen" 10 "501 images here, choose one with -o image=REF: wl:1, img0, .*img6, \\.\\.\\. \\(501 in all\\)$" "$WORK/many"
check "500 images: the message is one short line" test "$(wc -c <"$WORK/err")" -lt 1024
check "500 images, -o image=wl:1: the checkpoint" sh -c "'$CKPTFS' --ls -o image=wl:1 '$WORK/many' checkpoint | grep -qx inventory.img"
$GEN manyimages "$src" "$WORK/toomany" 1100 || fail "mkocihostile manyimages 1100"
refused "1101 images" 10 "index.json: its indexes lead to more than 1024 images, more than ckptfs reads" "$WORK/toomany" -o image=wl:1
# the same nested indexes under 300 names at each level: 180300 descriptors
$GEN fanrefs "$src" "$WORK/fanrefs" 300 || fail "mkocihostile fanrefs"
refused "fan-out 300^3 under 300 names" 10 "index.json: its indexes list more than 65536 descriptors, more than ckptfs reads" \
	"$WORK/fanrefs" -o image=r1

# item: 40 gzip layers that all name one blob of 15 members of 1 MiB: the
# blob is indexed once, and all layers draw on one member budget
$GEN sharedmem "$src" "$WORK/shm" 40 || fail "mkocihostile sharedmem"
tar -C "$WORK/shm" -cf "$WORK/shm.tar" . || fail "tar the layout"
for img in shm shm.tar; do
	if mounted "$img" "$WORK/$img"; then
		check "$img: every big/NN reads as 1 MiB of zeros" \
			sh -c "for f in '$m'/big/*; do head -c 1048576 /dev/zero | cmp -s - \"\$f\" || exit 1; done; test \$(ls '$m/big' | wc -l) -eq 15"
		check "$img: 41 layers" grep -q '"layers": 41' "$m/container.json"
		on_top "$img" "$m"
		rss_under "$img: 40 layers of 15 MiB in members" "$m" 64
		umount_ck "$m"
	fi
done

# item: 300 layers of one blob of 20 files (quadratic once: every file of a
# layer looked at every item of the layers below)
$GEN layers "$src" "$WORK/layers" 300 || fail "mkocihostile layers"
if mounted "300 layers" "$WORK/layers"; then
	check "300 layers: 301 counted, shared/0 and shared/1 hold their 10 files each" \
		sh -c "grep -q '\"layers\": 301' '$m/container.json' && test \$(ls '$m/shared/0' | wc -l) -eq 10 -a \$(ls '$m/shared/1' | wc -l) -eq 10"
	check "300 layers: shared/1/13.txt reads 13" sh -c "test \"\$(cat '$m/shared/1/13.txt')\" = 13"
	on_top "300 layers" "$m"
	umount_ck "$m"
fi
# the merge, from the top down, against a plain bottom-up application of
# random layers of files, directories, whiteouts and opaque directories
cat >"$WORK/ovcheck.py" <<'PY'
import hashlib, os, sys
mnt, expect = sys.argv[1], sys.argv[2]
got = ["ov d -"] if os.path.isdir(os.path.join(mnt, "ov")) else []
for d, dirs, files in os.walk(os.path.join(mnt, "ov")):
    for n in dirs + files:
        p = os.path.join(d, n)
        rel = os.path.relpath(p, mnt)
        got.append("%s d -" % rel if os.path.isdir(p) else
                   "%s f %s" % (rel, hashlib.sha256(open(p, "rb").read()).hexdigest()))
want = open(expect).read().splitlines()
if sorted(got) != sorted(want):
    sys.exit("got %s, want %s" % (sorted(got), sorted(want)))
PY
for seed in 4 9 15 24 40; do
	$GEN overlay "$src" "$WORK/ov$seed" "$seed" || fail "mkocihostile overlay $seed"
	if mounted "overlay $seed" "$WORK/ov$seed"; then
		check "overlay of $seed random layers: ov/ is what the layers make" python3 "$WORK/ovcheck.py" "$m" "$WORK/ov$seed.expect"
		umount_ck "$m"
	fi
done

# item: one gzip layer of 20000 empty files, and (not images) a plain tar
# of 2000 processes with images each and one whose rootfs-diff.tar holds
# 20000 files: the tree's build scanned the whole directory for each
# member, and every view's name for each member
$GEN empties "$src" "$WORK/empties" 20000 || fail "mkocihostile empties"
if mounted "20000 empty files" "$WORK/empties"; then
	check "20000 empty files: all listed, none with a byte" \
		sh -c "test \$(ls '$m/empty' | wc -l) -eq 20000 -a \$(find '$m/empty' -type f -size +0 | wc -l) -eq 0 -a -f '$m/empty/019999'"
	on_top "20000 empty files" "$m"
	umount_ck "$m"
fi
bb=$FIXTURES/busybox-loop.tar.gz
$GEN procimages "$bb" "$WORK/procs.tar" 2000 || fail "mkocihostile procimages"
if mounted "2000 processes with images" "$WORK/procs.tar"; then
	n_img=$(zstd -dcf "$bb" | tar -t | grep -c '^checkpoint/.')
	check "2000 processes with images: checkpoint/ holds the fixture's $n_img and 10000 more" \
		test "$(ls "$m/checkpoint" | wc -l)" -eq $((n_img + 10000))
	check "2000 processes with images: /1000 .. /2999 are there, /2999/status names pid 1's command" \
		sh -c "test \$(ls -d '$m'/[0-9]* | grep -c '/[12][0-9][0-9][0-9]\$') -eq 2000 && grep -q \"^Name:.\$(sed -n 's/^Name:.//p' '$m/1/status')\$\" '$m/2999/status'"
	umount_ck "$m"
fi
# the same for the trees of nested tars: a rootfs-diff.tar of 20000 files in one directory
$GEN rootfsfiles "$bb" "$WORK/rootfs.tar" 20000 || fail "mkocihostile rootfsfiles"
if mounted "rootfs-diff.tar of 20000 files" "$WORK/rootfs.tar"; then
	check "rootfs-diff.tar of 20000 files: /rootfs-diff/d lists them all, empty" \
		sh -c "test \$(ls '$m/rootfs-diff/d' | wc -l) -eq 20000 -a \$(find '$m/rootfs-diff/d' -type f -size +0 | wc -l) -eq 0 -a -f '$m/rootfs-diff/d/019999'"
	umount_ck "$m"
fi

finish
