#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ckptfs --diff on real CRIU 4.2 pairs (tests/data/real/, README there):
# every planted change of diff-t0 -> diff-t1 with its kind and fields, and
# nothing else but what the truth observed; the idle pair differs in the
# pages the runtime touched only; the pre-dump chain lists exactly the pages
# the child re-dumped with new bytes (read from the images), and reads no
# page the child keeps in its parent; memory events equal a page-by-page
# comparison of the mounted views; A vs A and identical copies print
# nothing and exit 0; inputs of every form (directory, OCI image, pod);
# secret environment values masked; bad input exits 2 with one line.
# (tests/e2e/diff.sh is `diff -r` of two mounts.)
. "$(dirname "$0")/lib.sh"
need python3 jq tar zstd strace
REAL=$CKPTFS_DATA/real
HERE=$(dirname "$0")
t0=$REAL/diff-t0.tar.zst t1=$REAL/diff-t1.tar.zst idle=$REAL/diff-t0-idle.tar.zst
parent=$REAL/predump-parent.tar.zst child=$REAL/predump-child.tar.zst

# d NAME ARGS...: ckptfs --diff ARGS > $WORK/NAME.out, 2> $WORK/NAME.err; exit status in $rc
d() {
	local n=$1; shift
	"$CKPTFS" --diff "$@" >"$WORK/$n.out" 2>"$WORK/$n.err"
	rc=$?
}
# tap CMD...: the ok / not ok lines of a diff-check.py command as checks
tap() {
	local l
	while IFS= read -r l; do
		case $l in
		"ok - "*) ok "${l#ok - }" ;;
		"not ok - "*) fail "${l#not ok - }" ;;
		*) echo "# $l" ;;
		esac
	done < <(python3 "$HERE/diff-check.py" "$@" 2>&1)
}
lines() { wc -l <"$1"; }

# ---- diff-t0 -> diff-t1: the planted changes ----
d t1 --json --bytes "$t0" "$t1"
check "t0 -> t1 exits 1 (differences), not $rc" test "$rc" -eq 1
check "t0 -> t1 says nothing on stderr" test ! -s "$WORK/t1.err"
tap truth "$REAL/diff-t1.truth.json" "$REAL/diff-t0.truth.json" "$WORK/t1.out" "$t0" "$t1"
tap mem "$WORK/t1.out" "$t0" "$t1" 1
jq -e -s 'map(select(.kind == "process-changed")) | length == 1' "$WORK/t1.out" >/dev/null
check "t0 -> t1: the cwd is the one process value that changed" test $? -eq 0

# text: grouped by process, then files, then container.json; one line an event
d t1txt "$t0" "$t1"
grep -v '^ ' "$WORK/t1txt.out" >"$WORK/headings"
printf '%s\n' "process 1 (ckpt-differ)" "process 2 (differ-child)" files container.json >"$WORK/want"
check "text headings: process 1, process 2, files, container.json" cmp -s "$WORK/headings" "$WORK/want"
d t1plain --json "$t0" "$t1"
check "text: one line per event ($(grep -c '^  ' "$WORK/t1txt.out") and $(lines "$WORK/t1plain.out"))" \
	test "$(grep -c '^  ' "$WORK/t1txt.out")" -eq "$(lines "$WORK/t1plain.out")"
check "text: thread-added line" grep -qx '  thread-added tid=3 name=differ-worker' "$WORK/t1txt.out"
check "text: cwd change" grep -qx '  process-changed cwd: /tmp/ckpt-real/diff/a -> /tmp/ckpt-real/diff/b' "$WORK/t1txt.out"
d t1bytes --bytes "$t0" "$t1"
check "--bytes: the hex/ASCII lines of both sides" \
	sh -c "grep -q '^    - 0000600000000100 .*|BEFORE-CHANGE-00|' '$WORK/t1bytes.out' &&
	       grep -q '^    + 0000600000000100 .*|AFTER--CHANGE-00|' '$WORK/t1bytes.out'"

