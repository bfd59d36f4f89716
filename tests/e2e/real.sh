#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real CRIU 4.2 checkpoints of tests/data/real/ (tests/real/make-real)
# against their NAME.truth.json: each archive is mounted and the planted
# basics are read back with real tools (grep of maps, readlink, dd of mem,
# od, jq, ss), so that the material the other tests build on stays true.
. "$(dirname "$0")/lib.sh"
need jq dd od grep readlink cmp python3 tr

REAL=$CKPTFS_DATA/real
T() { jq -r "$1" "$REAL/$2.truth.json"; }
# bytes ADDR LEN MEMFILE: LEN bytes of MEMFILE at ADDR (hex or decimal), as hex
bytes() { dd if="$3" bs=4096 iflag=skip_bytes,count_bytes skip=$(($1)) count="$2" status=none | od -An -tx1 | tr -d ' \n'; }
text() { dd if="$3" bs=4096 iflag=skip_bytes,count_bytes skip=$(($1)) count="$2" status=none; }
# maps_has MNT PID START END PERMS: a maps line for exactly that range
maps_has() { grep -q "^${3#0x}-${4#0x} $5 " "$1/$2/maps"; }
# dumped MNT PID ADDR: a run of pages.map holds ADDR
dumped() { python3 -c "import sys; a = int('$3', 16); sys.exit(not any(int(r[0], 16) <= a < int(r[1], 16)
    for r in (l.split()[0].split('-') for l in open('$1/$2/pages.map') if '[missing:' not in l)))"; }
# ps_has MNT PID COMM: /ps lists [PID] COMM
ps_has() { grep -qE "^ *\[$2\] $3( |$)" "$1/ps"; }

