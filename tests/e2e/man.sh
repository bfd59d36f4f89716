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

# --help is printed from the table of modes (src/cli/cli-args.c): every
# mode of its usage lines is in the man page's SYNOPSIS, and every flag and
# -o option of every mode's section is documented
"$CKPTFS" --help >"$work/help"
sed -n 's/^\(usage:\)\? *ckptfs --\([a-z-]*\).*/\2/p' "$work/help" >"$work/modes"
sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$work/mandoc.txt" >"$work/synopsis"
missing=
while read -r m; do
	grep -qE -- "ckptfs --$m( |$)|--$m \|| \| --$m" "$work/synopsis" || missing="$missing --$m"
done <"$work/modes"
if [ -n "$missing" ]; then fail "modes of --help not in SYNOPSIS:$missing"
elif [ "$(wc -l <"$work/modes")" -lt 8 ]; then fail "--help lists only $(wc -l <"$work/modes") modes"
else ok "SYNOPSIS names all $(wc -l <"$work/modes") modes of --help"; fi
sed -n '/^Options of /,/^$/p' "$work/help" |
	grep -oE '^ +(-o [a-z_]+=?|--?[a-zA-Z][a-zA-Z-]*)(, --[a-zA-Z-]+)?' |
	grep -oE '(-o [a-z_]+=?|--?[a-zA-Z][a-zA-Z-]*)' | sed 's/^-o //' | sort -u >"$work/opts"
missing=
while read -r o; do
	grep -qF -- "$o" "$work/mandoc.txt" || missing="$missing $o"
done <"$work/opts"
if [ -z "$missing" ]; then ok "the man page documents all $(wc -l <"$work/opts") options of --help"; else fail "not in the man page:$missing"; fi
# each mode's own --help lists its section, and nothing of the others'
while read -r m; do
	"$CKPTFS" "--$m" --help >"$work/mhelp" 2>&1 ||
		{ fail "ckptfs --$m --help exits non-zero"; continue; }
	grep -q "^Options of --$m:" "$work/mhelp" || grep -q "^usage: ckptfs --$m" "$work/mhelp" ||
		fail "ckptfs --$m --help does not describe --$m"
done <"$work/modes"
ok "each mode's --help describes that mode"
# and every exit status of --help
for code in 0 1 2 3 10 11 12 20; do
	if "$CKPTFS" --help | grep -qE "(^|[ :,])$code " && ! sed -n '/^EXIT STATUS/,/^EXAMPLES/p' "$work/mandoc.txt" | grep -qE "^ +$code([[:space:]]|\$)"; then
		fail "exit status $code is in --help but not under EXIT STATUS"
	fi
done
ok "exit statuses of --help are under EXIT STATUS"
echo "1..$checks"
[ "$failures" -eq 0 ]
