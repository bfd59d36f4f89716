#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Rough edges of real checkpoints, continued (tests/data/real/, CRIU 4.2
# dumps). containerd's checkpoint index, made from rough-threads the way
# `ctr container checkpoint` lays it out (mkoci.py ctrd), has a
# container.json with what the index and its blobs carry (engine, name, id,
# image, runtime, annotations, oci_image), and its time comes from criu.tar
# (its stats-dump, else its newest image), never from the layout's files,
# however they were copied; /stat's btime agrees. A `cp -a` copy of a mount
# (the views' files are then members) mounts with one line saying so, and
# shows the same tree as the mount it was copied from.
. "$(dirname "$0")/lib.sh"
need python3 zstd jq diff cp
REAL=$CKPTFS_DATA/real
MKOCI="python3 $(dirname "$0")/mkoci.py"
has() { grep -qF -- "$1" <<<"$2"; }

zstd -dc "$REAL/rough-threads.tar.zst" >"$WORK/threads.tar" || fail "unpack rough-threads"

# What the real dump records: stats-dump's mtime and the newest image's
# (checkpoint/*), the seconds libarchive gives.
read -r t_stats t_images < <(python3 - "$WORK/threads.tar" <<'EOF'
import sys, tarfile
t = tarfile.open(sys.argv[1])
imgs = [int(m.mtime) for m in t.getmembers() if m.name.startswith("checkpoint/") and m.isfile()]
print(int(t.getmember("stats-dump").mtime), max(imgs))
EOF
)

# spec_ctrd IN OUT CGROUPS ANN_JSON: spec.dump as containerd's spec of a
# container: its own cgroupsPath and annotations instead of Podman's
spec_ctrd() {
	jq --arg cg "$3" --argjson ann "$4" '.linux.cgroupsPath = $cg | .annotations = $ann' "$1" >"$2"
}
tar -xOf "$WORK/threads.tar" spec.dump >"$WORK/podman-spec.json"

# btime MNT: /stat's btime; epoch TIME: RFC 3339 as seconds
btime() { awk '$1 == "btime" { print $2 }' "$1/stat"; }
epoch() { date -u -d "$1" +%s; }

# ---- 1. `ctr c checkpoint` of a container run by ctr: id from the cgroup path,
# stats-dump in criu.tar (CRIU's work directory was the images directory, so
# its log is there too, closed 2 s after stats-dump was written)
spec_ctrd "$WORK/podman-spec.json" "$WORK/spec-ctr.json" /default/threadsrv-7f3a '{"test.planted": "ctr-spec"}'
python3 - "$WORK/threads.tar" "$WORK/threads-log.tar" "$t_stats" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1]) as src, tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as out:
    for m in src.getmembers():
        out.addfile(m, src.extractfile(m) if m.isfile() else None)
    log = b"(00.230000) Dumping finished successfully\n"
    ti = tarfile.TarInfo("checkpoint/dump.log")
    ti.size, ti.mtime = len(log), int(sys.argv[3]) + 2
    out.addfile(ti, io.BytesIO(log))
EOF
$MKOCI ctrd "$WORK/threads-log.tar" "$WORK/ctr" --spec "$WORK/spec-ctr.json" --stats --image \
	--ref checkpoint/threadsrv:ckpt1 \
	--ann org.opencontainers.image.ref.name=docker.io/library/threadsrv:1.0 \
	--ann io.containerd.checkpoint.runtime=io.containerd.runc.v2 || fail "mkoci ctrd (ctr)"
