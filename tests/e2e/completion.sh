#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# completion/ckptfs: sourced into bash it registers `complete -F _ckptfs
# ckptfs` and completes options, -o values, archives and (after --ls/--cat)
# paths inside the archive's tree. Needs no /dev/fuse.
set -u
: "${CKPTFS:?}" "${CKPTFS_SRC:?}" "${CKPTFS_DATA:?}"
checks=0 failures=0
ok() { checks=$((checks + 1)); echo "ok $checks - $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok $checks - $*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$CKPTFS_DATA/fixtures/wl-alpha.tar.zst" "$work/a.tar.zst"
: >"$work/notes.txt"
mkdir "$work/extracted"

# complete_words WORD...: the completions bash offers for the last WORD
complete_words() {
	(
		cd "$work" || exit 1
		PATH=$(dirname "$CKPTFS"):$PATH
		. "$CKPTFS_SRC/completion/ckptfs"
		COMP_WORDS=(ckptfs "$@")
		COMP_CWORD=$#
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		_ckptfs 2>/dev/null
		printf '%s\n' "${COMPREPLY[@]}" | sort
	)
}
expect() { # expect DESC WANTED-LINES -- WORD...
	local desc=$1 want=$2 got
	shift 3
	got=$(complete_words "$@")
	if [ "$got" = "$want" ]; then ok "$desc"; else fail "$desc: got [$got] want [$want]"; fi
}

spec=$(bash -c ". '$CKPTFS_SRC/completion/ckptfs' && complete -p ckptfs")
if [ "$spec" = "complete -F _ckptfs ckptfs" ]; then ok "complete -p ckptfs: $spec"; else fail "complete -p ckptfs: [$spec]"; fi
expect "--c completes the mode --cat only" "--cat" -- --c
expect "after --build-oci, --c completes its --compress" "--compress" -- --build-oci --c
expect "after --search, --max-c completes --max-count (from --search --help)" "--max-count" -- --search --max-c
expect "after --yara R, -F is not offered (not a flag of --yara)" "" -- --yara r.yar -F
expect "--rea completes --readlink" "--readlink" -- --rea
expect "--rec completes --recompress" "--recompress" -- --rec
expect "-o js completes the json= values" "$(printf 'json=plain\njson=pretty')" -- -o js
expect "-o ro,allow_o completes after the comma" "ro,allow_other" -- -o ro,allow_o
expect "first argument: archives and directories only" "$(printf 'a.tar.zst\nextracted')" -- ""
expect "second argument when mounting: directories" "extracted" -- a.tar.zst ""
expect "--ls ARCHIVE 1/st completes inside the tree" "$(printf '1/stat\n1/statm\n1/status')" -- --ls a.tar.zst 1/st
expect "--cat ARCHIVE ima completes a directory with a slash" "images/" -- --cat a.tar.zst ima
expect "--build-o completes --build-oci" "--build-oci" -- --build-o
expect "--compress completes gzip and zstd" "$(printf 'gzip\nzstd')" -- --build-oci a.tar.zst out --compress ""
expect "-o ima completes image=" "image=" -- -o ima
expect "--sea completes --search" "--search" -- --sea
expect "--search: its options after a dash" "$(printf -- '--max-count')" -- --search --max-c
expect "--search PATTERN: then archives" "$(printf 'a.tar.zst\nextracted')" -- --search secret ""
expect "--search PATTERN: nothing for the pattern itself" "" -- --search ""
expect "--search -e P: the first operand is the archive" "$(printf 'a.tar.zst\nextracted')" -- --search -e P ""
expect "--yara: a file" "$(printf 'a.tar.zst\nextracted\nnotes.txt')" -- --yara ""
expect "--yara RULES: archives" "$(printf 'a.tar.zst\nextracted')" -- --yara notes.txt ""
expect "--where PID OFFSET: archives" "$(printf 'a.tar.zst\nextracted')" -- --where 1 4096 ""
echo "1..$checks"
[ "$failures" -eq 0 ]
