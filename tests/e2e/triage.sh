#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ckptfs --triage against the real CRIU 4.2 checkpoints of tests/data/real/
# and their planted truth (NAME.truth.json): every planted anomaly is found
# with its pid, address or range and path, at medium or higher (secrets at
# low, connections to a peer outside the checkpoint at info, as the man page
# says); CRIU's parasite pages are never reported; no clean control (redis,
# nginx, python, node) has a medium or high finding, and node's JIT code
# is jit-code at info. Then the parasite page rule against a --rootfs built
# from the dump itself, the mounted tree, several archives, the flags, and
# bad input (a damaged mm image, a cut pages image, a damaged rootfs diff,
# a missing parent): "not checked" and exit 2, never a silent clean result.
. "$(dirname "$0")/lib.sh"
need jq python3 tar zstd xz dd cmp

REAL=$CKPTFS_DATA/real
T() { jq -r "$1" "$REAL/$2.truth.json"; }
# tri OUT ARGS...: run --triage with ARGS; stdout to OUT, stderr to OUT.err; the exit status in $rc
tri() { local out=$1; shift; "$CKPTFS" --triage "$@" >"$out" 2>"$out.err"; rc=$?; }
# result LINES: "ok DESC" / "not ok DESC" lines of a checker as checks
result() { while IFS= read -r l; do case $l in "ok "*) ok "${l#ok }" ;; *) fail "${l#not ok }" ;; esac; done <"$1"; }

# compare FINDINGS TRUTH [rootfs]: every truth finding against the JSON lines
cat >"$WORK/compare.py" <<'PY'
import calendar, json, sys, time
found = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
truth = json.load(open(sys.argv[2]))
exact_code = len(sys.argv) > 3
rank = {"info": 0, "low": 1, "medium": 2, "high": 3}
h = lambda s: int(s, 16)
def say(okay, desc):
    print(("ok " if okay else "not ok ") + desc)
def inside(a, start, length):
    return start <= a < start + length
def epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
def matches(t, f):
    k, d = t["kind"], t.get("details") or {}
    if k == "raw-socket":
        return f["kind"] == "connection" and f.get("proto") == "packet" and d["fd"] in f["fds"]
    if f["kind"] != k or ("pid" in t and f.get("pid") != t["pid"]):
        return False
    if k in ("rwx-memory", "anon-exec"):
        return h(f["start"]) == h(t["start"]) and h(f["end"]) == h(t["end"])
    if k == "elf-in-anon":
        return h(f["address"]) == h(t["address"]) and f.get("size") == d["size"]
    if k == "modified-code":
        if f.get("path") != t["path"]:
            return False
        if exact_code:
            return (h(f["address"]) == h(t["address"]) and f["bytes"] == d["bytes"] and f["len"] == d["len"]
                    and f.get("symbol") == d["symbol"] and h(f["file_offset"]) == h(d["file_offset"]))
        return h(t["start"]) <= h(f["address"]) < h(t["end"])
    if k == "shell-on-socket":
        return f["remote"] == d["remote"] and f["fds"] == d["fds"] and f["socket"] == d["socket"]
    if k == "connection":
        return f.get("remote") == d["remote"] and d["fd"] in f["fds"] and f["state"] == d["state"]
    if k == "memfd-exe":
        return f["path"] == t["path"] and f["memfd_name"] == d["memfd_name"]
    if k == "ld-preload":
        return f.get("path") == t["path"] and f["mapped"] == d["mapped"]
    if k == "secret":
        if d["where"] == "environ":
            return (f.get("name") == d["name"] and f["where"] == "environ"
                    and f["value"] == "%s... (%d bytes)" % (d["value"][:4], len(d["value"])))
        starts = [h(t["address"])] + [h(a) for a in d.get("other_copies", {})]
        return f["type"] == d["type"] and any(inside(h(a), s, d["len"]) for a in f["addresses"] for s in starts)
    if k == "bash-history":
        return ([c["command"] for c in f["commands"]] == d["commands"]
                and all(epoch(c["time"]) in d["timestamps"] for c in f["commands"]))
    return f.get("path") == t["path"]
