#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Rough edges of real checkpoints (tests/data/real/, CRIU 4.2 dumps): a
# 1 GiB zeroed heap mounts with the default options and costs no disk,
# while a bomb of bytes that are not zeros is still stopped.
. "$(dirname "$0")/lib.sh"
need python3 zstd jq dd cmp
REAL=$CKPTFS_DATA/real
T() { jq -r "$1" "$REAL/$2.truth.json"; }

# The bytes the daemon @1 stores in its (unlinked) spill file in dir @2.
spill_blocks() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		case $(readlink "$fd") in "$2"/*) stat -L -c '%b %B %s' "$fd";; esac
	done | awk '{ d += $1 * $2; s += $3 } END { print d + 0, s + 0 }'
}

# ---- 1. zero pages are holes, not a bomb
m=$WORK/zero
mkdir -p "$WORK/cache"
if mount_ck "$REAL/rough-zeroheap.tar.zst" "$m" -o "cache_dir=$WORK/cache"; then
	hs=$(T .heap.start rough-zeroheap) he=$(T .heap.end rough-zeroheap)
	read -r disk size < <(spill_blocks "$DAEMON_zero" "$WORK/cache")
	check "zeroheap: mounts with the defaults; the spill file is $size bytes long" test "$size" -ge $((he - hs))
	check "zeroheap: and stores $disk bytes on disk (under 4 MiB)" test "$disk" -lt $((4 << 20))
	check "zeroheap: the first and last 16 MiB of the heap read as zeros from mem" sh -c "
		dd if='$m/1/mem' bs=1M iflag=skip_bytes,count_bytes skip=$((hs)) count=$((16 << 20)) status=none | cmp -s -n $((16 << 20)) - /dev/zero &&
		dd if='$m/1/mem' bs=1M iflag=skip_bytes,count_bytes skip=$((he - (16 << 20))) count=$((16 << 20)) status=none | cmp -s -n $((16 << 20)) - /dev/zero"
	check "zeroheap: SEEK_DATA from the heap's start stops there (dumped), SEEK_HOLE at its end" python3 -c "
import os, sys
fd = os.open('$m/1/mem', os.O_RDONLY)
sys.exit(not (os.lseek(fd, $hs, os.SEEK_DATA) == $hs and os.lseek(fd, $hs, os.SEEK_HOLE) >= $he))"
	check "zeroheap: the marker" test "$(dd if="$m/1/mem" bs=1 iflag=skip_bytes skip=$(($(T .marker.address rough-zeroheap))) count=15 status=none)" = ZEROHEAP-MARKER
	umount_ck "$m"
else
	fail "rough-zeroheap.tar.zst mounts with the default options"
fi
# the stored bytes count, not the zeros: it fits in a 32 MiB limit (the
# header of the 1 GiB pages-1.img may claim up to 64 times that)
out=$("$CKPTFS" --cat -o spill_limit=32M -o "cache_dir=$WORK/cache" "$REAL/rough-zeroheap.tar.zst" 1/maps 2>&1)
check "zeroheap: --cat with -o spill_limit=32M" grep -q "^${hs#0x}-" <<<"$out"

# ---- 2. the same checkpoint with 256 MiB of 'A' as pages-1.img: a bomb
python3 - "$REAL/rough-zeroheap.tar.zst" "$WORK/bomb.tar.zst" <<'EOF'
import subprocess, sys, tarfile

class As:
    def __init__(self, n): self.n = n
    def read(self, k=-1):
        k = self.n if k < 0 else min(k, self.n)
        self.n -= k
        return b'A' * k

src = subprocess.Popen(['zstd', '-dc', sys.argv[1]], stdout=subprocess.PIPE)
with open(sys.argv[2], 'wb') as o:
    dst = subprocess.Popen(['zstd', '-q', '-1', '-c'], stdin=subprocess.PIPE, stdout=o)
    with tarfile.open(fileobj=src.stdout, mode='r|') as i, tarfile.open(fileobj=dst.stdin, mode='w|') as w:
        for m in i:
            if m.name == 'checkpoint/pages-1.img':
                m.size = 256 << 20
                w.addfile(m, As(m.size))
            else:
                w.addfile(m, i.extractfile(m) if m.isfile() else None)
    dst.stdin.close()
    sys.exit(dst.wait() or src.wait())
EOF
check "made a bomb of 'A' from rough-zeroheap" test -s "$WORK/bomb.tar.zst"
out=$("$CKPTFS" --ls -o spill_limit=64M -o "cache_dir=$WORK/cache" "$WORK/bomb.tar.zst" / 2>&1); rc=$?
check "bomb of 'A': exit 10 ($rc)" test "$rc" -eq 10
check "bomb of 'A': one line naming the member and the limit" \
	grep -q "member 'checkpoint/pages-1.img' needs more temporary space than the spill limit (67108864 bytes" <<<"$out"
check "bomb of 'A': nothing left in the cache dir" test -z "$(ls -A "$WORK/cache")"

finish
