#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# /container.json (checkpointctl's inspect keys), /stats-dump.json and /ps on
# the Podman fixtures, and engine, pod and namespace detection on a CRI-O
# archive that scripts/mkcrio makes from wl-gamma.tar.
. "$(dirname "$0")/lib.sh"
need jq python3 tar stat cmp
export TZ=UTC
mkcrio=$(dirname "$0")/../../scripts/mkcrio
jqe() { jq -e "$@" >/dev/null; }

# /ps against crit's `x ps` golden: same pids, comms and depths.
ps_shape() { # from /ps: "DEPTH PID COMM"
	sed -E 's/^( *)\[([0-9]+)\] ([^ ]+).*/\1\2 \3/' "$1" |
		awk '{ match($0, /^ */); print int(RLENGTH / 4), $1, $2 }'
}
gold_shape() { # from x-ps.txt: comm indented by 4 per level after 3 spaces
	tail -n +2 "$1" | awk '{ match($0, /^ *[0-9]+ +[0-9]+ +[0-9]+   /); rest = substr($0, RLENGTH + 1);
		match(rest, /^ */); print int(RLENGTH / 4), $1, $4 }'
}

for f in wl-alpha.tar.zst wl-beta.tar.gz wl-gamma.tar busybox-loop.tar.gz; do
	name=${f%%.tar*}
	mnt=$WORK/$name
	mount_ck "$FIXTURES/$f" "$mnt" || { fail "mount $f"; continue; }
	j=$mnt/container.json
	check "$name: container.json is JSON" jqe 'type == "object"' "$j"
	check "$name: engine Podman, name, image, id, runtime from config.dump" jqe --slurpfile c "$mnt/config.dump" \
		'.engine == "Podman" and .container_name == $c[0].name and .image == $c[0].rootfsImageName
		 and .id == $c[0].id and .runtime == $c[0].runtime' "$j"
	check "$name: created is createdTime in RFC 3339 seconds" jqe --slurpfile c "$mnt/config.dump" \
		'.created == ($c[0].createdTime | sub("\\.[0-9]+"; ""))' "$j"
	check "$name: ip (without its prefix length) and mac from network.status" jqe --slurpfile n "$mnt/network.status" \
		'.ip == ($n[0].podman.interfaces.eth0.subnets[0].ipnet | sub("/.*"; "")) and .mac == $n[0].podman.interfaces.eth0.mac_address
		 and .networks[0].name == "podman" and .networks[0].interfaces.eth0.gateway == $n[0].podman.interfaces.eth0.subnets[0].gateway' "$j"
	when=$(tar --full-time -tvf "$FIXTURES/$f" | awk '$6 == "stats-dump" || $6 == "./stats-dump" { print $4 "T" $5 "Z" }')
	check "$name: checkpointed is the time stats-dump was written ($when; config.dump has no checkpointedTime)" \
		jqe --arg w "$when" '.checkpointed == $w' "$j"
	check "$name: no empty string values" jqe '[.. | strings | select(. == "")] | length == 0' "$j"
	pages=$(stat -c %s "$mnt"/checkpoint/pages-*.img | awk '{ s += $1 } END { print s }')
	total=$(find "$mnt/checkpoint/" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
	diffsz=$(stat -c %s "$mnt/rootfs-diff.tar")
	check "$name: checkpoint_size splits pages ($pages) from the rest ($total) and the rootfs diff" jqe \
		--argjson p "$pages" --argjson t "$total" --argjson d "$diffsz" \
		'.checkpoint_size == {total_size: $t, memory_pages_size: $p, root_fs_diff_size: $d}' "$j"
	check "$name: statistics equal stats-dump.json" jqe --slurpfile s "$mnt/stats-dump.json" \
		'.statistics.pages_written == $s[0].entries[0].dump.pages_written
		 and .statistics.freezing_time == $s[0].entries[0].dump.freezing_time' "$j"
	check "$name: stats-dump.json is the STATS image" jqe '.magic == "STATS"' "$mnt/stats-dump.json"
	check "$name: annotations and mounts from spec.dump" jqe --slurpfile s "$mnt/spec.dump" \
		'.metadata.annotations == $s[0].annotations and (.mounts | length) == ($s[0].mounts | length)
		 and .mounts[0].destination == $s[0].mounts[0].destination' "$j"
	check "$name: process_tree root is pid 1 with its comm and cmdline" python3 - "$j" "$GOLDEN/$name/proc.json" <<'PY'
import base64, json, sys
ct = json.load(open(sys.argv[1]))["process_tree"]; gold = json.load(open(sys.argv[2]))
def walk(n, ppid):
    g = gold[str(n["pid"])]
    assert g["ppid"] == ppid and g["comm"] == n["command"], n
    args = base64.b64decode(g["cmdline"]).rstrip(b"\0").replace(b"\0", b" ").decode()
    assert n.get("cmdline", "") == args, (n, args)
    return 1 + sum(walk(c, n["pid"]) for c in n.get("children", []))
assert walk(ct, 0) == len(gold), "not every process is in the tree"
PY
	check "$name: ps has the pids, comms and depths of crit x ps" diff <(gold_shape "$GOLDEN/$name/x-ps.txt") <(ps_shape "$mnt/ps")
	threads=$(jq -r '."1".threads | length' "$GOLDEN/$name/proc.json")
	if [ "$threads" -gt 1 ]; then
		check "$name: ps counts the $threads threads of pid 1" grep -q "^\[1\] .*($threads threads)" "$mnt/ps"
	fi
	umount_ck "$mnt"
done

# CRI-O
crio=$WORK/crio.tar
python3 "$mkcrio" "$FIXTURES/wl-gamma.tar" "$crio" || { fail "scripts/mkcrio"; finish; }
mnt=$WORK/crio
mount_ck "$crio" "$mnt" || { fail "mount the CRI-O archive"; finish; }
j=$mnt/container.json
check "crio: engine is CRI-O" jqe '.engine == "CRI-O"' "$j"
check "crio: pod name and namespace" jqe '.metadata.pod_name == "web-7d9c5" and .metadata.kubernetes_namespace == "shop"' "$j"
check "crio: container name from io.kubernetes.cri-o.Metadata" jqe '.container_name == "ctr-gamma"' "$j"
check "crio: image is rootfsImageName" jqe '.image == "registry.example/shop/gamma:1.2"' "$j"
check "crio: created from io.kubernetes.cri-o.Created" jqe '.created == "2026-11-23T12:46:20.500000000Z"' "$j"
check "crio: checkpointed is checkpointedTime as written, fraction kept" \
	jqe '.checkpointed == "2026-11-23T12:47:03.250000000Z"' "$j"
check "crio: ip is the pod IP" jqe '.ip == "10.244.1.17"' "$j"
check "crio: kubernetes annotations kept" jqe '.metadata.annotations["io.kubernetes.pod.uid"] | length > 0' "$j"
check "crio: rootfs-diff.deleted lists deleted.files" cmp <(printf '/etc/motd\n/tmp/work/old.log\n') "$mnt/rootfs-diff.deleted"
check "crio: rootfs-diff/tmp/addrs.txt" cmp "$GOLDEN/wl-gamma/addrs.txt" "$mnt/rootfs-diff/tmp/addrs.txt"
umount_ck "$mnt"

# Podman with two networks and an empty container name: ip and mac carry
# every interface's values, ", "-joined in network then interface order
# (as checkpointctl joins them), each network keeps its own ipnet; empty
# values are left out.
multi=$WORK/multi.tar
python3 - "$FIXTURES/wl-gamma.tar" "$multi" <<'PY' || fail "make the two-network archive"
import io, json, sys, tarfile
net = {"zeta": {"interfaces": {"eth1": {"subnets": [{"ipnet": "10.90.7.3/24", "gateway": "10.90.7.1"}],
                                        "mac_address": "02:00:00:00:07:03"}}},
       "alpha": {"interfaces": {"eth0": {"subnets": [{"ipnet": "10.90.1.5/24", "gateway": "10.90.1.1"},
                                                     {"ipnet": "fd00:90::5/64", "gateway": "fd00:90::1"}],
                                         "mac_address": "02:00:00:00:01:05"}}}}
with tarfile.open(sys.argv[1]) as tin, tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as tout:
    for ti in tin.getmembers():
        data = tin.extractfile(ti).read() if ti.isfile() else None
        if ti.name.lstrip("./") == "network.status":
            data = json.dumps(net).encode()
        elif ti.name.lstrip("./") == "config.dump":
            cfg = json.loads(data)
            cfg["name"] = ""
            data = json.dumps(cfg).encode()
        if data is not None:
            ti.size = len(data)
            tout.addfile(ti, io.BytesIO(data))
        else:
            tout.addfile(ti)
PY
mnt=$WORK/multi
mount_ck "$multi" "$mnt" || { fail "mount the two-network archive"; finish; }
j=$mnt/container.json
check "two networks: ip joins every address without its prefix length" \
	jqe '.ip == "10.90.1.5, fd00:90::5, 10.90.7.3"' "$j"
check "two networks: mac joins every interface's" jqe '.mac == "02:00:00:00:01:05, 02:00:00:00:07:03"' "$j"
check "two networks: networks sorted by name, each interface with its last ipnet and gateway" \
	jqe '[.networks[].name] == ["alpha", "zeta"] and .networks[0].interfaces.eth0.ip == "fd00:90::5/64"
	     and .networks[1].interfaces.eth1 == {ip: "10.90.7.3/24", mac: "02:00:00:00:07:03", gateway: "10.90.7.1"}' "$j"
check "an empty container name is left out" jqe 'has("container_name") | not' "$j"
umount_ck "$mnt"
finish
