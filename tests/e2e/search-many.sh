#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --search at indicator-list scale. Many patterns (strings, regexes that
# Vectorscan runs, regexes PCRE2 runs alone) searched at once give, in the
# same order, what each gives alone: on every fixture and on real CRIU
# checkpoints (tests/data/real/). The patterns PCRE2 runs alone are named on
# stderr. Bad pattern lists are refused with their line; a list of 100,000
# strings works. A regex that backtracks for ever is stopped by its limits
# and reported with the pattern, pid and address (exit 2) while the other
# patterns are still found. --max-match-bytes cuts what a match prints and
# says its length (--search and --yara). A YARA file that ends inside a rule
# is reported at its last line.
. "$(dirname "$0")/lib.sh"
need jq python3 tar

chk="python3 $(dirname "$0")/search-check.py"
REAL=$CKPTFS_DATA/real

# union NAME ARCHIVE FLAG... -- PATTERN...: the patterns at once (-f) and
# one by one (-e) give the same hits.
union() {
	local name=$1 archive=$2 flags=() singles=() i=0 rc
	shift 2
	while [ "$1" != -- ]; do flags+=("$1"); shift; done
	shift
	printf '%s\n' "$@" >"$WORK/$name.pats"
	"$CKPTFS" --search '(?s).' --max-count 1 --json "$archive" >"$WORK/$name.order"
	"$CKPTFS" --search "${flags[@]}" --max-match-bytes 0 -f "$WORK/$name.pats" --json "$archive" \
		>"$WORK/$name.multi" 2>"$WORK/$name.err"
	rc=$?
	for p in "$@"; do
		i=$((i + 1))
		"$CKPTFS" --search "${flags[@]}" --max-match-bytes 0 -e "$p" --json "$archive" >"$WORK/$name.$i" 2>/dev/null
		singles+=("$WORK/$name.$i")
	done
	check "$name: $# patterns at once give what each gives alone (exit $rc)" \
		$chk union "$WORK/$name.order" "$WORK/$name.multi" "${singles[@]}"
}

REGEXES=('APP_SECRET=[!-~]+' '[A-Z]+-MARKER-[a-z]+' 'MARKER-[a-z]+' '(?<=APP_)SECRET' '([A-Z])[A-Z]\1'
	'lib[a-z0-9_]+\.so(\.[0-9]+)*' 'GLIBC_2\.[0-9]+' '\bPATH=' '[0-9a-f]{16}' '/usr/[a-z]+/[a-z0-9_.-]+'
	'HOME=/[a-z/]*' 'PAGE-[0-9]+-[a-z]+')
