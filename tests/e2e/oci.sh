#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checkpoints as container images. The fixture is turned into every image
# form here (mkoci.py, written from the OCI image-spec independently of
# ckptfs's writer): a layout directory with a gzip, zstd or plain layer, two
# layers with whiteouts, a nested index, an oci-archive, containerd's
# checkpoint index and a docker-archive. Each is mounted and compared file by
# file with the mount of the plain archive. Then the round trip: ckptfs
# --build-oci, checked by skopeo (and umoci when installed), copied by
# skopeo into an oci-archive, mounted again. Last the bad inputs: one line,
# exit 10/11, no mount, nothing left behind.
. "$(dirname "$0")/lib.sh"
need python3 tar cmp diff zstd gzip
MKOCI="python3 $(dirname "$0")/mkoci.py"

src=$FIXTURES/wl-gamma.tar
ref=$WORK/ref
mount_ck "$src" "$ref" || { fail "mount the plain archive"; finish; }

# listing MNT [SUBDIR]: every path with its type, size, mode and link target
listing() {
	(cd "$1/${2:-}" && find . -printf '%p %y %s %m %l\n' | grep -v '^\./container\.json ' | LC_ALL=C sort)
}

# same_tree MNT DESC [SUBDIR...]: MNT shows what the plain archive shows:
# the same names, kinds, sizes and modes, and the same bytes in every
# regular file where $FULL is set (the address spaces, /N/mem, excepted:
# they are sparse and terabytes long), else in the archive's own members,
# images/, /1/ and the top-level files; container.json the same apart from
# its oci_image section.
same_tree() {
	local mnt=$1 desc=$2; shift 2
	local dirs=("$@") bad=0 n=0 d f
	[ ${#dirs[@]} -eq 0 ] && dirs=(.)
	for d in "${dirs[@]}"; do
		if ! diff <(listing "$ref" "$d") <(listing "$mnt" "$d") >"$WORK/listing.diff"; then
			head -5 "$WORK/listing.diff"
			fail "$desc: $d lists the same entries"
			continue
		fi
		while IFS= read -r -d '' f; do
			# /stat's btime is the input file's mtime, which differs by design
			case $f in */mem | ./container.json | ./stat) continue ;; esac
			case $f in */core) [ -n "${FULL:-}" ] || continue ;; esac
			# the process views derive from checkpoint/: compared in full once
			if [ -z "${FULL:-}" ] && [ "$d" = . ]; then
				case $f in ./checkpoint/* | ./images/* | ./rootfs-diff/* | ./devshm/* | ./1/*) ;;
				./*/*) continue ;;
				esac
			fi
			n=$((n + 1))
			cmp -s "$ref/$d/$f" "$mnt/$d/$f" || { bad=$((bad + 1)); echo "differs: $d/$f"; }
		done < <(cd "$ref/$d" && find . -type f -print0)
	done
	check "$desc: $n files byte-identical to the plain archive's" test "$bad" -eq 0 -a "$n" -gt 0
}

# json_without_image MNT: container.json minus its oci_image section
json_without_image() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("oci_image",None); print(json.dumps(d,sort_keys=True))' "$1/container.json"
}
# image_field MNT KEY: a field of container.json's oci_image section
image_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["oci_image"].get(sys.argv[2],""))' "$1/container.json" "$2"
}

# mount_same IMAGE DESC [SUBDIR...]: mount, compare, unmount
mount_same() {
	local img=$1 desc=$2 mnt=$WORK/m-$2; shift 2
	# shellcheck disable=SC2086
	if ! mount_ck "$img" "$mnt" ${MOPT:-}; then
		fail "$desc: mounts"
		return 1
	fi
	same_tree "$mnt" "$desc" "$@"
	if [ $# -eq 0 ]; then
		check "$desc: container.json the same apart from oci_image" \
			test "$(json_without_image "$mnt")" = "$(json_without_image "$ref")"
	fi
	LAST=$mnt
}

ANN=io.kubernetes.cri-o.annotations.checkpoint.name=wl-gamma

# --- the image forms, built by the test ---
$MKOCI layout "$src" "$WORK/gzip" --comp gzip --ref wl:gz --ann "$ANN" || fail "mkoci gzip"
FULL=1 mount_same "$WORK/gzip" layout-gzip && {
	check "layout-gzip: oci_image names the reference" test "$(image_field "$LAST" reference)" = wl:gz
	check "layout-gzip: oci_image has the manifest digest" \
		test "$(image_field "$LAST" manifest_digest)" = \
		"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$WORK/gzip/index.json")"
	check "layout-gzip: oci_image carries the annotation" grep -q '"io.kubernetes.cri-o.annotations.checkpoint.name": "wl-gamma"' "$LAST/container.json"
	umount_ck "$LAST"
}