for t in truth["findings"]:
    want = {"secret": "low", "connection": "info"}.get(t["kind"], "medium")
    hits = [f for f in found if matches(t, f)]
    desc = "%s %s%s" % (t["kind"], "pid %s " % t["pid"] if "pid" in t else "", t.get("address") or t.get("start") or t.get("path") or "")
    say(bool(hits), "found: " + desc)
    if hits:
        sev = max(rank[f["severity"]] for f in hits)
        say(sev >= rank[want] if want != "info" else sev == 0, "severity %s (%s wanted): %s" % (
            [f["severity"] for f in hits], want, desc))
for n in truth.get("not_findings", []) + truth.get("observed", {}).get("parasite_pages", []):
    bad = [f for f in found if f["kind"] == "modified-code" and f.get("pid") == n["pid"]
           and h(n["address"]) <= h(f["address"]) < h(n["end"])]
    say(not bad, "parasite page of pid %s at %s not reported" % (n["pid"], n["address"]))
for b in truth.get("benign", []):
    hits = [f for f in found if f["kind"] == b["kind"] and f.get("pid") == b["pid"]
            and h(f["start"]) == h(b["start"]) and h(f["end"]) == h(b["end"])]
    say(len(hits) == 1 and hits[0]["severity"] == "info", "benign %s %s-%s at info" % (b["kind"], b["start"], b["end"]))
if truth["findings"] == []:
    loud = [f["kind"] for f in found if rank[f["severity"]] >= 2]
    say(not loud, "no medium or high finding on the control: %s" % loud)
say(not [f for f in found if f["kind"] == "incomplete"], "nothing incomplete")
PY

# ---- the planted anomalies, and the clean controls
tri "$WORK/planted.json" --json --min-severity info "$REAL/triage.tar.zst"
check "triage.tar.zst: exit 1 (findings)" test "$rc" = 1
python3 "$WORK/compare.py" "$WORK/planted.json" "$REAL/triage.truth.json" >"$WORK/planted.res"
result "$WORK/planted.res"
check "every line names its archive" test "$(jq -r .archive "$WORK/planted.json" | sort -u)" = "$REAL/triage.tar.zst"
# dash keeps no history: the commands the reverse shell read ("id; uname -n",
# tests/data/real/README.md) are in its input buffer
sh_pid=$(T '.findings[] | select(.kind=="shell-on-socket") | .pid' triage)
check "dash (pid $sh_pid): the reverse shell's commands from its input buffer, at low" test "$(jq -r \
	"select(.kind==\"bash-history\" and .pid==$sh_pid and .severity==\"low\") | .commands[].command" "$WORK/planted.json" |
	grep -c '^id; uname -n')" = 1
for c in redis nginx python node; do
	tri "$WORK/$c.json" --json --min-severity info "$REAL/control-$c.tar.zst"
	python3 "$WORK/compare.py" "$WORK/$c.json" "$REAL/control-$c.truth.json" | sed "s/^\(\(not \)\?ok \)/\1control-$c: /" >"$WORK/$c.res"
	result "$WORK/$c.res"
	tri "$WORK/$c.txt" "$REAL/control-$c.tar.zst"
	check "control-$c: exit 0 at the default --min-severity medium" test "$rc" = 0
	check "control-$c: says 0 findings at or above medium" grep -q "^0 findings at or above medium" "$WORK/$c.txt"
done

