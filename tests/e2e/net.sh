#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The namespace views of wl-alpha: net/{tcp,udp,unix} as /proc/net prints
# them, mountinfo and mounts, ns/ links and cgroup, read with the tools
# people point at /proc (ss, findmnt, grep, readlink, and a python parser
# that decodes /proc/net/tcp the way netstat does).
. "$(dirname "$0")/lib.sh"
need python3 grep readlink awk

mnt=$WORK/net
mount_ck "$FIXTURES/wl-alpha.tar.zst" "$mnt" || { fail "mount wl-alpha"; finish; }
p=$mnt/1

check "net/tcp has the 127.0.0.1:8080 listener (st 0A)" \
	grep -Eq '^ +[0-9]+: 0100007F:1F90 00000000:0000 0A ' "$p/net/tcp"
check "net/tcp has both ends of the established loopback pair" sh -c "
	grep -Eq '^ +[0-9]+: 0100007F:[0-9A-F]{4} 0100007F:1F90 01 ' '$p/net/tcp' &&
	grep -Eq '^ +[0-9]+: 0100007F:1F90 0100007F:[0-9A-F]{4} 01 ' '$p/net/tcp'"
check "net/tcp shows the queued bytes of the pair (rx_queue 00000017)" \
	grep -Eq ' 01 [0-9A-F]{8}:00000017 ' "$p/net/tcp"
check "net/tcp header and lines are 149 columns wide" \
	awk 'length($0) != 149 { exit 1 }' "$p/net/tcp"
check "net/udp has 127.0.0.1:5353" grep -Eq '^ +[0-9]+: 0100007F:14E9 00000000:0000 07 ' "$p/net/udp"
check "net/udp lines are 127 columns wide" awk 'length($0) != 127 { exit 1 }' "$p/net/udp"
check "net/tcp6 and net/udp6 hold only their headers" sh -c "
	test \$(wc -l < '$p/net/tcp6') -eq 1 && test \$(wc -l < '$p/net/udp6') -eq 1 &&
	head -1 '$p/net/tcp6' | grep -q '^  sl  local_address                         remote_address '"
check "net/unix has the listening /tmp/work/ctl.sock" \
	grep -Eq '^0{16}: [0-9A-F]{8} 00000000 00010000 0001 01 +[0-9]+ /tmp/work/ctl.sock$' "$p/net/unix"
check "net/unix has the connected socketpair" \
	test "$(grep -Ec '^0{16}: [0-9A-F]{8} 00000000 00000000 0001 03 +[0-9]+$' "$p/net/unix")" -eq 2
check "net/unix header is the kernel's" \
	test "$(head -1 "$p/net/unix")" = "Num       RefCount Protocol Flags    Type St Inode Path"
check "pid 6 shares the network namespace: same net/tcp" cmp -s "$p/net/tcp" "$mnt/6/net/tcp"

