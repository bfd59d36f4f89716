#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A Kubernetes pod checkpoint (scripts/mkpod: wl-gamma and busybox-loop as
# two containers) mounts as /<container>/ with the whole single-container
# tree under each, rendered from that container's own images.
. "$(dirname "$0")/lib.sh"
need jq python3 tar cmp zstd
mkpod=$(dirname "$0")/../../scripts/mkpod
jqe() { jq -e "$@" >/dev/null; }

pod=$WORK/pod.tar
python3 "$mkpod" "$pod" gamma="$FIXTURES/wl-gamma.tar" busybox="$FIXTURES/busybox-loop.tar.gz" ||
	{ fail "scripts/mkpod"; finish; }
mnt=$WORK/pod
mount_ck "$pod" "$mnt" || { fail "mount the pod archive"; finish; }
check "the root holds the containers and the pod's files" \
	test "$(ls "$mnt" | tr '\n' ' ')" = "busybox gamma pod.dump pod.options "
check "pod.dump is the archive member" cmp <(tar -xOf "$pod" pod.dump) "$mnt/pod.dump"

for pair in gamma:wl-gamma busybox:busybox-loop; do
	c=${pair%%:*} gold=$GOLDEN/${pair#*:}
	d=$mnt/$c
	check "$c: images/pstree.json equals crit's" cmp "$gold/pretty/pstree.img.json" "$d/images/pstree.json"
	check "$c: 1/comm is its own init" test "$(cat "$d/1/comm")" = "$(jq -r '."1".comm' "$gold/proc.json")"
	check "$c: 1/cmdline is its own" cmp <(jq -r '."1".cmdline' "$gold/proc.json" | base64 -d) "$d/1/cmdline"
	check "$c: ps has its own pids" test "$(sed -E 's/^ *\[([0-9]+)\].*/\1/' "$d/ps" | tr '\n' ' ')" = \
		"$(tail -n +2 "$gold/x-ps.txt" | awk '{ printf "%s ", $1 }')"
	check "$c: container.json names its container" jqe --slurpfile cfg "$d/config.dump" \
		'.container_name == $cfg[0].name and .engine == "Podman"' "$d/container.json"
	check "$c: members are shown without the container prefix" cmp <(tar -xOf "$pod" "$c/spec.dump") "$d/spec.dump"
	p=$(tar -tf "$d/rootfs-diff.tar" | grep -m1 '^tmp/[a-z]*$\|^tmp/[a-z]*\.txt$')
	check "$c: rootfs-diff/$p equals tar -xO" cmp <(tar -xOf "$d/rootfs-diff.tar" "$p") "$d/rootfs-diff/$p"
done
check "inode numbers are unique over the pod" \
	test -z "$(find "$mnt" -printf '%i\n' | sort | uniq -d)"
umount_ck "$mnt"

# Containers named by numbers: listed and looked up in the same order
# (numbers first, numerically), so /10 is found next to /2.
num=$WORK/num.tar
python3 "$mkpod" "$num" 10="$FIXTURES/wl-gamma.tar" 2="$FIXTURES/busybox-loop.tar.gz" ||
	fail "scripts/mkpod, numbered containers"
mount_ck "$num" "$WORK/num" || { fail "mount a pod with numbered containers"; finish; }
check "numbered containers are listed numerically" \
	test "$(ls -f "$WORK/num" | grep -v '^\.' | tr '\n' ' ')" = "2 10 pod.dump pod.options "
for c in 2 10; do
	check "/$c is found through the mount" test -d "$WORK/num/$c/1"
	check "--ls finds /$c" "$CKPTFS" --ls "$num" "/$c/1"
done
umount_ck "$WORK/num"

# A single container packed in a directory is not a pod.
one=$WORK/one.tar
python3 "$mkpod" "$one" only="$FIXTURES/wl-gamma.tar" || fail "scripts/mkpod, one container"
mount_ck "$one" "$WORK/one" || { fail "mount a one-container archive"; finish; }
check "one container in a directory keeps the archive layout" test -f "$WORK/one/only/spec.dump" -a -d "$WORK/one/1"
umount_ck "$WORK/one"
finish