# ---- triage: the planted anomalies
m=$WORK/triage
if mount_ck "$REAL/triage.tar.zst" "$m"; then
	for p in $(T '.processes | keys[]' triage); do
		c=$(T ".processes[\"$p\"]" triage)
		check "triage: /ps lists [$p] $c" ps_has "$m" "$p" "$c"
	done
	f() { T ".findings[] | select(.kind==\"$1\") | $2" triage; }
	pid=$(f rwx-memory .pid)
	check "rwx-memory: maps of $pid" maps_has "$m" "$pid" "$(f rwx-memory .start)" "$(f rwx-memory .end)" rwxp
	check "rwx-memory: shellcode at its start" test "$(bytes "$(f rwx-memory .start)" 2 "$m/$pid/mem")" = 31c0
	check "anon-exec: maps of $pid" maps_has "$m" "$pid" "$(f anon-exec .start)" "$(f anon-exec .end)" r-xp
	check "elf-in-anon: maps of $pid" maps_has "$m" "$pid" "$(f elf-in-anon .start)" "$(f elf-in-anon .end)" rw-p
	check "elf-in-anon: an ELF header in mem" test "$(bytes "$(f elf-in-anon .address)" 4 "$m/$pid/mem")" = 7f454c46
	a=$(f modified-code .address)
	check "modified-code: the hook bytes at $a" test "$(bytes "$a" "$(f modified-code .details.len)" "$m/$pid/mem")" = "$(f modified-code .details.bytes)"
	check "modified-code: $a lies in libc's r-xp" maps_has "$m" "$pid" "$(f modified-code .start)" "$(f modified-code .end)" r-xp
	check "modified-code: the patched page is dumped" dumped "$m" "$pid" "$a"
	d=$(f deleted-exe .pid)
	check "deleted-exe: readlink $d/exe" test "$(readlink "$m/$d/exe")" = "$(f deleted-exe .path) (deleted)"
	x=$(f exe-in-tmp .pid)
	check "exe-in-tmp: readlink $x/exe" test "$(readlink "$m/$x/exe")" = "$(f exe-in-tmp .path)"
	mf=$(f memfd-exe .pid)
	check "memfd-exe: maps of $mf name the memfd" grep -qF " $(f memfd-exe .path)" "$m/$mf/maps"
	check "memfd-exe: memfd.json names it" test "$(jq -r '.entries[0].name' "$m/images/memfd.json")" = "$(f memfd-exe .details.memfd_name)"
	s=$(f shell-on-socket .pid)
	check "shell-on-socket: fds 0-2 of $s are one socket" test "$(readlink "$m/$s/fd/0")" = "$(f shell-on-socket .details.socket)" -a \
		"$(readlink "$m/$s/fd/1")" = "$(readlink "$m/$s/fd/2")" -a "$(readlink "$m/$s/fd/0")" = "$(readlink "$m/$s/fd/2")"
	for c in $(T '.findings[] | select(.kind=="connection") | "\(.pid):\(.details.remote)"' triage); do
		cp=${c%%:*} port=${c##*:}
		check "connection: $cp/net/tcp has ESTABLISHED to 127.0.0.1:$port" \
			grep -qE "^ *[0-9]+: 0100007F:[0-9A-F]{4} 0100007F:$(printf '%04X' "$port") 01 " "$m/$cp/net/tcp"
	done
	check "raw-socket: files.json has a packet socket" test "$(jq '[.entries[] | select(.type=="PACKETSK")] | length' "$m/images/files.json")" = 1
	pre=$(f ld-preload .pid)
	check "ld-preload: environ of $pre" grep -qxF "$(f ld-preload .details.env)" <(tr '\0' '\n' <"$m/$pre/environ")
	check "ld-preload: the library is mapped" grep -qF " $(f ld-preload .path)" "$m/$pre/maps"
	while IFS= read -r cmd; do
		check "bash-history: '$cmd' in bash's memory" grep -qaF -- "$cmd" "$m/1/pages"
	done < <(f bash-history '.details.commands[]')
	sp=$(T '.findings[] | select(.kind=="secret") | .pid' triage | head -1)
	while IFS= read -r kv; do
		check "secret: $kv in environ" grep -qxF -- "$kv" <(tr '\0' '\n' <"$m/$sp/environ")
	done < <(T '.findings[] | select(.kind=="secret" and .details.where=="environ") | "\(.details.name)=\(.details.value)"' triage)
	while IFS=' ' read -r addr match; do
		check "secret: '$match' at $addr" test "$(text "$addr" "${#match}" "$m/$sp/mem")" = "$match"
	done < <(T '.findings[] | select(.kind=="secret" and .address) | "\(.address) \(.details.match)"' triage)
	r=$m/rootfs-diff
	check "rootfs: ELF under /tmp" test "$(head -c4 "$r/tmp/.xmr/kswapd0" | od -An -tx1 | tr -d ' ')" = 7f454c46
	check "rootfs: #! script" test "$(head -c2 "$r/tmp/.xmr/run.sh")" = '#!'
	check "rootfs: setuid file" test -u "$r/usr/local/bin/ksu"
	check "rootfs: authorized_keys" test -s "$r/root/.ssh/authorized_keys"
	check "rootfs: a second uid-0 user" test "$(awk -F: '$3==0' "$r/etc/passwd" | wc -l)" = 2
	check "rootfs: cron entry" grep -q '/tmp/.xmr/run.sh' "$r/etc/cron.d/sysupdate"
	check "rootfs: ld.so.preload" test -s "$r/etc/ld.so.preload"
	check "deleted.files: the logs" test "$(cat "$m/rootfs-diff.deleted")" = "$(T '.findings[] | select(.kind=="log-deleted") | .path' triage)"
	# the parasite's page: dumped, in the first executable file mapping
	while IFS=' ' read -r pp addr path; do
		check "parasite page of $pp at $addr is dumped" dumped "$m" "$pp" "$addr"
		check "parasite page of $pp at $addr starts r-xp $path" sh -c \
			"grep -E '^${addr#0x}-[0-9a-f]+ r-xp ' '$m/$pp/maps' | grep -qF '$path'"
	done < <(T '.not_findings[] | "\(.pid) \(.address) \(.path)"' triage)
	umount_ck "$m"
else
	fail "mount triage.tar.zst"
fi

# ---- controls: the processes, nothing planted; node's JIT is rwxp
for c in redis nginx python node; do
	n=control-$c m=$WORK/$n
	if ! mount_ck "$REAL/$n.tar.zst" "$m"; then fail "mount $n"; continue; fi
	for p in $(T '.processes | keys[]' "$n"); do
		check "$n: /ps lists [$p] $(T ".processes[\"$p\"]" "$n")" ps_has "$m" "$p" "$(T ".processes[\"$p\"]" "$n")"
		check "$n: $p has $(T ".threads[\"$p\"]" "$n") threads" test "$(ls "$m/$p/task" | wc -l)" = "$(T ".threads[\"$p\"]" "$n")"
	done
	check "$n: no findings planted" test "$(T '.findings | length' "$n")" = 0
	want=$(T '.observed.exec_anon_or_rwx | length' "$n")
	check "$n: $want anonymous executable or rwx VMAs" test "$(cat "$m"/[0-9]*/maps | awk '$2 ~ /x/ && ($6 == "" || $2 ~ /w/)' | wc -l)" = "$want"
	want=$(T '.observed.dumped_exec_file_runs | length' "$n")
	check "$n: $want dumped runs in executable file mappings (the parasite's pages)" test \
		"$(cat "$m"/[0-9]*/pages.map | awk '$2 ~ /x/ && $6 != "" && $6 !~ /^\[/' | wc -l)" = "$want"
	if command -v ss >/dev/null; then
		check "$n: ss sees the listener on 127.0.0.1:$(T .port "$n")" sh -c \
			"PROC_ROOT='$m' ss -tln | grep -q '127.0.0.1:$(T .port "$n") '"
	fi
	umount_ck "$m"
done

# ---- diff pairs: t0 -> t1 (planted changes), t0 -> t0-idle (nothing)
a=$WORK/diff-t0 b=$WORK/diff-t1 i=$WORK/diff-t0-idle
if mount_ck "$REAL/diff-t0.tar.zst" "$a" && mount_ck "$REAL/diff-t1.tar.zst" "$b" && mount_ck "$REAL/diff-t0-idle.tar.zst" "$i"; then
	C() { T ".changes[] | select(.kind==\"$1\") | $2" diff-t1; }
	addr=$(C memory-changed .address)
	check "memory-changed: before" test "$(text "$addr" 18 "$a/1/mem")" = "$(C memory-changed .details.before)"
	check "memory-changed: after" test "$(text "$addr" 18 "$b/1/mem")" = "$(C memory-changed .details.after)"
	check "vma-added: in t1" maps_has "$b" 1 "$(C vma-added .start)" "$(C vma-added .end)" rw-p
	check "vma-added: not in t0" sh -c "! grep -q '^$(C vma-added .start | cut -c3-)-' '$a/1/maps'"
	check "vma-changed: rw-p in t0" maps_has "$a" 1 "$(C vma-changed .start)" "$(C vma-changed .end)" rw-p
	check "vma-changed: r--p in t1" maps_has "$b" 1 "$(C vma-changed .start)" "$(C vma-changed .end)" r--p
	for fd in $(C fd-added .fd); do
		check "fd-added: $fd only in t1" sh -c "test ! -e '$a/1/fd/$fd' && test \"\$(readlink '$b/1/fd/$fd')\" = '$(T ".changes[] | select(.kind==\"fd-added\" and .fd==$fd) | .path" diff-t1)'"
	done
	fd=$(C fd-removed .fd)
	check "fd-removed: $fd only in t0" sh -c "test ! -e '$b/1/fd/$fd' && test \"\$(readlink '$a/1/fd/$fd')\" = '$(C fd-removed .path)'"
	check "process-changed: cwd" test "$(readlink "$a/1/cwd")" = "$(C process-changed .details.before)" -a "$(readlink "$b/1/cwd")" = "$(C process-changed .details.after)"
	cp=$(C process-added .pid)
	check "process-added: [$cp] in t1 only" sh -c "grep -q '\[$cp\] differ-child' '$b/ps' && ! grep -q '\[$cp\]' '$a/ps'"
	tid=$(C thread-added .tid)
	check "thread-added: task $tid" sh -c "test ! -e '$a/1/task/$tid' && test \"\$(cat '$b/1/task/$tid/comm')\" = differ-worker"
	port=$(C connection-added .details.remote | cut -d: -f2)
	check "connection-added: t1 only" sh -c "grep -q ' 0100007F:$(printf '%04X' "$port") 01 ' '$b/1/net/tcp' && ! grep -q ':$(printf '%04X' "$port") ' '$a/1/net/tcp'"
	check "rootfs-added" sh -c "test -f '$b/rootfs-diff/srv/app/new.txt' && test ! -e '$a/rootfs-diff/srv/app/new.txt'"
	check "rootfs-removed: deleted.files of t1" sh -c "grep -qx /etc/issue '$b/rootfs-diff.deleted' && test ! -e '$a/rootfs-diff.deleted'"
	check "rootfs-changed" sh -c "! cmp -s '$a/rootfs-diff/srv/app/config.yml' '$b/rootfs-diff/srv/app/config.yml'"
	check "idle: maps equal" cmp -s "$a/1/maps" "$i/1/maps"
	check "idle: the same fds" test "$(ls -l "$a/1/fd" | awk '{print $9,$11}')" = "$(ls -l "$i/1/fd" | awk '{print $9,$11}')"
	check "idle: the pages that differ are the truth's" python3 - "$a/1" "$i/1" "$REAL/diff-t0-idle.truth.json" <<'EOF'
import json, sys
def pages(d):
    data, out = open(d + "/pages", "rb").read(), {}
    for line in open(d + "/pages.map"):
        f = line.split()
        s, e = (int(x, 16) for x in f[0].split("-"))
        for p in range(s, e, 4096):
            out[p] = data[int(f[2], 16) + p - s:][:4096]
    return out
a, b = pages(sys.argv[1]), pages(sys.argv[2])
want = {int(x, 16) for x in json.load(open(sys.argv[3]))["observed"]["1"]["pages_changed"]}
got = {p for p in a.keys() | b.keys() if a.get(p) != b.get(p)}
print("differ:", sorted(map(hex, got)), "truth:", sorted(map(hex, want)))
sys.exit(got != want)
EOF
	umount_ck "$a"; umount_ck "$b"; umount_ck "$i"
else
	fail "mount the diff pair"
fi

# ---- pre-dump chain: the child holds the rewritten pages, the parent the rest
c=$WORK/chain n=$WORK/chain-alone
if mount_ck "$REAL/predump-child.tar.zst" "$c" -o "parent=$REAL/predump-parent.tar.zst" &&
	mount_ck "$REAL/predump-child.tar.zst" "$n"; then
	start=$(T .region.start predump-child)
	for k in 0 3 10 39 40 63; do
		pa=$((start + k * 4096))
		g=0; T '.child_holds_in_region[]' predump-child | grep -qx "$(printf '0x%x' $pa)" && g=1
		check "chain: page $k reads GEN-$g with its parent" test "$(text $pa 13 "$c/1/mem")" = "$(printf 'PAGE-%02d-GEN-%d' $k $g)"
		if [ $g = 0 ]; then
			check "chain: page $k is a hole without it" test "$(bytes $pa 16 "$n/1/mem")" = 00000000000000000000000000000000
		fi
	done
	umount_ck "$c"
	fusermount3 -u "$n"
else
	fail "mount the pre-dump chain"
fi

# ---- rough edges
m=$WORK/zero
# 1 GiB of zeros in 54 kB: holes in the spill file (tests/e2e/rough.sh measures them)
if mount_ck "$REAL/rough-zeroheap.tar.zst" "$m" -o "cache_dir=$WORK"; then
	hs=$(T .heap.start rough-zeroheap) he=$(T .heap.end rough-zeroheap)
	check "zeroheap: maps" maps_has "$m" 1 "$hs" "$he" rw-p
	check "zeroheap: every heap page dumped" python3 -c "
import sys
s, e = $hs, $he
runs = [tuple(int(x, 16) for x in l.split()[0].split('-')) for l in open('$m/1/pages.map')]
sys.exit(sum(min(b, e) - max(a, s) for a, b in runs if a < e and b > s) != e - s)"
	check "zeroheap: dd of the whole heap from mem is zeros" cmp -s -n $((he - hs)) \
		<(dd if="$m/1/mem" bs=1M iflag=skip_bytes,count_bytes skip=$((hs)) count=$((he - hs)) status=none) /dev/zero
	check "zeroheap: the marker" test "$(text "$(T .marker.address rough-zeroheap)" 15 "$m/1/mem")" = ZEROHEAP-MARKER
	umount_ck "$m"
else
	fail "mount rough-zeroheap.tar.zst"
fi
m=$WORK/threads
if mount_ck "$REAL/rough-threads.tar.zst" "$m"; then
	for t in $(T '.threads | keys[]' rough-threads); do
		check "threads: task $t is $(T ".threads[\"$t\"]" rough-threads)" test "$(cat "$m/1/task/$t/comm")" = "$(T ".threads[\"$t\"]" rough-threads)"
	done
	umount_ck "$m"
else
	fail "mount rough-threads.tar.zst"
fi
m=$WORK/bare
if mount_ck "$REAL/rough-bare.tar.zst" "$m"; then
	root=$(T .root_pid rough-bare)
	check "bare: self is the root, $root" test "$(readlink "$m/self")" = "$root"
	check "bare: no pid 1" test ! -e "$m/1"
	for p in $(T '.processes | keys[]' rough-bare); do
		check "bare: /ps lists [$p]" ps_has "$m" "$p" "$(T ".processes[\"$p\"]" rough-bare)"
	done
	umount_ck "$m"
else
	fail "mount rough-bare.tar.zst"
fi
finish