# modified-code exactly (address, bytes, symbol) when the host's libc is the
# one the fixture was dumped with
libc=/usr/lib/x86_64-linux-gnu/libc.so.6
if [ "$(sha256sum "$libc" 2>/dev/null | cut -d' ' -f1)" = 6b4a45352fd0c540a9c7c718f35ce8c8e46a4e482f9d3885a910c32d1a0e1421 ]; then
	tri "$WORK/rootfs.json" --json --rootfs / "$REAL/triage.tar.zst"
	python3 "$WORK/compare.py" <(jq -c 'select(.kind=="modified-code" and .path=="'$libc'")' "$WORK/rootfs.json") \
		<(jq '{findings: [.findings[] | select(.kind=="modified-code")]}' "$REAL/triage.truth.json") exact |
		grep -v "nothing incomplete" >"$WORK/rootfs.res"
	result "$WORK/rootfs.res"
	check "--rootfs /: the hook is original bytes 415631c04989feba01000000 at readdir64" \
		test "$(jq -r 'select(.kind=="modified-code" and .path=="'$libc'") | "\(.original) \(.original_from) \(.severity)"' "$WORK/rootfs.json")" = "415631c04989feba01000000 --rootfs high"
else
	echo "# $libc is not the one triage.tar.zst was dumped with: exact modified-code bytes not checked"
fi

# ---- CRIU's parasite page against an original: a --rootfs made of the
# dumped page itself (nothing), then with one byte changed (reported)
n=$REAL/control-nginx.tar.zst
para=$(T '.observed.parasite_pages[0].address' control-nginx)
path=$(T '.observed.parasite_pages[0].path' control-nginx)
pgoff=$(( 0x$("$CKPTFS" --cat "$n" 1/maps | awk -v a="${para#0x}" 'index($1, a "-") == 1 { print $3 }') ))
doff=$(( 0x$("$CKPTFS" --cat "$n" 1/pages.map | awk -v a="${para#0x}" 'index($1, a "-") == 1 { print $3 }') ))
mkdir -p "$WORK/root$(dirname "$path")"
"$CKPTFS" --cat "$n" 1/pages | dd of="$WORK/page" bs=4096 iflag=skip_bytes skip="$doff" count=1 status=none
dd if="$WORK/page" of="$WORK/root$path" bs=4096 seek=$((pgoff / 4096)) status=none
tri "$WORK/same.json" --json --min-severity info --rootfs "$WORK/root" "$n"
check "parasite page equal to the --rootfs file: no modified-code ($(jq -c . "$WORK/same.json"))" \
	test "$(jq -s '[.[] | select(.kind=="modified-code")] | length' "$WORK/same.json")" = 0
printf '\x90' | dd of="$WORK/root$path" bs=1 seek=$((pgoff + 100)) conv=notrunc status=none
cmp -s "$WORK/page" <(dd if="$WORK/root$path" bs=4096 skip=$((pgoff / 4096)) count=1 status=none) &&
	fail "the --rootfs copy was not changed"
tri "$WORK/flip.json" --json --rootfs "$WORK/root" "$n"
check "parasite page one byte off the --rootfs file: modified-code, high, for pids 1 2 3" \
	test "$(jq -sc '[.[] | select(.kind=="modified-code" and .severity=="high" and .parasite_page and .differing_bytes==1) | .pid]' "$WORK/flip.json")" = "[1,2,3]"
check "... at the changed byte, original_from --rootfs" \
	test "$(jq -r 'select(.pid==1) | "\(.address) \(.original_from) \(.path)"' "$WORK/flip.json")" = "$(printf '0x%x' $((para + 100))) --rootfs $path"
check "... exit 1" test "$rc" = 1

# ---- --rootfs tells an added file of the rootfs diff from a changed one
mkdir -p "$WORK/img/etc" && cp /etc/hostname "$WORK/img/etc/passwd"
tri "$WORK/img.json" --json --rootfs "$WORK/img" "$REAL/triage.tar.zst"
check "--rootfs: /etc/passwd changed, /etc/cron.d/sysupdate added" test "$(jq -r \
	'select(.path=="/etc/passwd" or .path=="/etc/cron.d/sysupdate") | "\(.path) \(.change)"' "$WORK/img.json" | sort | tr '\n' ,)" = \
	"/etc/cron.d/sysupdate added,/etc/passwd changed,"