# the layout as copied later: every file and the directory carry another day
find "$WORK/ctr" -exec touch -d '2030-01-02 03:04:05 UTC' {} +
copied=$(date -u -d '2030-01-02 03:04:05 UTC' +%s)
m=$WORK/m-ctr
if mount_ck "$WORK/ctr" "$m"; then
	cj=$m/container.json
	check "ctr: container.json is a JSON object" jq -e 'type == "object"' "$cj"
	check "ctr: engine containerd, name and id from cgroupsPath /default/threadsrv-7f3a" \
		jq -e '.engine == "containerd" and .container_name == "threadsrv-7f3a" and .id == "threadsrv-7f3a"' "$cj"
	check "ctr: image and runtime from the index's annotations" \
		jq -e '.image == "docker.io/library/threadsrv:1.0" and .runtime == "io.containerd.runc.v2"' "$cj"
	check "ctr: the spec's annotations in metadata" jq -e '.metadata.annotations["test.planted"] == "ctr-spec"' "$cj"
	check "ctr: oci_image: the checkpoint's reference, containerd's index and its annotations" \
		jq -e '.oci_image.reference == "checkpoint/threadsrv:ckpt1" and .oci_image.containerd_checkpoint == true
			and .oci_image.annotations["io.containerd.checkpoint.runtime"] == "io.containerd.runc.v2"
			and .oci_image.annotations["io.containerd.checkpoint.snapshotter"] == "overlayfs"' "$cj"
	bt=$(btime "$m")
	check "ctr: btime ($bt) is criu.tar's stats-dump's mtime ($t_stats), not dump.log's nor the copy's ($copied)" \
		test "$bt" = "$t_stats"
	check "ctr: container.json's checkpointed is btime" test "$(epoch "$(jq -r .checkpointed "$cj")")" = "$bt"
	check "ctr: statistics from criu.tar's stats-dump, as crit decodes it" \
		jq -e --slurpfile s "$m/stats-dump.json" '.statistics.pages_written == $s[0].entries[0].dump.pages_written
			and .statistics.pages_written > 0' "$cj"
	check "ctr: process_tree's init is the real dump's" \
		jq -e --arg c "$(cat "$m/1/comm")" '.process_tree.pid == 1 and .process_tree.command == $c' "$cj"
	umount_ck "$m"
fi

# ---- 2. containerd's CRI (Kubernetes): the name from its annotation, the id
# from a systemd cgroupsPath, no stats-dump: the time of the newest image
spec_ctrd "$WORK/podman-spec.json" "$WORK/spec-cri.json" \
	kubepods-besteffort-pod0c1d.slice:cri-containerd:4f1e2d3c4b5a \
	'{"io.kubernetes.cri.container-name": "threads", "io.kubernetes.cri.sandbox-name": "threads-pod",
	  "io.kubernetes.cri.sandbox-namespace": "forensics", "io.kubernetes.cri.container-type": "container"}'
$MKOCI ctrd "$WORK/threads.tar" "$WORK/cri" --spec "$WORK/spec-cri.json" --ref checkpoint/threads:cri \
	--ann org.opencontainers.image.ref.name=registry.example/threads:2 \
	--ann io.containerd.checkpoint.runtime=io.containerd.runc.v2 || fail "mkoci ctrd (cri)"
find "$WORK/cri" -exec touch -d '2030-01-02 03:04:05 UTC' {} +
m=$WORK/m-cri
if mount_ck "$WORK/cri" "$m"; then
	cj=$m/container.json
	check "cri: name, pod and namespace from the CRI annotations, id from the cgroup path" \
		jq -e '.engine == "containerd" and .container_name == "threads" and .id == "4f1e2d3c4b5a"
			and .metadata.pod_name == "threads-pod" and .metadata.kubernetes_namespace == "forensics"' "$cj"
	check "cri: image from the index" jq -e '.image == "registry.example/threads:2"' "$cj"
	bt=$(btime "$m")
	check "cri: no stats-dump: btime ($bt) is the newest image's mtime ($t_images)" test "$bt" = "$t_images"
	check "cri: container.json's checkpointed is btime" test "$(epoch "$(jq -r .checkpointed "$cj")")" = "$bt"
	check "cri: no statistics without a stats-dump" jq -e 'has("statistics") | not' "$cj"
	umount_ck "$m"
fi