$MKOCI layout "$src" "$WORK/zstd" --comp zstd --ann org.criu.checkpoint.container.name=wl-gamma || fail "mkoci zstd"
mount_same "$WORK/zstd" layout-zstd && umount_ck "$LAST"

# two layers: the upper one removes files of the lower and replaces two
$MKOCI layout "$src" "$WORK/split" --comp zstd --split --ann "$ANN" || fail "mkoci split"
mount_same "$WORK/split" two-layers && {
	check "two-layers: the whiteouts hide junk/ and checkpoint/junk.img" \
		test ! -e "$LAST/junk" -a ! -e "$LAST/checkpoint/junk.img" -a ! -e "$LAST/.wh.junk"
	check "two-layers: oci_image counts 2 layers" test "$(image_field "$LAST" layers)" = 2
	umount_ck "$LAST"
}

# plain layer behind a nested index: read in place
$MKOCI layout "$src" "$WORK/plain" --comp none --nested --ref wl:plain --ann "$ANN" || fail "mkoci plain"
FULL=1 mount_same "$WORK/plain" nested-plain && umount_ck "$LAST"

# oci-archive: the gzip layout as a tar
tar -C "$WORK/gzip" -cf "$WORK/gzip.oci.tar" . || fail "tar the layout"
mount_same "$WORK/gzip.oci.tar" oci-archive && {
	check "oci-archive: format is oci-archive" test "$(image_field "$LAST" format)" = oci-archive
	umount_ck "$LAST"
}

# containerd: criu.tar as checkpoint/, the rw layer as rootfs-diff, the spec from the config proto
$MKOCI ctrd "$src" "$WORK/ctrd" || fail "mkoci ctrd"
mount_same "$WORK/ctrd" containerd checkpoint images 1 rootfs-diff && {
	check "containerd: spec.dump is the spec inside the config blob" cmp -s "$ref/spec.dump" "$LAST/spec.dump"
	check "containerd: container.json marks a containerd checkpoint" \
		test "$(image_field "$LAST" containerd_checkpoint)" = True
	umount_ck "$LAST"
}

$MKOCI docker "$src" "$WORK/docker.tar" || fail "mkoci docker"
mount_same "$WORK/docker.tar" docker-archive && umount_ck "$LAST"

# --- --build-oci, and real clients on what it wrote ---
digest=$("$CKPTFS" --build-oci "$src" "$WORK/built" --ref wl:built --annotation test.key=v1)
check "--build-oci writes a layout and prints its manifest digest" test -f "$WORK/built/index.json" -a "${digest#sha256:}" != "$digest"
man="$WORK/built/blobs/sha256/${digest#sha256:}"
check "built manifest has both runtimes' annotations and the user's" \
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["annotations"]
assert a["io.kubernetes.cri-o.annotations.checkpoint.name"] == "wl-gamma"
assert a["org.criu.checkpoint.container.name"] == "wl-gamma"
assert a["org.criu.checkpoint.rootfsImageName"] == "localhost/ckpt-workload:1"
assert a["org.criu.checkpoint.runtime.name"] == "runc" and a["test.key"] == "v1"' "$man"
mount_same "$WORK/built" built-layout && umount_ck "$LAST"
# containerd takes an image for a checkpoint when the blob its image record
# points at carries org.criu.checkpoint.container.name: `ctr import` points
# at each manifest of index.json, `ctr import --index-name` at the index
# itself; both forms, read as containerd reads them (blob by digest)
cat >"$WORK/ctrd-target.py" <<'EOF2'
import io, json, sys, tarfile
path, key = sys.argv[1], "org.criu.checkpoint.container.name"
if path.endswith(".tar"):
    t = tarfile.open(path)
    get = lambda n: t.extractfile(n).read()
else:
    get = lambda n: open(path + "/" + n, "rb").read()
index = json.loads(get("index.json"))
assert index["annotations"][key] == "wl-gamma", "the index (--index-name) lacks " + key
for d in index["manifests"]:
    assert d["annotations"][key] == "wl-gamma", "the index's manifest descriptor lacks " + key
    blob = json.loads(get("blobs/sha256/" + d["digest"].split(":")[1]))
    assert blob["annotations"][key] == "wl-gamma", "the manifest lacks " + key
EOF2
"$CKPTFS" --build-oci --compress zstd "$src" "$WORK/built-zstd.tar" >/dev/null
check "--build-oci DEST.tar writes an oci-archive" tar -tf "$WORK/built-zstd.tar" index.json oci-layout
for b in built built-zstd.tar; do
	check "--build-oci $b: index, its descriptor and the manifest all name the checkpoint (as containerd reads them)" \
		python3 "$WORK/ctrd-target.py" "$WORK/$b"