# the same pair as other forms of input: an extracted directory, an OCI image
mkdir -p "$WORK/t1dir" && tar --zstd -xf "$t1" -C "$WORK/t1dir"
d t1dir --json "$t0" "$WORK/t1dir"
check "t0 -> t1 as a directory: the same events" cmp -s "$WORK/t1plain.out" "$WORK/t1dir.out"
if "$CKPTFS" --build-oci "$t1" "$WORK/t1oci" >/dev/null 2>&1; then
	d t1oci --json "$t0" "$WORK/t1oci"
	jq -c 'select(.kind != "container-changed" or (.key | startswith(".oci_image") | not))' \
		"$WORK/t1oci.out" >"$WORK/t1oci.rest"
	check "t0 -> t1 as an OCI image: the same events, and oci_image added (rc $rc)" \
		sh -c "cmp -s '$WORK/t1plain.out' '$WORK/t1oci.rest' &&
		       jq -e -s 'map(select(.key == \".oci_image.format\" and .from == null)) | length == 1' \
		       '$WORK/t1oci.out' >/dev/null"
else
	fail "ckptfs --build-oci of diff-t1"
fi

# ---- the idle pair ----
# The material's engine files carry the time each archive was packed; a
# container keeps its creation time, so B gets A's config.dump and spec.dump.
mkdir -p "$WORK/idle" && tar --zstd -xf "$idle" -C "$WORK/idle"
for f in config.dump spec.dump; do "$CKPTFS" --cat "$t0" "$f" >"$WORK/idle/$f"; done
d idle --json --bytes "$t0" "$WORK/idle"
jq -r '.observed["1"].pages_changed[]' "$REAL/diff-t0-idle.truth.json" | sort >"$WORK/idle.truth"
want=0 && [ -s "$WORK/idle.truth" ] && want=1
check "idle pair exits $want (1 when the runtime touched a page: $(wc -l <"$WORK/idle.truth") observed), not $rc" \
	test "$rc" -eq "$want"
check "idle pair says nothing on stderr" test ! -s "$WORK/idle.err"
tap kinds "$WORK/idle.out" memory-changed
tap mem "$WORK/idle.out" "$t0" "$WORK/idle" 1
jq -r 'select(.kind == "memory-changed") | .start' "$WORK/idle.out" | sort >"$WORK/idle.pages"
check "idle pair: the pages the truth observed ($(tr '\n' ' ' <"$WORK/idle.truth"))" \
	cmp -s "$WORK/idle.pages" "$WORK/idle.truth"
# as packed: container.json's creation time differs, and only that
d idlec --json "$t0" "$idle"
jq -c 'select(.kind == "container-changed") | [.key, .from, .to]' "$WORK/idlec.out" >"$WORK/idlec.got"
for ck in "$t0" "$idle"; do "$CKPTFS" --cat "$ck" container.json >"$WORK/cj.$(basename "$ck")"; done
jq -n -c --slurpfile a "$WORK/cj.diff-t0.tar.zst" --slurpfile b "$WORK/cj.diff-t0-idle.tar.zst" \
	'[".created", $a[0].created, $b[0].created],
	 [".metadata.annotations[\"io.kubernetes.cri-o.Created\"]",
	  $a[0].metadata.annotations["io.kubernetes.cri-o.Created"], $b[0].metadata.annotations["io.kubernetes.cri-o.Created"]]' \
	>"$WORK/idlec.want"
check "container-changed: key, from and to as each container.json says" cmp -s "$WORK/idlec.got" "$WORK/idlec.want"

# ---- the pre-dump chain ----
d chain --json "$parent" "$child"
check "parent -> child exits 1, not $rc" test "$rc" -eq 1
check "parent -> child: the child's parent is found (nothing on stderr)" test ! -s "$WORK/chain.err"
tap chain "$WORK/chain.out" "$parent" "$child"
tap kinds "$WORK/chain.out" memory-changed container-changed
check "parent -> child: the planted GEN-1 pages are there" \
	jq -e -s --slurpfile t "$REAL/predump-child.truth.json" \
	'[.[] | select(.kind == "memory-changed")] as $ev | $t[0].child_holds_in_region
	 | all(. as $a | $ev | any(($a | ltrimstr("0x") | length) == (.start | ltrimstr("0x") | length) and
				    .start <= $a and $a < .end))' "$WORK/chain.out"
