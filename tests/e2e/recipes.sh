#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every README.md code block marked <!-- recipe --> runs as written, in
# order, from the source directory, and prints what its expect="..." says.
# The blocks mount on /tmp/ck and /tmp/ck-beta, so they run in a private
# mount namespace where those mounts cannot clash with anything else. A block
# with needs="PATH" is skipped while PATH does not exist (a view not built
# yet).
. "$(dirname "$0")/lib.sh"
need python3 unshare jq strings grep dd awk
: "${CKPTFS_SRC:?}"
unshare -m true 2>/dev/null || skip "cannot create a mount namespace (needs root)"

python3 - "$CKPTFS_SRC/README.md" "$WORK/recipes" <<'PY' || { fail "extract the recipes"; finish; }
import os, re, shlex, sys
text = open(sys.argv[1]).read()
out = sys.argv[2]
os.makedirs(out)
blocks = re.findall(r"^<!-- recipe(.*?)-->\n```(?:sh|bash)\n(.*?)^```$", text, re.M | re.S)
for i, (attrs, code) in enumerate(blocks):
    meta = dict(re.findall(r'(\w+)="([^"]*)"', attrs))
    with open(f"{out}/{i:02d}.sh", "w") as f:
        f.write(code)
    with open(f"{out}/{i:02d}.meta", "w") as f:
        f.write(f"expect={shlex.quote(meta.get('expect', ''))}\nneeds={shlex.quote(meta.get('needs', ''))}\n")
print(len(blocks), "recipes", file=sys.stderr)
PY
n=$(ls "$WORK/recipes"/*.sh | wc -l)
check "README.md has recipes ($n)" test "$n" -ge 5

# Run them all inside one private mount namespace; report TAP lines from there.
cat >"$WORK/run.sh" <<'RUN'
cd "$CKPTFS_SRC" || exit 1
export PATH=$(dirname "$CKPTFS"):$PATH
trap 'for m in /tmp/ck /tmp/ck-beta /tmp/ck-contained; do mountpoint -q $m && fusermount3 -u $m; done' EXIT
for r in "$RECIPES"/*.sh; do
	expect= needs=
	. "${r%.sh}.meta"
	name="$(basename "$r" .sh): $(grep -m1 -v '^\s*$' "$r" | cut -c1-60)"
	if [ -n "$needs" ] && [ ! -e "$needs" ]; then
		echo "skip $name (no $needs yet)"
		continue
	fi
	if ! bash -e "$r" >"$r.out" 2>&1; then
		echo "fail $name: exit status $?"; sed 's/^/#   /' "$r.out"
	elif [ -n "$expect" ] && ! grep -qF -- "$expect" "$r.out"; then
		echo "fail $name: no '$expect' in the output"; sed 's/^/#   /' "$r.out"
	else
		echo "pass $name"
	fi
done
RUN
mkdir -p /tmp/ck /tmp/ck-beta
CKPTFS_SRC=$CKPTFS_SRC CKPTFS=$CKPTFS RECIPES=$WORK/recipes \
	unshare -m --propagation private bash "$WORK/run.sh" >"$WORK/results" 2>&1
rmdir /tmp/ck /tmp/ck-beta /tmp/ck-contained 2>/dev/null
while IFS= read -r line; do
	case $line in
	pass\ *) ok "recipe ${line#pass }" ;;
	fail\ *) fail "recipe ${line#fail }" ;;
	skip\ *) echo "# SKIP recipe ${line#skip }" ;;
	*) echo "$line" ;;
	esac
done <"$WORK/results"
finish
