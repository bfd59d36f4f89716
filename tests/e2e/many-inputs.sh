#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --search, --yara and --triage over several archives and over directories
# of checkpoints (a fleet: a copy of /var/lib/kubelet/checkpoints): every
# hit of each archive alone is found, named after its archive (a first
# tab-separated column in text, "archive" in JSON); exit 0 on any match, 1
# on none, 2 when an input fails (the others still searched). A directory
# of several extracted checkpoints is refused by a mount (exit 11) and
# expanded by --search.
. "$(dirname "$0")/lib.sh"
need jq python3 tar

fleet=$WORK/fleet
mkdir -p "$fleet"
cp "$FIXTURES/wl-alpha.tar.zst" "$FIXTURES/wl-beta.tar.gz" "$fleet/"
cp "$CKPTFS_DATA/real/triage.tar.zst" "$fleet/" 2>/dev/null
marker() { python3 -c 'import json,sys; print(next(iter(json.load(open(sys.argv[1])))))' "$GOLDEN/$1/found.json"; }
ma=$(marker wl-alpha) mb=$(marker wl-beta)

# each archive alone, then the directory: the same hits, named
: >"$WORK/alone.txt"
for a in "$fleet"/*; do
	"$CKPTFS" --search -F -e "$ma" -e "$mb" "$a" | sed "s|^|$a\t|" >>"$WORK/alone.txt"
done
"$CKPTFS" --search -F -e "$ma" -e "$mb" "$fleet" >"$WORK/dir.txt"
check "directory: exit 0" test $? -eq 0
check "directory: the hits of each archive alone, its path first" cmp "$WORK/alone.txt" "$WORK/dir.txt"
check "directory: both archives have hits" \
	sh -c "grep -q '^$fleet/wl-alpha.tar.zst	' '$WORK/dir.txt' && grep -q '^$fleet/wl-beta.tar.gz	' '$WORK/dir.txt'"
"$CKPTFS" --search -F "$ma" "$fleet/wl-alpha.tar.zst" >"$WORK/one.txt"
check "one archive: lines do not name it" sh -c "! grep -q '^$fleet' '$WORK/one.txt' && test -s '$WORK/one.txt'"
"$CKPTFS" --search -F "$ma" "$fleet/wl-alpha.tar.zst" "$fleet/wl-beta.tar.gz" >"$WORK/two.txt"
check "two operands: lines name the archive" sh -c "grep -q '^$fleet/wl-alpha.tar.zst	' '$WORK/two.txt'"

"$CKPTFS" --search -F --json -e "$ma" -e "$mb" "$fleet" >"$WORK/dir.jsonl"
check "--json: every object names its archive" \
	jq -e -s --arg d "$fleet" 'length > 0 and all(.[]; .archive | startswith($d + "/"))' "$WORK/dir.jsonl"
check "--json: as many objects as text lines" test "$(wc -l <"$WORK/dir.jsonl")" -eq "$(wc -l <"$WORK/dir.txt")"

printf 'rule m { strings: $a = "%s" $b = "%s" condition: any of them }\n' "$ma" "$mb" >"$WORK/m.yar"
"$CKPTFS" --yara "$WORK/m.yar" --json "$fleet" >"$WORK/yara.jsonl"
check "--yara over the directory: exit 0" test $? -eq 0
check "--yara: hits in wl-alpha and wl-beta" \
	jq -e -s '[.[].archive | split("/") | last] | unique | (index("wl-alpha.tar.zst") != null and index("wl-beta.tar.gz") != null)' \
	"$WORK/yara.jsonl"

"$CKPTFS" --search -F 'NO-SUCH-MARKER-ANYWHERE' "$fleet" >/dev/null
check "nothing found anywhere: exit 1" test $? -eq 1

# a file that is no archive: one line naming it, the others still searched, exit 2
echo "not an archive" >"$fleet/notes.txt"
"$CKPTFS" --search -F "$ma" "$fleet" >"$WORK/bad.txt" 2>"$WORK/bad.err"
check "a bad input: exit 2" test $? -eq 2
check "a bad input: one line naming it" sh -c "test \$(wc -l <'$WORK/bad.err') -eq 1 && grep -q 'notes.txt' '$WORK/bad.err'"
check "a bad input: the others still searched" grep -q "wl-alpha.tar.zst" "$WORK/bad.txt"
rm "$fleet/notes.txt"

"$CKPTFS" --triage --json --min-severity info "$fleet" >"$WORK/triage.jsonl"
check "--triage over the directory: every archive reported" \
	sh -c "test \$(jq -r .archive '$WORK/triage.jsonl' | sort -u | wc -l) -eq \$(ls '$fleet' | wc -l)"

# extracted checkpoints two levels down: no pod, so a mount refuses, --search expands
mkdir -p "$WORK/ex/node/a/x" "$WORK/ex/node/b/x"
tar -C "$WORK/ex/node/a/x" -xf "$FIXTURES/wl-gamma.tar"
tar -C "$WORK/ex/node/b/x" -xf "$FIXTURES/wl-gamma.tar"
mkdir -p "$WORK/mnt"
"$CKPTFS" "$WORK/ex/node" "$WORK/mnt" 2>"$WORK/mnt.err"
check "a directory of several checkpoints: a mount refuses it (exit 11)" test $? -eq 11
mg=$(marker wl-gamma)
"$CKPTFS" --search -F "$mg" "$WORK/ex/node" >"$WORK/ex.txt"
check "--search reads each of them" \
	sh -c "grep -q '^$WORK/ex/node/a	' '$WORK/ex.txt' && grep -q '^$WORK/ex/node/b	' '$WORK/ex.txt'"
finish
