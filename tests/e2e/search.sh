#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ckptfs --search, --yara and --where on a fixture, without mounting: every
# marker of found.json is found at its golden address, in the mapping that
# CRIU's `crit x mems` and our own `maps` name, by a fixed string, by a regex
# and by a YARA rule; the real `yara -s` on `pages` plus `--where` lands on
# the same addresses; --json parses with jq; exit codes as grep's.
# usage: search.sh FIXTURE-FILE
. "$(dirname "$0")/lib.sh"
need jq python3 grep yara

file=$1
name=${file%%.tar*}
gold=$GOLDEN/$name
archive=$FIXTURES/$file
jqe() { jq -e "$@" >/dev/null; }
chk="python3 $(dirname "$0")/search-check.py"
pids=$(python3 -c "import json,sys; print(' '.join(sorted({str(p) for v in json.load(open(sys.argv[1])).values() for p, a in v})))" "$gold/found.json")
markers=$(python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))))" "$gold/found.json")
mkdir -p "$WORK/maps"
for pid in $pids; do
	"$CKPTFS" --cat "$archive" "$pid/maps" >"$WORK/maps/$pid.maps" || fail "--cat $pid/maps"
done

# -F: one run per marker, all processes
: >"$WORK/fixed.jsonl"
while read -r m; do
	"$CKPTFS" --search -F "$m" --json "$archive" >>"$WORK/fixed.jsonl"
	check "-F $m: exit 0" test $? -eq 0
done <<<"$markers"
check "-F: every marker at its golden address and mapping" \
	$chk hits "$gold/found.json" "$gold/x-mems.txt" "$WORK/maps" "$WORK/fixed.jsonl"
check "--json output parses with jq, one object a line" \
	sh -c "jq -e -s 'length > 0 and all(.[]; .pid > 0 and (.address | startswith(\"0x\")) and .length > 0)' '$WORK/fixed.jsonl' >/dev/null"

# regex: every marker with its digits as [0-9] classes, all at once (-e each)
args=()
while read -r m; do args+=(-e "$(printf '%s' "$m" | sed 's/[0-9]/[0-9]/g')"); done <<<"$markers"
"$CKPTFS" --search "${args[@]}" --json "$archive" >"$WORK/regex.jsonl"
check "regex: exit 0" test $? -eq 0
check "regex: every marker at its golden address and mapping" \
	$chk hits "$gold/found.json" "$gold/x-mems.txt" "$WORK/maps" "$WORK/regex.jsonl"
# -i: the markers in lower case
"$CKPTFS" --search -F -i "$(head -1 <<<"$markers" | tr 'A-Z' 'a-z')" --json "$archive" >"$WORK/icase.jsonl"
check "-F -i finds the first marker written in lower case" \
	jqe -s --arg m "$(head -1 <<<"$markers")" 'any(.[]; .match == $m)' "$WORK/icase.jsonl"

# YARA: one rule, one string per marker
{
	echo 'rule markers {'
	echo '  strings:'
	while read -r m; do printf '    $%s = "%s"\n' "$(printf '%s' "$m" | tr -c 'A-Za-z0-9_\n' _)" "$m"; done <<<"$markers"
	echo '  condition: any of them'
	echo '}'
} >"$WORK/markers.yar"
"$CKPTFS" --yara "$WORK/markers.yar" --json "$archive" >"$WORK/yara.jsonl"
check "--yara: exit 0" test $? -eq 0
check "--yara: every marker at its golden address and mapping" \
	$chk hits "$gold/found.json" "$gold/x-mems.txt" "$WORK/maps" "$WORK/yara.jsonl" string
check "--yara: every hit names the rule" jqe -s 'all(.[]; .rule == "markers")' "$WORK/yara.jsonl"