done
mount_same "$WORK/built-zstd.tar" built-archive-zstd && umount_ck "$LAST"
# an image rebuilt from an image
"$CKPTFS" --build-oci "$WORK/gzip.oci.tar" "$WORK/rebuilt" >/dev/null
mount_same "$WORK/rebuilt" rebuilt-from-image && umount_ck "$LAST"

if command -v skopeo >/dev/null; then
	check "skopeo inspect oci:built" sh -c "skopeo inspect 'oci:$WORK/built' >'$WORK/inspect.json'"
	check "skopeo sees the layer and the digest" python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); assert d["Digest"] == sys.argv[2] and len(d["Layers"]) == 1' "$WORK/inspect.json" "$digest"
	check "skopeo inspect oci-archive:built-zstd.tar" sh -c "skopeo inspect 'oci-archive:$WORK/built-zstd.tar' >/dev/null"
	check "skopeo copy oci:built oci-archive:copied.tar" \
		sh -c "skopeo copy -q 'oci:$WORK/built' 'oci-archive:$WORK/copied.tar' 2>&1"
	mount_same "$WORK/copied.tar" skopeo-copied && umount_ck "$LAST"
	# what a registry holds after a push: the manifest alone, annotations kept
	check "skopeo copy oci:built dir: keeps the manifest's checkpoint annotations" \
		sh -c "skopeo copy -q 'oci:$WORK/built' 'dir:$WORK/pushed' >/dev/null 2>&1 &&
		       jq -e '.annotations[\"org.criu.checkpoint.container.name\"] == \"wl-gamma\"' '$WORK/pushed/manifest.json' >/dev/null"
else
	echo "# skopeo not installed: skipping its checks"
fi
if command -v umoci >/dev/null; then
	check "umoci stat reads the built image" sh -c "umoci stat --image '$WORK/built:wl:built' >/dev/null"
fi

# --- bad inputs ---
# bad DESC WANT_RC PATTERN IMAGE [OPTIONS]: mounting fails with WANT_RC and one line matching PATTERN
bad() {
	local desc=$1 want=$2 pat=$3 img=$4 mnt=$WORK/bad; shift 4
	mkdir -p "$mnt"
	timeout 60 "$CKPTFS" "$@" "$img" "$mnt" 2>"$WORK/err"
	local rc=$?
	if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -qE "$pat" "$WORK/err" && ! mountpoint -q "$mnt"; then
		ok "$desc: exit $want, one line"
	else
		fail "$desc: exit $rc (want $want): $(cat "$WORK/err")"
		mountpoint -q "$mnt" && fusermount3 -u "$mnt"
	fi
}
cp -r "$WORK/gzip" "$WORK/b1" && rm "$WORK/b1/index.json"
bad "missing index.json" 10 'without its index.json' "$WORK/b1"
cp -r "$WORK/gzip" "$WORK/b2" && echo '{"manifests": [' >"$WORK/b2/index.json"
bad "corrupt index.json" 10 'index.json: not valid JSON' "$WORK/b2"
cp -r "$WORK/gzip" "$WORK/b3"
layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"][7:])' \
	"$WORK/b3/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$WORK/b3/index.json")")
printf 'X' | dd of="$WORK/b3/blobs/sha256/$layer" bs=1 seek=100 conv=notrunc status=none
bad "a blob with the wrong digest" 10 "blobs/sha256/$layer does not match its digest" "$WORK/b3"
cp -r "$WORK/gzip" "$WORK/b4" && python3 - "$WORK/b4/index.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); d["manifests"][0]["size"] += 1; json.dump(d, open(sys.argv[1], "w"))
EOF
bad "a descriptor with the wrong size" 10 'has [0-9]+ bytes, its descriptor says' "$WORK/b4"
cp -r "$WORK/gzip" "$WORK/b5" && python3 - "$WORK/b5/index.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); d["manifests"][0]["digest"] = "sha256:../../../../etc/passwd"; json.dump(d, open(sys.argv[1], "w"))
EOF
bad "a manifest outside blobs/" 10 'does not name a blob inside blobs/' "$WORK/b5"
$MKOCI layout "$src" "$WORK/b6" --comp gzip --cut 2000 --ann "$ANN"
bad "a truncated layer" 10 'layer 1 of manifest .*truncated' "$WORK/b6"
$MKOCI layout "$src" "$WORK/b7" --comp gzip --media-type application/x-unknown-layer --ann "$ANN"
bad "an unknown media type" 10 "media type 'application/x-unknown-layer'" "$WORK/b7"
$MKOCI layout "$src" "$WORK/b8" --two --ref wl --ann "$ANN"
bad "two images, none chosen" 10 'choose one with -o image=REF: wl, other' "$WORK/b8"
bad "an image that is not a checkpoint" 11 "'other' is not a checkpoint" "$WORK/b8" -o image=other
MOPT="-o image=wl" mount_same "$WORK/b8" chosen-image && umount_ck "$LAST"

