#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# /rootfs-diff/, /devshm/ and /tmpfs/<dev>/: the tars inside a checkpoint as
# trees. The listing must match the golden `tar tv` of rootfs-diff.tar (modes,
# sizes, times; fifos, sockets and devices are left out by design) and every
# file must hold what `tar -xO` extracts.   usage: rootfs.sh FIXTURE-FILE
. "$(dirname "$0")/lib.sh"
need tar cmp stat find sort diff

file=$1
name=${file%%.tar*}
gold=$GOLDEN/$name
mnt=$WORK/mnt
export TZ=UTC
mount_ck "$FIXTURES/$file" "$mnt" || { fail "mount $file"; finish; }

# "MODE SIZE DATE TIME PATH" for files, symlinks and directories.
awk '$1 ~ /^[-dl]/ { p = $6; sub(/\/$/, "", p); if (p != "." && p != "") print $1, ($1 ~ /^d/ ? "dir" : $3), $4, $5, p }' \
	"$gold/rootfs-diff-list.txt" | sort -k5 > "$WORK/want"
(cd "$mnt/rootfs-diff" && find . -mindepth 1 -printf '%M %s %TY-%Tm-%Td %TH:%TM %P\n') |
	awk '{ print $1, ($1 ~ /^d/ ? "dir" : $2), $3, $4, $5 }' | sort -k5 > "$WORK/got-all"
# directories a tar leaves implicit are shown but not listed in the golden
join -1 5 -2 1 -o 1.1,1.2,1.3,1.4,1.5 <(sort -k5 "$WORK/got-all") <(awk '{ print $5 }' "$WORK/want" | sort) \
	| sort -k5 > "$WORK/got"
check "the golden listing is not empty" test -s "$WORK/want"
check "rootfs-diff/ lists every golden entry with its mode, size and time" diff "$WORK/want" "$WORK/got"
check "rootfs-diff/ shows nothing that is not in rootfs-diff.tar" sh -c \
	"cd '$mnt/rootfs-diff' && find . -mindepth 1 ! -type d -printf '%P\n' | while read -r p; do tar -tf '$mnt/rootfs-diff.tar' | sed 's|^\./||' | grep -qx \"\$p\" || exit 1; done"

bad=0
while read -r p; do
	cmp -s <(tar -xOf "$mnt/rootfs-diff.tar" "$p" 2>/dev/null || tar -xOf "$mnt/rootfs-diff.tar" "./$p") "$mnt/rootfs-diff/$p" ||
		{ echo "# rootfs-diff/$p differs from tar -xO"; bad=$((bad + 1)); }
done < <(cd "$mnt/rootfs-diff" && find . -type f -printf '%P\n')
check "every rootfs-diff/ file equals tar -xO of its member" test "$bad" -eq 0
if tar -tf "$mnt/rootfs-diff.tar" | grep -q 'tmp/addrs.txt$'; then
	check "cat rootfs-diff/tmp/addrs.txt" cmp "$gold/addrs.txt" "$mnt/rootfs-diff/tmp/addrs.txt"
fi

# devshm-checkpoint.tar and the tmpfs-dev-*.tar.gz.img images
check "devshm/ is a directory" test -d "$mnt/devshm"
# same_link PATH STORED SHOWN: SHOWN, read from the link at PATH of a tree,
# leads where STORED leads when "/" is the tree's root and ".." stops there.
same_link() {
	python3 - "$@" <<'PY'
import posixpath as pp, sys
path, stored, shown = sys.argv[1:]
d = pp.dirname('/' + path)
want = pp.normpath(stored if stored.startswith('/') else pp.join(d, stored))
got = pp.normpath(pp.join(d, shown))
sys.exit(0 if not shown.startswith('/') and want == got else 1)
PY
}
lst() { sed 's|^\./||; s|/$||' | grep -v '^\.\?$' | sort; }
bad=0; n=0
for img in "$mnt"/checkpoint/tmpfs-dev-*.tar.gz.img; do
	dev=${img##*/tmpfs-dev-}; dev=${dev%.tar.gz.img}
	n=$((n + 1))
	want=$(tar -tzvf "$img" | awk '$1 ~ /^[-dl]/ { print $6 }' | lst)
	got=$(cd "$mnt/tmpfs/$dev" && find . -mindepth 1 -printf '%P\n' | lst)
	[ "$want" = "$got" ] || { echo "# tmpfs/$dev lists differently"; diff <(echo "$want") <(echo "$got"); bad=$((bad + 1)); }
	while read -r p; do
		[ -n "$p" ] || continue
		if [ -L "$mnt/tmpfs/$dev/$p" ]; then
			t=$(tar -tzvf "$img" | awk -v p="$p" '{ q = $6; sub(/^\.\//, "", q) } q == p && $1 ~ /^l/ { print $8 }')
			same_link "$p" "$t" "$(readlink "$mnt/tmpfs/$dev/$p")" || { echo "# tmpfs/$dev/$p link"; bad=$((bad + 1)); }
		elif [ -f "$mnt/tmpfs/$dev/$p" ]; then
			cmp -s <(tar -xzOf "$img" "./$p") "$mnt/tmpfs/$dev/$p" || { echo "# tmpfs/$dev/$p"; bad=$((bad + 1)); }
		fi
	done <<<"$got"
done
check "all $n tmpfs/<dev>/ trees match tar -tzv and tar -xzO" test "$bad" -eq 0
umount_ck "$mnt"
finish
