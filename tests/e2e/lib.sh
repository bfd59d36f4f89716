# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the end-to-end tests: mount a fixture with the real
# binary, run real tools on it, unmount on every exit path.
set -u

: "${CKPTFS:?CKPTFS must name the ckptfs binary}"
: "${CKPTFS_DATA:?CKPTFS_DATA must name tests/data}"
FIXTURES=$CKPTFS_DATA/fixtures
GOLDEN=$CKPTFS_DATA/golden
# inline Python imports the tests' image and tar writers (tests/lib/ckimg.py)
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)${PYTHONPATH:+:$PYTHONPATH}"

failures=0
checks=0

skip() { echo "SKIP: $*"; exit 77; }
need() { for t in "$@"; do command -v "$t" >/dev/null 2>&1 || skip "$t not installed"; done; }

ok() { checks=$((checks + 1)); echo "ok $checks - $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok $checks - $*"; }
check() { # check DESC CMD...: run CMD, ok if it exits 0
	local desc=$1; shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

[ -e /dev/fuse ] || skip "/dev/fuse missing"
need fusermount3 mountpoint

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ckptfs-test.XXXXXX")
MOUNTS=()
DAEMONS=()
cleanup() {
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null; }
	done
	for p in "${DAEMONS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

# mount_ck ARCHIVE DIR [OPTIONS...]: start ckptfs in the foreground and wait
# until DIR is a mount point or the daemon dies (bounded by meson's timeout).
mount_ck() {
	local archive=$1 dir=$2; shift 2
	mkdir -p "$dir"
	${CKPTFS_WRAPPER:-} "$CKPTFS" -f "$@" "$archive" "$dir" 2>"$dir.log" &
	local pid=$!
	DAEMONS+=("$pid")
	MOUNTS+=("$dir")
	until mountpoint -q "$dir"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "ckptfs died while mounting $archive:"; cat "$dir.log"
			return 1
		fi
		sleep 0.05
	done
	eval "DAEMON_$(basename "$dir" | tr -c 'A-Za-z0-9_\n' _)=$pid"
}

# umount_ck DIR: unmount and require the daemon to exit 0 with a clean log.
umount_ck() {
	local dir=$1 var pid rc
	var="DAEMON_$(basename "$dir" | tr -c 'A-Za-z0-9_\n' _)"
	pid=${!var}
	fusermount3 -u "$dir" || { fail "unmount $dir"; return; }
	wait "$pid"; rc=$?
	if [ "$rc" -ne 0 ]; then fail "daemon for $dir exited $rc"; cat "$dir.log"; return; fi
	if grep -E 'ERROR|AddressSanitizer|runtime error' "$dir.log"; then fail "errors in daemon log of $dir"; return; fi
	ok "daemon for $dir exited cleanly"
}

finish() {
	echo "1..$checks"
	echo "$((checks - failures)) passed, $failures failed"
	[ "$failures" -eq 0 ]
	exit $?
}