# pages kept in the parent are not read twice: on directories, each member a
# file of its own, the parent's pages image is read only where the child
# re-dumped a page
mkdir -p "$WORK/p" "$WORK/c" && tar --zstd -xf "$parent" -C "$WORK/p" && tar --zstd -xf "$child" -C "$WORK/c"
strace -f -y -e trace=pread64 -o "$WORK/strace" "$CKPTFS" --diff --json "$WORK/p" "$WORK/c" >"$WORK/chaindir.out" \
	2>"$WORK/chaindir.err"
check "parent -> child as directories: the same events" cmp -s "$WORK/chain.out" "$WORK/chaindir.out"
tap chain-reads "$WORK/strace" "$WORK/p/pre-checkpoint/pages-1.img" "$parent" "$child"
d chaino --json -o "parent=$parent" "$parent" "$child"
check "-o parent= names the child's parent, not the parent's: the same events (rc $rc)" \
	sh -c "cmp -s '$WORK/chain.out' '$WORK/chaino.out' && [ ! -s '$WORK/chaino.err' ]"
# the other way round, and with a wrong parent
d chainrev --json "$child" "$parent"
check "child -> parent: the same pages (rc $rc)" \
	sh -c "jq -r 'select(.kind == \"memory-changed\") | .start' '$WORK/chain.out' >'$WORK/a' &&
	       jq -r 'select(.kind == \"memory-changed\") | .start' '$WORK/chainrev.out' >'$WORK/b' && cmp -s '$WORK/a' '$WORK/b'"
# diff-t0's pid 1 is another program: its pages are not the child's
d wrong --json "$t0" "$child"
check "a wrong parent is not taken: exit 2, not $rc" test "$rc" -eq 2
check "a wrong parent: one line says that it does not fit, and why" \
	sh -c "[ \$(wc -l <'$WORK/wrong.err') -eq 1 ] && grep -q 'does not fit: pid 1 keeps' '$WORK/wrong.err'"

# scripts/mkincremental: wl-gamma's pid 1 dealt over a child and its parent,
# directories on disk linked by `parent`; the parent does not hold the pages
# the child holds, so none is dumped in both
mkdir -p "$WORK/gam" && tar -xf "$FIXTURES/wl-gamma.tar" -C "$WORK/gam" &&
	python3 "$HERE/../../scripts/mkincremental" "$WORK/gam/checkpoint" 1 "$WORK/inc" >/dev/null || fail "mkincremental"
d inc "$WORK/gam/checkpoint" "$WORK/inc/child"
check "the split chain, read through its parent link, equals the checkpoint it was split from (rc $rc)" \
	sh -c "[ $rc -eq 0 ] && [ ! -s '$WORK/inc.out' ] && [ ! -s '$WORK/inc.err' ]"
strace -f -y -e trace=pread64 -o "$WORK/strace.inc" "$CKPTFS" --diff --json "$WORK/inc/parent" "$WORK/inc/child" \
	>"$WORK/inc2.out" 2>"$WORK/inc2.err"
tap mem "$WORK/inc2.out" "$WORK/inc/parent" "$WORK/inc/child" 1
id=$("$CKPTFS" --cat "$WORK/inc/parent" images/pagemap-1.json | jq .entries[0].pages_id)
tap page-reads "$WORK/strace.inc" "$WORK/inc/parent/pages-$id.img" 0

# ---- the same checkpoint twice ----
cp "$t0" "$WORK/copy.tar.zst"
for pair in "$t0 $t0" "$t0 $WORK/copy.tar.zst" "$FIXTURES/wl-gamma.tar $FIXTURES/wl-gamma.tar" \
	"$FIXTURES/wl-alpha.tar.zst $FIXTURES/wl-alpha.tar.zst" "$WORK/t1dir $t1" "$parent $parent"; do
	# shellcheck disable=SC2086
	d same $pair
	check "A vs A: exit 0 and no output ($(basename ${pair% *}) $(basename ${pair#* }), rc $rc)" \
		sh -c "[ $rc -eq 0 ] && [ ! -s '$WORK/same.out' ] && [ ! -s '$WORK/same.err' ]"
done
d same --json --bytes "$t1" "$t1"
check "A vs A --json --bytes: exit 0 and no output" sh -c "[ $rc -eq 0 ] && [ ! -s '$WORK/same.out' ]"