# ---- a mounted tree gives what its archive gives
if mount_ck "$REAL/triage.tar.zst" "$WORK/mnt"; then
	tri "$WORK/tree.json" --json --min-severity info "$WORK/mnt"
	check "mounted tree: exit 1" test "$rc" = 1
	check "mounted tree: the archive's findings" cmp -s <(jq -c 'del(.archive)' "$WORK/tree.json" | sort) \
		<(jq -c 'del(.archive)' "$WORK/planted.json" | sort)
	umount_ck "$WORK/mnt"
fi

# ---- a pod: each container's own findings, named (scripts/mkpod)
zstd -qdc "$REAL/triage.tar.zst" >"$WORK/t.tar" && zstd -qdc "$REAL/control-redis.tar.zst" >"$WORK/r.tar"
if python3 "$(dirname "$0")/../../scripts/mkpod" "$WORK/pod.tar" bad="$WORK/t.tar" redis="$WORK/r.tar" >/dev/null; then
	tri "$WORK/pod.json" --json --min-severity info "$WORK/pod.tar"
	check "pod: exit 1, findings of container bad only at medium or more" test "$rc" = 1 -a \
		"$(jq -r 'select(.severity=="medium" or .severity=="high") | .container' "$WORK/pod.json" | sort -u)" = bad
	check "pod: container bad has the archive's findings" cmp -s \
		<(jq -c 'select(.container=="bad") | del(.archive, .container)' "$WORK/pod.json" | sort) \
		<(jq -c 'del(.archive)' "$WORK/planted.json" | sort)
else
	fail "scripts/mkpod"
fi

# ---- several archives, the flags
tri "$WORK/two.json" --json "$REAL/control-redis.tar.zst" "$REAL/triage.tar.zst"
check "two archives: exit 1, findings of the second only" test "$rc" = 1 -a \
	"$(jq -r .archive "$WORK/two.json" | sort -u)" = "$REAL/triage.tar.zst"
tri "$WORK/text.txt" "$REAL/control-python.tar.zst" "$REAL/triage.tar.zst"
check "text: one section per archive" test "$(grep -c '^== ' "$WORK/text.txt")" = 2
check "text: high before medium" test "$(grep -E '^(high|medium|low|info):$' "$WORK/text.txt" | tr '\n' ' ')" = "high: medium: "
rwx=$(T '.findings[] | select(.kind=="rwx-memory") | .start' triage)
check "text: the rwx region with its maps line and code" python3 -c '
import re, sys
block = re.search(r"^  rwx-memory  pid 6 .*?\n((?:    .*\n)+)", open(sys.argv[1]).read(), re.M).group(1).splitlines()
sys.exit(not ("    maps: %s-" % sys.argv[2] in "\n".join(block) and "    %016x  31 c0" % int(sys.argv[2], 16) in "\n".join(block)))
' "$WORK/text.txt" "${rwx#0x}"
tri "$WORK/high.json" --json --min-severity high "$REAL/triage.tar.zst"
check "--min-severity high: only high" test "$(jq -r .severity "$WORK/high.json" | sort -u)" = high
tri "$WORK/bad.json" --min-severity severe "$REAL/triage.tar.zst"
check "--min-severity severe: exit 2 with one line" test "$rc" = 2 -a "$(wc -l <"$WORK/bad.json.err")" = 1
secret=$(T '.findings[] | select(.kind=="secret" and .details.name=="DB_PASSWORD") | .details.value' triage)
check "the truth has the secret" test -n "$secret"
check "secrets masked by default" test "$(grep -c -- "$secret" "$WORK/planted.json")" = 0
tri "$WORK/show.json" --json --min-severity low --show-secrets "$REAL/triage.tar.zst"
check "--show-secrets shows them whole" test "$(jq -r 'select(.name=="DB_PASSWORD") | .value' "$WORK/show.json")" = "$secret"