# --build-oci refuses and leaves nothing behind
mkdir -p "$WORK/out" && tar -C "$WORK/out" -cf "$WORK/notckpt.tar" . 2>/dev/null
"$CKPTFS" --build-oci "$WORK/notckpt.tar" "$WORK/out/img" 2>"$WORK/err"; rc=$?
check "--build-oci of a non-checkpoint: exit 11, nothing written" \
	test "$rc" -eq 11 -a "$(wc -l <"$WORK/err")" -eq 1 -a -z "$(ls -A "$WORK/out")"
# an image that is no checkpoint: the same exit 11, from the image reader
python3 -c 'import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    ti = tarfile.TarInfo("hello.txt"); ti.size = 6; t.addfile(ti, io.BytesIO(b"hello\n"))' "$WORK/hello.tar"
$MKOCI layout "$WORK/hello.tar" "$WORK/hello-img" --comp none --ref hello || fail "mkoci hello"
"$CKPTFS" --build-oci "$WORK/hello-img" "$WORK/out/img" 2>"$WORK/err"; rc=$?
check "--build-oci of an image that is no checkpoint: exit 11, one line, nothing written" \
	test "$rc" -eq 11 -a "$(wc -l <"$WORK/err")" -eq 1 -a -z "$(ls -A "$WORK/out")"
check "--build-oci of an image that is no checkpoint: the line says so" grep -q "'hello' is not a checkpoint" "$WORK/err"
"$CKPTFS" --build-oci "$src" "$WORK/built" 2>"$WORK/err"; rc=$?
check "--build-oci onto an existing DEST: exit 14, one line" test "$rc" -eq 14 -a "$(wc -l <"$WORK/err")" -eq 1
"$CKPTFS" --build-oci "$src" "$WORK/out/x" --compress lz4 2>"$WORK/err"; rc=$?
check "--build-oci --compress lz4: usage error" test "$rc" -eq 1 -a -z "$(ls -A "$WORK/out")"
"$CKPTFS" --build-oci "$src" "$WORK/nodir/x.tar" 2>"$WORK/err"; rc=$?
check "--build-oci into a missing directory: exit 14" test "$rc" -eq 14 -a ! -e "$WORK/nodir"

# Killed while writing: SIGTERM and SIGHUP leave nothing; SIGKILL leaves a
# layout's DEST.partial-XXXXXX, which the next --build-oci of that DEST
# removes (one line) while it keeps one that a live writer holds (locked)
# and a look-alike that is not a writer's (no mark).
big=$CKPTFS_DATA/real/rough-zeroheap.tar.zst
mkdir -p "$WORK/kill"
# started NAME: wait until the writer has made its partial directory (layouts)
started() { for _ in $(seq 100); do compgen -G "$WORK/kill/$1.partial-*" >/dev/null && return 0; sleep 0.1; done; return 1; }
for sig in TERM HUP KILL; do
	for form in img.tar img; do
		"$CKPTFS" --build-oci "$big" "$WORK/kill/$form" 2>/dev/null &
		pid=$!
		case $form in *.tar) sleep 1 ;; *) started "$form" || fail "no partial directory of $form" ;; esac
		kill -$sig $pid
		wait $pid; rc=$?
		left=$(ls -A "$WORK/kill")
		if [ $sig = KILL ] && [ $form = img ]; then
			check "--build-oci DEST, SIGKILL: only DEST.partial-XXXXXX is left ($left)" \
				sh -c "echo '$left' | grep -qx 'img.partial-......'"
		else
			check "--build-oci $form, SIG$sig: it dies of it ($rc), nothing left ($left)" test "$rc" -gt 128 -a -z "$left"
		fi
	done
done
stale=$(ls "$WORK/kill")
mkdir "$WORK/kill/img.partial-mine00" "$WORK/kill/img.partial-held00"
: >"$WORK/kill/img.partial-held00/.ckptfs-partial"
exec {held}<"$WORK/kill/img.partial-held00"
flock -x $held
"$CKPTFS" --build-oci "$src" "$WORK/kill/img" >/dev/null 2>"$WORK/err"; rc=$?
check "the next --build-oci of that DEST succeeds ($rc)" test "$rc" -eq 0 -a -f "$WORK/kill/img/index.json"
check "  and removes the killed writer's $stale, saying so in one line" \
	sh -c "[ ! -e '$WORK/kill/$stale' ] && [ \$(wc -l <'$WORK/err') -eq 1 ] && grep -q '$stale: removed' '$WORK/err'"
check "  but not a partial directory a live writer holds, nor one without the mark" \
	test -d "$WORK/kill/img.partial-held00" -a -d "$WORK/kill/img.partial-mine00"
check "  and the image holds no mark" test ! -e "$WORK/kill/img/.ckptfs-partial"
exec {held}<&-

umount_ck "$ref"
finish