# ---- 3. an index without the optional annotations: what is unknown is left
# out; without its config blob (no spec.dump) container.json is still there
spec_ctrd "$WORK/podman-spec.json" "$WORK/spec-bare.json" custom-cgroup '{}'
$MKOCI ctrd "$WORK/threads.tar" "$WORK/bare" --spec "$WORK/spec-bare.json" || fail "mkoci ctrd (bare)"
$MKOCI ctrd "$WORK/threads.tar" "$WORK/nocfg" --no-config \
	--ann io.containerd.checkpoint.runtime=io.containerd.runc.v2 || fail "mkoci ctrd (no config)"
for v in bare nocfg; do
	m=$WORK/m-$v
	mount_ck "$WORK/$v" "$m" || continue
	check "$v index: engine containerd; no name, id or image it does not carry" \
		jq -e '.engine == "containerd" and ([has("container_name", "id", "image")] | any | not)' \
		"$m/container.json"
	[ $v = nocfg ] && check "nocfg index: no spec.dump, the runtime from the index" \
		sh -c "test ! -e '$m/spec.dump' && jq -e '.runtime == \"io.containerd.runc.v2\"' '$m/container.json'"
	umount_ck "$m"
done

# ---- 4. a copy of a mount mounts quietly and shows the same tree
for src in rough-threads rough-bare; do
	m=$WORK/orig-$src c=$WORK/copy-$src mc=$WORK/again-$src
	mount_ck "$REAL/$src.tar.zst" "$m" || continue
	cp -a "$m" "$c" 2>"$WORK/cp.err" || { fail "$src: cp -a of the mount"; cat "$WORK/cp.err"; }
	if mount_ck "$c" "$mc"; then
		log=$(cat "$mc.log")
		# the copy's entries under the names of the views (its top level
		# minus the names the archive itself has)
		tops=$(tar -tf <(zstd -dc "$REAL/$src.tar.zst") | cut -d/ -f1 | sort -u)
		n=$(cd "$c" && find . -mindepth 1 | cut -d/ -f2 | grep -vxF -f <(echo "$tops") | wc -l)
		check "$src: one line about the copy: $log" test "$(wc -l <<<"$log")" -eq 1
		check "$src: it counts the $n members hidden by the views and says it is a copy of a mount" \
			has "$n archive members hidden by" "$log"
		check "$src: ... and names the views" sh -c "grep -qF 'images/' '$mc.log' && grep -qF 'a copy of a ckptfs mount' '$mc.log'"
		check "$src: diff -r of the mount and the mount of its copy: the same tree" \
			diff -r --no-dereference "$m" "$mc"
		# every file of the checkpoint archive, read from the copy's mount
		mkdir -p "$WORK/x-$src" && zstd -dc "$REAL/$src.tar.zst" | tar -xf - -C "$WORK/x-$src"
		bad=$(cd "$WORK/x-$src" && find . -type f | while read -r f; do cmp -s "$f" "$mc/$f" || echo "$f"; done)
		check "$src: the checkpoint's $(cd "$WORK/x-$src" && find . -type f | wc -l) files byte-equal on the copy's mount ($bad)" \
			test -z "$bad"
		umount_ck "$mc"
	fi
	umount_ck "$m"
done

# a real archive member under one view's name is still named by itself
python3 - "$WORK/threads.tar" "$WORK/clash.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1]) as src, tarfile.open(sys.argv[2], "w") as out:
    for m in src.getmembers():
        out.addfile(m, src.extractfile(m) if m.isfile() else None)
    ti = tarfile.TarInfo("ps")
    ti.size = 5
    out.addfile(ti, io.BytesIO(b"junk\n"))
EOF
m=$WORK/clash
if mount_ck "$WORK/clash.tar" "$m"; then
	check "one member under a view's name: named, no word of a copy" \
		sh -c "test \"\$(cat '$m.log')\" = \"ckptfs: archive member 'ps' hidden by a ckptfs view\""
	check "... and /ps is the view" grep -q '^\[1\]' "$m/ps"
	umount_ck "$m"
fi
finish