for f in "$FIXTURES"/*.tar*; do
	n=$(basename "${f%%.tar*}")
	mapfile -t markers < <(jq -r 'keys[]' "$GOLDEN/$n/found.json")
	union "$n-F" "$f" -F -- "${markers[@]}" APP_SECRET ckpt /bin/ GLIBC
	union "$n-re" "$f" -- "${REGEXES[@]}"
	union "$n-i" "$f" -i -- "$(tr A-Z a-z <<<"${markers[0]}")" 'app_secret=[!-~]+' 'marker-[A-Z]+' \
		'(?<=app_)secret' 'glibc_2\.[0-9]+'
done
grep -F -e "note: pattern 4 '(?<=APP_)SECRET' ($WORK/wl-gamma-re.pats line 4) runs with PCRE2 alone" \
	-e "note: pattern 5 '([A-Z])[A-Z]\1' ($WORK/wl-gamma-re.pats line 5) runs with PCRE2 alone" "$WORK/wl-gamma-re.err" \
	>"$WORK/notes"
check "the regexes PCRE2 runs alone are named on stderr, with their line" sh -c \
	"test \$(wc -l <'$WORK/notes') -eq 2 && test \$(wc -l <'$WORK/wl-gamma-re.err') -eq 2"
for r in triage control-redis control-node rough-threads diff-t1; do
	union "real-$r" "$REAL/$r.tar.zst" -- "${REGEXES[@]}" 'redis[a-z_]*' 'node[a-z_:]*' '/bin/[a-z]+'
	union "real-$r-F" "$REAL/$r.tar.zst" -F -- ckpt redis node /bin/sh GLIBC_2 libc.so.6 '\x00' Linux
done

# Bad pattern lists: one line naming the file and line, exit 2.
a=$FIXTURES/wl-alpha.tar.zst
bad() { # bad DESC WANT: the pattern file $WORK/bad.txt is refused
	printf '%s\n' "$2" >"$WORK/want"
	"$CKPTFS" --search -f "$WORK/bad.txt" "$a" >"$WORK/out" 2>"$WORK/err"
	check "$1: exit 2, one line with: $2" sh -c \
		"test $? -eq 2 && test \$(wc -l <'$WORK/err') -eq 1 && grep -qF -f '$WORK/want' '$WORK/err' && ! test -s '$WORK/out'"
}
: >"$WORK/bad.txt"
bad "an empty pattern file" "bad.txt: no pattern in it"
printf 'one\ntwo\n\nfour\n' >"$WORK/bad.txt"
bad "an empty line" "pattern 3 '' (${WORK}/bad.txt line 3) is empty"
printf 'one\na*\n' >"$WORK/bad.txt"
bad "a regex that matches the empty string" "pattern 2 'a*' (${WORK}/bad.txt line 2) can match the empty string"
printf 'one\ntwo\nthree\nfo(ur\n' >"$WORK/bad.txt"
bad "a bad regex" "(${WORK}/bad.txt line 4): missing closing parenthesis"
printf 'one\ntw\0o\n' >"$WORK/bad.txt"
bad "a NUL byte" "bad.txt line 2: a pattern cannot hold a NUL byte"

# 100,000 strings, the secret last: found, and named by its line.
python3 -c "
import random
r = random.Random(5)
for i in range(99999):
    print(''.join(r.choice('0123456789abcdef') for _ in range(r.choice((32, 40)))))
print('s3cr3t-alpha-7731')" >"$WORK/iocs.txt"
"$CKPTFS" --search -F -f "$WORK/iocs.txt" --json "$a" >"$WORK/iocs.jsonl"
check "100,000 strings: exit 0, the secret found in both processes, pattern 100000" sh -c \
	"test $? -eq 0 && test \$(jq -r 'select(.pattern_index == 100000 and .match == \"s3cr3t-alpha-7731\") | .pid' '$WORK/iocs.jsonl' | sort -u | wc -l) -eq 2"

# A regex that backtracks for ever (a back-reference over 300 KB of 'a'
# planted after MARKER-gamma in pid 1's 1 MiB mapping): reported with its
# pattern, pid and addresses, exit 2, and the markers are still found.
mkdir -p "$WORK/g"
tar -xf "$FIXTURES/wl-gamma.tar" -C "$WORK/g" || fail "extract wl-gamma.tar"
at=$(python3 - "$WORK/g/checkpoint" <<'EOF'
import os, sys
from ckimg import fdict, read_img
d = sys.argv[1]
v = fdict(read_img(os.path.join(d, "pagemap-1.img"))[1][0]).get(1, 0)	# pagemap_head's pages_id
path = os.path.join(d, "pages-%d.img" % v)
img = bytearray(open(path, "rb").read())
# the marker of the 1 MiB mapping at 0x7f90fdd95026 (dense offset 0x41d026)
off = 0x41d026
assert img[off:off + 12] == b"MARKER-gamma", img[off:off + 12]
img[off + 0x1000:off + 0x1000 + 300000] = b"a" * 300000
img[off + 0x1000 + 300000:off + 0x1000 + 300002] = b"bc"
open(path, "wb").write(bytes(img))
print("0x%x" % (0x7f90fdd95026 + 0x1000))
EOF
)
"$CKPTFS" --search -e MARKER-gamma -e '(a+)\1+c' --pid 1 "$WORK/g" >"$WORK/out" 2>"$WORK/err"
rc=$?
check "catastrophic regex: exit 2" test "$rc" -eq 2
check "catastrophic regex: the limit names the pattern, pid 1 and addresses around the run at $at" python3 - \
	"$WORK/err" "$at" <<'EOF'
import re, sys
at = int(sys.argv[2], 16)
lines = open(sys.argv[1]).read().splitlines()
print("#", *lines[:3], sep="\n# ")
hits = [l for l in lines if "pid 1: pattern 2 '(a+)\\1+c'" in l and "limit reached" in l]
spans = [tuple(int(x, 16) for x in m) for l in hits for m in re.findall(r"in 0x([0-9a-f]+)-0x([0-9a-f]+)", l)]
sys.exit(0 if hits and any(s < at + 300000 and e > at for s, e in spans) else 1)
EOF
check "catastrophic regex: the markers of pid 1 are still found" \
	test "$(cut -f6 "$WORK/out" | sort -u)" = "MARKER-gamma"

# --max-match-bytes: 600-byte matches print 256 bytes and their length.
g=$FIXTURES/wl-gamma.tar
"$CKPTFS" --search '(?s).{600}' --pid 1 --max-count 2 "$g" >"$WORK/out"
check "text: the match is cut with its length" sh -c "test \$(grep -c '\.\.\.\[600 bytes\]$' '$WORK/out') -eq 2"
"$CKPTFS" --search '(?s).{600}' --pid 1 --max-count 2 --json "$g" >"$WORK/cut.jsonl"
"$CKPTFS" --search '(?s).{600}' --pid 1 --max-count 2 --json --max-match-bytes 0 "$g" >"$WORK/all.jsonl"
check "json: 256 bytes of hex, length 600, truncated" jq -e -s \
	'length == 2 and all(.[]; (.hex | length) == 512 and .length == 600 and .truncated == true)' "$WORK/cut.jsonl"
check "--max-match-bytes 0: all 600 bytes, their first 256 the cut ones" python3 -c "
import json, sys
c = [json.loads(l) for l in open(sys.argv[1])]
a = [json.loads(l) for l in open(sys.argv[2])]
sys.exit(0 if len(a) == 2 and all(len(y['hex']) == 1200 and 'truncated' not in y and y['hex'][:512] == x['hex']
                                   for x, y in zip(c, a)) else 1)" "$WORK/cut.jsonl" "$WORK/all.jsonl"
printf 'rule zeros { strings: $z = { %s } condition: $z }\n' "$(printf '00 %.0s' $(seq 300))" >"$WORK/zeros.yar"
"$CKPTFS" --yara "$WORK/zeros.yar" --pid 1 --max-count 1 --max-match-bytes 16 "$g" >"$WORK/out"
check "--yara: a 300-byte string match prints 16 bytes and its length" \
	grep -qx '.*	zeros:\$z	\(\\x00\)\{16\}\.\.\.\[300 bytes\]' "$WORK/out"

# A YARA file that ends inside a rule: libyara says line 0; its last line.
printf 'rule a {\n  strings:\n    $a = "x"\n  condition:\n    $a and\n' >"$WORK/cut.yar"
"$CKPTFS" --yara "$WORK/cut.yar" "$g" >/dev/null 2>"$WORK/err"
check "a YARA file cut inside a rule: exit 2, reported at its last line (5)" sh -c \
	"test $? -eq 2 && grep -q 'cut.yar:5: syntax error (the file ends before the rule does)' '$WORK/err'"
# More regular expressions than one run compiles: refused at once, one line.
python3 -c 'import sys
sys.stdout.writelines("[A-Z]{2}q%05d-[0-9a-f]{%d}\n" % (i, 6 + i % 9) for i in range(10001))' >"$WORK/rx10001.txt"
"$CKPTFS" --search -f "$WORK/rx10001.txt" "$g" >"$WORK/out" 2>"$WORK/err"
check "10,001 regular expressions: exit 2, one line saying the limit, nothing printed" sh -c \
	"test $? -eq 2 && test \$(wc -l <'$WORK/err') -eq 1 && grep -q '10001 regular expressions given (-e, -f): at most 10000' '$WORK/err' && test ! -s '$WORK/out'"
finish
