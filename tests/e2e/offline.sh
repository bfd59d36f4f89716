#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ckptfs --ls/--cat/--readlink show the same tree as the mount, byte for
# byte: every directory listing, every file and every link target of each
# fixture. /<pid>/mem reports size 0 and ends at address 0 (unmapped), as
# both readers must agree; only its first 16 MiB would be compared anyway.
. "$(dirname "$0")/lib.sh"
need cmp find head
fixture=${1:-wl-alpha.tar.zst}
archive=$FIXTURES/$fixture
mnt=$WORK/m
mount_ck "$archive" "$mnt" || { fail "mount $fixture"; finish; }

bad_ls=0 bad_cat=0 bad_link=0 n_ls=0 n_cat=0 n_link=0
while IFS= read -r -d '' path; do
	rel=${path#"$mnt"}
	rel=${rel:-/}
	if [ -L "$path" ]; then
		n_link=$((n_link + 1))
		want=$(readlink "$path"; echo x)
		got=$("$CKPTFS" --readlink "$archive" "$rel"; echo x)
		[ "$want" = "$got" ] || { bad_link=$((bad_link + 1)); echo "# readlink differs: $rel"; }
	elif [ -d "$path" ]; then
		n_ls=$((n_ls + 1))
		# readdir order, without . and ..
		cmp -s <(python3 -c 'import os, sys; print("\n".join(os.listdir(sys.argv[1])))' "$path" | sed '/^$/d') \
			<("$CKPTFS" --ls "$archive" "$rel") || { bad_ls=$((bad_ls + 1)); echo "# --ls differs: $rel"; }
	elif [ "${rel##*/}" = mem ]; then
		n_cat=$((n_cat + 1))
		cmp -s <(head -c 16M "$path") <("$CKPTFS" --cat "$archive" "$rel" | head -c 16M) ||
			{ bad_cat=$((bad_cat + 1)); echo "# --cat differs: $rel (first 16 MiB)"; }
	else
		n_cat=$((n_cat + 1))
		if cat "$path" >/dev/null 2>&1; then
			cmp -s "$path" <("$CKPTFS" --cat "$archive" "$rel") ||
				{ bad_cat=$((bad_cat + 1)); echo "# --cat differs: $rel"; }
		else
			# a file whose image is damaged fails to read on both sides
			"$CKPTFS" --cat "$archive" "$rel" >/dev/null 2>&1 &&
				{ bad_cat=$((bad_cat + 1)); echo "# --cat reads $rel, the mount fails"; }
		fi
	fi
done < <(find "$mnt" -print0)
check "--ls matches readdir for all $n_ls directories" test "$bad_ls" -eq 0
check "--cat matches the mount for all $n_cat files" test "$bad_cat" -eq 0
check "--readlink matches for all $n_link symlinks" test "$bad_link" -eq 0
check "--ls without PATH lists the root" cmp -s <(ls -f "$mnt" | grep -vx '\.\.\?') <("$CKPTFS" --ls "$archive")

# streaming: a pipe that stops early must not make ckptfs read everything first
if [ -e "$mnt/1/pages" ]; then
	check "--cat 1/pages | strings works" sh -c "'$CKPTFS' --cat '$archive' 1/pages | strings | grep -q ."
fi

# errors: exit 2 for a missing path or the wrong kind, 1 for usage
"$CKPTFS" --cat "$archive" /no/such 2>/dev/null; check "--cat of a missing path exits 2" test $? -eq 2
"$CKPTFS" --cat "$archive" /1 2>/dev/null; check "--cat of a directory exits 2" test $? -eq 2
link=$(cd "$mnt" && find . -type l -print -quit)
"$CKPTFS" --cat "$archive" "${link#.}" 2>/dev/null; check "--cat of a symlink exits 2 (nothing is followed)" test $? -eq 2
"$CKPTFS" --ls "$archive" /1/status 2>/dev/null; check "--ls of a file exits 2" test $? -eq 2
"$CKPTFS" --readlink "$archive" /1/status 2>/dev/null; check "--readlink of a file exits 2" test $? -eq 2
"$CKPTFS" --cat "$archive" 2>/dev/null; check "--cat without PATH exits 1" test $? -eq 1
"$CKPTFS" --ls "$WORK/missing.tar" 2>/dev/null; check "--ls of a missing archive exits 10" test $? -eq 10
umount_ck "$mnt"
finish