# ---- bad input: never a silent clean result
tri "$WORK/missing.txt" "$WORK/nope.tar"
check "missing archive: exit 2, one line naming it" test "$rc" = 2 -a "$(grep -c "$WORK/nope.tar" "$WORK/missing.txt.err")" = 1
tri "$WORK/missing2.txt" "$REAL/control-redis.tar.zst" "$WORK/nope.tar"
check "a clean archive and a missing one: exit 2" test "$rc" = 2
x=$WORK/redis
mkdir -p "$x" && tar --zstd -xf "$REAL/control-redis.tar.zst" -C "$x"
cp "$x/checkpoint/mm-1.img" "$WORK/mm-1.img"
cp "$x/checkpoint/pages-1.img" "$WORK/redis-pages-1.img"
head -c 64 /dev/urandom | dd of="$x/checkpoint/mm-1.img" bs=1 seek=12 conv=notrunc status=none
tri "$WORK/mm.json" --json "$x"
check "damaged mm-1.img: exit 2" test "$rc" = 2
check "... a JSON line incomplete for pid 1" test "$(jq -r 'select(.kind=="incomplete") | .pid' "$WORK/mm.json")" = 1
check "... 'not checked' on stderr naming pid 1" grep -q "pid 1 (redis-server): not checked" "$WORK/mm.json.err"
cp "$WORK/mm-1.img" "$x/checkpoint/mm-1.img"
truncate -s 4096 "$x/checkpoint/pages-1.img"
tri "$WORK/pages.json" --json "$x"
check "pages-1.img cut short: exit 2, memory of pid 1 not checked" test "$rc" = 2 -a \
	"$(jq -r 'select(.kind=="incomplete" and .check=="memory") | .pid' "$WORK/pages.json")" = 1
# pages that fail only when read: a multi-block xz with 16 bytes zeroed in its middle
cp "$WORK/redis-pages-1.img" "$x/checkpoint/pages-1.img"
tar -C "$x" -cf - . | xz -T0 -0 --block-size=65536 >"$WORK/redis.tar.xz"
dd if=/dev/zero of="$WORK/redis.tar.xz" bs=1 count=16 seek=$(($(stat -c %s "$WORK/redis.tar.xz") / 2)) conv=notrunc status=none
tri "$WORK/xz.json" --json "$WORK/redis.tar.xz"
check "xz block damaged under pages-1.img: exit 2, pid 1's unreadable bytes named ($(cat "$WORK/xz.json.err"))" \
	test "$rc" = 2 -a "$(jq -r 'select(.kind=="incomplete" and .check=="memory") | .pid' "$WORK/xz.json")" = 1
check "... as bytes from an address" grep -qE "pid 1 \(redis-server\): not checked: memory: [0-9]+ bytes from 0x[0-9a-f]+ cannot be read" "$WORK/xz.json.err"
x=$WORK/planted
mkdir -p "$x" && tar --zstd -xf "$REAL/triage.tar.zst" -C "$x"
head -c 1024 /dev/urandom >"$x/rootfs-diff.tar"
tri "$WORK/diff.json" --json "$x"
check "damaged rootfs-diff.tar: an incomplete line for it" \
	test "$(jq -r 'select(.kind=="incomplete") | .check' "$WORK/diff.json")" = rootfs-diff
check "... and exit 1 still (the other findings)" test "$rc" = 1
tri "$WORK/child.json" --json "$REAL/predump-child.tar.zst"
check "pre-dump child without its parent: exit 2, memory not checked" test "$rc" = 2 -a \
	"$(jq -r 'select(.kind=="incomplete") | .check' "$WORK/child.json")" = memory
tri "$WORK/child2.json" --json -o parent="$REAL/predump-parent.tar.zst" "$REAL/predump-child.tar.zst"
check "... with -o parent=: exit 0, nothing" test "$rc" = 0 -a ! -s "$WORK/child2.json"
check "no sanitizer report in any run" test -z "$(grep -lE 'Sanitizer|runtime error' "$WORK"/*.err)"
finish