# Every inode in net/* is a socket that some fd of the task links to.
fdsocks=$(for f in "$p"/fd/*; do readlink "$f"; done | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | sort -u)
netinos=$( { awk 'FNR > 1 { print $10 }' "$p/net/tcp" "$p/net/udp"; awk 'FNR > 1 { print $7 }' "$p/net/unix"; } | sort -u)
check "net/* lists 7 sockets" test "$(echo "$netinos" | wc -l)" -eq 7
check "every net/* inode is a socket:[ino] of fd/" test -z "$(comm -23 <(echo "$netinos") <(echo "$fdsocks"))"

# Decode net/tcp and net/udp the way ss/netstat do.
check "python decodes net/tcp and net/udp like ss" python3 - "$p/net/tcp" "$p/net/udp" <<'EOF'
import socket, struct, sys
STATES = {1: "ESTAB", 7: "UNCONN", 10: "LISTEN"}
def addr(s):
    ip, port = s.split(":")
    return "%s:%d" % (socket.inet_ntoa(struct.pack("<I", int(ip, 16))), int(port, 16))
seen = set()
for path, proto in zip(sys.argv[1:], ("tcp", "udp")):
    lines = open(path).read().splitlines()
    assert lines[0].split()[:4] == ["sl", "local_address", "rem_address", "st"], lines[0]
    for i, line in enumerate(lines[1:]):
        f = line.split()
        assert f[0] == "%d:" % i, f
        tx, rx = (int(x, 16) for x in f[4].split(":"))
        int(f[9])
        seen.add((proto, STATES[int(f[3], 16)], addr(f[1]), addr(f[2]), rx))
want = {("tcp", "LISTEN", "127.0.0.1:8080", "0.0.0.0:0", 0),
        ("udp", "UNCONN", "127.0.0.1:5353", "0.0.0.0:0", 0)}
assert want <= seen, seen
assert sum(1 for s in seen if s[1] == "ESTAB") == 2, seen
EOF

# iproute2's ss reads $PROC_ROOT/net/* (instead of asking the kernel over
# netlink) and $PROC_ROOT/<pid>/fd/ for the owners: point it at the tree.
if command -v ss >/dev/null 2>&1; then
	PROC_ROOT=$mnt ss -tuanxp 2>&1 | tr -s ' ' > "$WORK/ss.txt"
	check "ss: the TCP listener with backlog 4, owned by pid 1 fd 10" \
		grep -q '^tcp LISTEN 0 4 127.0.0.1:8080 0.0.0.0:\* users:.*("ckpt-workload",pid=1,fd=10)' "$WORK/ss.txt"
	check "ss: the established pair, 23 bytes queued on the server side" sh -c "
		grep -q '^tcp ESTAB 23 0 127.0.0.1:8080 127.0.0.1:[0-9]* ' '$WORK/ss.txt' &&
		grep -q '^tcp ESTAB 0 0 127.0.0.1:[0-9]* 127.0.0.1:8080 ' '$WORK/ss.txt'"
	check "ss: the UDP socket" grep -q '^udp UNCONN 0 0 127.0.0.1:5353 0.0.0.0:\* ' "$WORK/ss.txt"
	check "ss: the unix listener and the socketpair" sh -c "
		grep -q '^u_str LISTEN 0 0 /tmp/work/ctl.sock [0-9]* ' '$WORK/ss.txt' &&
		test \$(grep -c '^u_str ESTAB ' '$WORK/ss.txt') -eq 2"
else
	ok "ss not installed # SKIP"
fi

# mountinfo: structure, uniqueness, the root mount, and findmnt's parser.
check "mountinfo parses: ' - ' separator, unique ids, root mount, parents known" \
	python3 - "$p/mountinfo" <<'EOF'
import sys
ids, parents, roots = [], [], 0
for line in open(sys.argv[1]).read().splitlines():
    pre, sep, post = line.partition(" - ")
    assert sep, line
    f = pre.split()
    assert len(f) >= 6, line
    mid, parent = int(f[0]), int(f[1])
    major, minor = (int(x) for x in f[2].split(":"))
    assert f[5].split(",")[0] in ("rw", "ro"), line
    assert len(post.split()) == 3, line
    ids.append(mid)
    parents.append(parent)
    roots += f[4] == "/"
assert len(ids) == len(set(ids)) and roots == 1, ids
# every parent but the root's is listed, and listed before its child
for i, parent in enumerate(parents):
    assert parent not in ids or ids.index(parent) < i, (ids[i], parent)
EOF
if command -v findmnt >/dev/null 2>&1; then
	check "findmnt -F reads mountinfo and finds /proc" \
		sh -c "findmnt -F '$p/mountinfo' -n -o FSTYPE /proc | grep -qx proc"
	check "findmnt -F sees /sys read-only" \
		sh -c "findmnt -F '$p/mountinfo' -n -o OPTIONS /sys | grep -q '^ro,'"
else
	ok "findmnt not installed # SKIP"
fi
check "mounts has the overlay root" grep -Eq '^overlay / overlay rw[, ]' "$p/mounts"
check "mountinfo escapes nothing it should not (no raw tabs)" sh -c "! grep -q '	' '$p/mountinfo'"

# ns/ links and cgroup.
for k in cgroup ipc mnt net pid pid_for_children time time_for_children user uts; do
	base=${k%_for_children}
	check "ns/$k links to $base:[id]" sh -c "readlink '$p/ns/$k' | grep -Eqx '$base:\\[[0-9]+\\]'"
done
check "ns/net is the id of net/'s namespace for both tasks" \
	test "$(readlink "$p/ns/net")" = "$(readlink "$mnt/6/ns/net")"
check "cgroup ends with the v2 line and names the libpod cgroup" sh -c "
	tail -1 '$p/cgroup' | grep -q '^0::/' && grep -q '^[1-9][0-9]*:memory:/libpod_parent/libpod-' '$p/cgroup'"
check "cgroup lines are ID:controllers:path" awk -F: 'NF < 3 || $1 !~ /^[0-9]+$/ { exit 1 }' "$p/cgroup"
umount_ck "$mnt"

# Damaged namespace images fail only their own views, with EIO.
need tar
bad=$WORK/badns
mkdir -p "$bad" && tar -xf "$FIXTURES/wl-gamma.tar" -C "$bad"
for img in "$bad"/checkpoint/mountpoints-*.img "$bad"/checkpoint/cgroup.img "$bad"/checkpoint/tcp-stream-*.img; do
	head -c 30 "$img" > "$img.t" && mv "$img.t" "$img"
done
mnt=$WORK/badns-mnt
if mount_ck "$bad" "$mnt"; then
	for f in mountinfo mounts cgroup net/tcp; do
		check "damaged image: 1/$f fails with EIO" \
			sh -c "! cat '$mnt/1/$f' >/dev/null 2>'$WORK/err' && grep -q 'Input/output error' '$WORK/err'"
	done
	check "damaged image: net/unix, net/udp and ns/net still work" sh -c "
		grep -q ctl.sock '$mnt/1/net/unix' && grep -q ':14E9 ' '$mnt/1/net/udp' && readlink '$mnt/1/ns/net'"
	umount_ck "$mnt"
else
	fail "checkpoint with damaged namespace images mounts"
fi
finish
