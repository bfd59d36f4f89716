#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# man/ckptfs.1 renders with man(1) and lints clean with mandoc -Tlint, and
# every option that `ckptfs --help` lists is documented in it. Needs no
# /dev/fuse.
set -u
: "${CKPTFS:?}" "${CKPTFS_SRC:?}"
page=$CKPTFS_SRC/man/ckptfs.1
checks=0 failures=0
ok() { checks=$((checks + 1)); echo "ok $checks - $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok $checks - $*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if command -v man >/dev/null; then
	MANWIDTH=80 man -l "$page" >"$work/man.txt" 2>"$work/man.err"
	if [ $? -eq 0 ] && [ ! -s "$work/man.err" ] && grep -q 'EXIT STATUS' "$work/man.txt"; then
		ok "man -l renders without warnings ($(wc -l <"$work/man.txt") lines)"
	else
		fail "man -l: $(head -5 "$work/man.err")"
	fi
else
	echo "# man not installed: skipped man -l"
fi
if command -v mandoc >/dev/null; then
	# -W warning: errors and warnings, not style hints
	if mandoc -Tlint -W warning "$page" >"$work/lint" 2>&1; then
		ok "mandoc -Tlint -W warning is clean"
	else
		fail "mandoc -Tlint:"; sed 's/^/# /' "$work/lint"
	fi
	mandoc -Tascii "$page" | col -b >"$work/mandoc.txt"
else
	echo "# mandoc not installed: skipped the lint"
	cp "$work/man.txt" "$work/mandoc.txt" 2>/dev/null || col -b <"$page" >"$work/mandoc.txt"
fi
[ "$checks" -gt 0 ] || { echo "1..0 # SKIP neither man nor mandoc"; exit 77; }

# every option of the ckptfs section of --help is in the man page
"$CKPTFS" --help | sed -n '/^ckptfs options:/,/^$/p; /^Search the memory/,/^$/p' |
	grep -oE '(^|[ ,])(-o [a-z_]+=?|--?[a-zA-Z-]+)' | sed 's/^[ ,]//; s/^-o //' | sort -u >"$work/opts"
missing=
while read -r o; do
	grep -qF -- "$o" "$work/mandoc.txt" || missing="$missing $o"
done <"$work/opts"
if [ -z "$missing" ]; then ok "the man page documents all $(wc -l <"$work/opts") options of --help"; else fail "not in the man page:$missing"; fi
# and every exit status of --help
for code in 0 1 2 3 10 11 12 20; do
	if "$CKPTFS" --help | grep -qE "(^|[ :,])$code " && ! sed -n '/^EXIT STATUS/,/^EXAMPLES/p' "$work/mandoc.txt" | grep -qE "^ +$code([[:space:]]|\$)"; then
		fail "exit status $code is in --help but not under EXIT STATUS"
	fi
done
ok "exit statuses of --help are under EXIT STATUS"
echo "1..$checks"
[ "$failures" -eq 0 ]
