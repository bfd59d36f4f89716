#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The large versions of e2e-oci-hostile's images (tests/e2e/mkocihostile.py):
# for each, `ckptfs --ls IMAGE /` under GNU time, one line: the case, the
# exit status, wall and CPU seconds, peak RSS, and the first bytes of what
# it said. Not part of `meson test` (no timing is asserted there); the
# figures are in tests/README.md.
#   tests/e2e/oci-stress.sh [CKPTFS] [CASE...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
ckptfs=${1:-$here/../../build/ckptfs}
shift $(($# > 0 ? 1 : 0))
fixtures=$here/../data/fixtures
gen="python3 $here/mkocihostile.py"
time=/usr/bin/time
[ -x "$time" ] || { echo "$0: GNU time (/usr/bin/time) is needed" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ckptfs-oci-stress.XXXXXX")
trap 'rm -rf "$work"' EXIT

# case, N, source fixture, image (relative to $work), options
cases=(
	"tags 0 wl-gamma.tar tags -o image=foo"
	"fanout 40 wl-gamma.tar fanout"
	"fanrefs 300 wl-gamma.tar fanrefs -o image=r1"
	"manyimages 1100 wl-gamma.tar manyimages"
	"sharedmem 200 wl-gamma.tar sharedmem"
	"layers 2000 wl-gamma.tar layers"
	"layers 10000 wl-gamma.tar layers"
	"empties 100000 wl-gamma.tar empties"
	"procimages 10000 busybox-loop.tar.gz procimages"
	"procimages 20000 busybox-loop.tar.gz procimages"
	"rootfsfiles 100000 busybox-loop.tar.gz rootfsfiles"
	"whiteouts 0 wl-gamma.tar whiteouts"
	"nuldigest 0 wl-gamma.tar nuldigest"
)
for c in "${cases[@]}"; do
	read -r name n src img opts <<<"$c"
	[ $# -gt 0 ] && [[ " $* " != *" $name "* ]] && continue
	out=$work/$img-$n
	case $name in tags | procimages | rootfsfiles) out=$out.tar ;; esac
	$gen "$name" "$fixtures/$src" "$out" "$n" || { echo "$name $n: mkocihostile failed"; continue; }
	# shellcheck disable=SC2086
	$time -f '%e %U %S %M' -o "$work/time" timeout 600 "$ckptfs" --ls ${opts:-} "$out" / >/dev/null 2>"$work/err"
	rc=$?
	# GNU time puts "Command exited with non-zero status N" first
	read -r wall user sys kib < <(tail -1 "$work/time")
	printf '%-10s %6s  exit %-3s %7ss wall %6ss cpu %8s KiB  %s\n' "$name" "$n" "$rc" "$wall" \
		"$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "$kib" "$(head -c 100 "$work/err" | tr '\n' ' ')"
	rm -rf "$out" "$out"-* "$out".expect
done