# The real yara on each process's pages, translated by --where, gives the
# same addresses as --yara (yara -s prints 0xOFFSET:$id: data).
for pid in $pids; do
	"$CKPTFS" --cat "$archive" "$pid/pages" >"$WORK/pages-$pid"
	yara -s "$WORK/markers.yar" "$WORK/pages-$pid" | grep '^0x' | cut -d: -f1 | sort -u |
		while read -r off; do printf '%d\n' "$off"; done |
		"$CKPTFS" --where "$pid" - "$archive" | cut -f3 | sort -u >"$WORK/where-$pid"
	jq -r --argjson p "$pid" 'select(.pid == $p) | .address' "$WORK/yara.jsonl" | sort -u >"$WORK/mine-$pid"
	check "pid $pid: yara -s on pages + --where = --yara addresses ($(wc -l <"$WORK/mine-$pid"))" \
		cmp -s "$WORK/where-$pid" "$WORK/mine-$pid"
done

# --where: one offset, the text form: pid, comm, address, offset, maps line
first=$(head -1 <<<"$markers")
read -r fpid faddr < <(jq -r --arg m "$first" '.[$m][0] | "\(.[0]) \(.[1])"' "$gold/found.json")
off=$(jq -r --argjson p "$fpid" --arg a "$faddr" 'select(.pid == $p and .address == $a) | .pages_offset' \
	"$WORK/fixed.jsonl" | head -1)
check "--where $fpid $off gives $faddr" \
	test "$("$CKPTFS" --where "$fpid" "$off" "$archive" | cut -f3)" = "$faddr"
check "grep -boa on pages piped to --where gives $faddr" sh -c \
	"grep -boa -- '$first' '$WORK/pages-$fpid' | '$CKPTFS' --where $fpid - '$archive' | cut -f3 | grep -qx '$faddr'"
"$CKPTFS" --where "$fpid" 999999999999 "$archive" 2>/dev/null
check "--where past the end of pages: exit 1" test $? -eq 1

# --context: the bytes around each match, as in pages
"$CKPTFS" --search -F "$first" --pid "$fpid" --context 24 --json "$archive" >"$WORK/ctx.jsonl"
check "--context 24: before/after are the bytes around the match in pages" \
	$chk context "$WORK/pages-$fpid" "$WORK/ctx.jsonl" 24
check "--pid $fpid: only that process" jqe -s --argjson p "$fpid" 'length > 0 and all(.[]; .pid == $p)' \
	"$WORK/ctx.jsonl"
line=$("$CKPTFS" --search -F "$first" --pid "$fpid" --context 4 "$archive" | head -1)
check "text line: 8 tab-separated fields with --context" test "$(awk -F'\t' '{ print NF }' <<<"$line")" -eq 8
check "text line: the match is field 7" test "$(cut -f7 <<<"$line")" = "$first"

# exit codes and errors
"$CKPTFS" --search -F 'no-such-string-in-this-checkpoint-q8z' "$archive" >"$WORK/out" 2>&1
check "nothing found: exit 1, no output" sh -c "test $? -eq 1 && ! test -s '$WORK/out'"
"$CKPTFS" --search 'a(b' "$archive" >"$WORK/out" 2>"$WORK/err"
check "bad regex: exit 2" test $? -eq 2
check "bad regex: one line naming the problem" sh -c "test \$(wc -l <'$WORK/err') -eq 1 && grep -q 'missing closing parenthesis' '$WORK/err'"
printf 'rule ok { condition: true }\nrule bad {\n  strings: $a = "x"\n  condition: $a and\n}\n' >"$WORK/bad.yar"
"$CKPTFS" --yara "$WORK/bad.yar" "$archive" >"$WORK/out" 2>"$WORK/err"
check "bad YARA file: exit 2" test $? -eq 2
check "bad YARA file: one line with file and line number" \
	sh -c "test \$(wc -l <'$WORK/err') -eq 1 && grep -q 'bad.yar:5:' '$WORK/err'"
"$CKPTFS" --search -F x "$WORK/no-such.tar" 2>"$WORK/err"
check "missing archive: exit 2, one line" sh -c "test $? -eq 2 && test \$(wc -l <'$WORK/err') -eq 1"
"$CKPTFS" --search -F x --pid 424242 "$archive" 2>/dev/null
check "--pid of no process: exit 2" test $? -eq 2
n=$("$CKPTFS" --search . --max-count 5 "$archive" | wc -l)
nproc=$("$CKPTFS" --ls "$archive" / | grep -c '^[0-9]*$')
check "'.' with --max-count 5: 5 lines per process ($n for $nproc)" test "$n" -eq $((5 * nproc))
finish