# ---- secrets in the environment are masked ----
d env --json "$FIXTURES/wl-alpha.tar.zst" "$FIXTURES/wl-beta.tar.gz"
check "wl-alpha -> wl-beta: APP_SECRET changed, its values masked" \
	jq -e -s 'map(select(.kind == "process-changed" and .pid == 1 and .field == "environ" and .name == "APP_SECRET"
		and .from == "s3cr... (17 bytes)" and .to == "beta... (16 bytes)")) | length == 1' "$WORK/env.out"
check "wl-alpha -> wl-beta: DB_PASSWORD removed, masked" \
	jq -e -s 'map(select(.pid == 1 and .field == "environ" and .name == "DB_PASSWORD" and .to == null and
		(.from | endswith(" bytes)")))) | length == 1' "$WORK/env.out"
check "no secret value in the output" sh -c "! grep -q 's3cr3t-alpha-7731' '$WORK/env.out'"
check "wl-alpha -> wl-beta: the listening TCP socket is another one (inodes)" \
	jq -e -s 'map(select(.kind == "socket-removed" and .proto == "tcp" and .state == "LISTEN" and
		.local == "127.0.0.1:8080")) | length == 1' "$WORK/env.out"

# ---- pods: containers paired by name ----
python3 "$HERE/../../scripts/mkpod" "$WORK/pod1.tar" gamma="$t0" busybox="$FIXTURES/busybox-loop.tar.gz" &&
	python3 "$HERE/../../scripts/mkpod" "$WORK/pod2.tar" gamma="$t1" busybox="$FIXTURES/busybox-loop.tar.gz" \
		extra="$FIXTURES/wl-gamma.tar" || fail "scripts/mkpod"
d pod --json "$WORK/pod1.tar" "$WORK/pod2.tar"
jq -c 'select(.container == "gamma") | del(.container)' "$WORK/pod.out" >"$WORK/pod.gamma"
check "pod: container gamma shows what t0 -> t1 shows (rc $rc)" cmp -s "$WORK/t1plain.out" "$WORK/pod.gamma"
check "pod: nothing for busybox, the same in both" sh -c "! grep -q '\"container\":\"busybox\"' '$WORK/pod.out'"
check "pod: every process of the new container added" \
	jq -e -s --argjson n "$("$CKPTFS" --ls "$FIXTURES/wl-gamma.tar" / | grep -c '^[0-9]*$')" \
	'map(select(.container == "extra" and .kind == "process-added")) | length == $n' "$WORK/pod.out"
d podsame "$WORK/pod1.tar" "$WORK/pod1.tar"
check "pod vs itself: exit 0, no output" sh -c "[ $rc -eq 0 ] && [ ! -s '$WORK/podsame.out' ]"

# ---- a damaged image: what it holds is not compared, and said once ----
mkdir -p "$WORK/dmg" && tar --zstd -xf "$t0" -C "$WORK/dmg" && truncate -s 20 "$WORK/dmg/checkpoint/core-1.img"
d dmg "$t0" "$WORK/dmg"
check "core-1.img cut short: exit 2, no difference claimed, one line naming it (rc $rc)" \
	sh -c "[ $rc -eq 2 ] && [ ! -s '$WORK/dmg.out' ] && [ \$(wc -l <'$WORK/dmg.err') -eq 1 ] &&
	       grep -q 'dmg: pid 1: comm, state.* not compared' '$WORK/dmg.err'"

# ---- bad input: exit 2 and one line ----
printf 'not a checkpoint\n' >"$WORK/hostname" && tar -cf "$WORK/notckpt.tar" -C "$WORK" hostname
head -c 9000 "$t1" >"$WORK/cut.tar.zst"
while IFS='|' read -r args says; do
	# shellcheck disable=SC2086
	d bad $args
	check "bad input ($args): exit 2, one line saying '$says', no output (rc $rc)" \
		sh -c "[ $rc -eq 2 ] && [ \$(wc -l <'$WORK/bad.err') -eq 1 ] && grep -qF -- '$says' '$WORK/bad.err' &&
		       [ ! -s '$WORK/bad.out' ]"
done <<EOF
$WORK/missing.tar $t0|missing.tar
$t0 $WORK/notckpt.tar|notckpt.tar
$WORK/cut.tar.zst $t0|cut.tar.zst
$t0|two checkpoints
$t0 $t1 $t0|two checkpoints
--frob $t0 $t1|--frob
$WORK/pod1.tar $t0|pod1.tar
EOF
finish
