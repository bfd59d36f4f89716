#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Mount one fixture and check the whole tree with real tools against the
# goldens made by CRIU's own crit: members byte for byte, images/*.json,
# /proc-style files, memory.   usage: mount.sh FIXTURE-FILE
. "$(dirname "$0")/lib.sh"
need jq python3 sha256sum tar cmp

file=$1
name=${file%%.tar*}
archive=$FIXTURES/$file
gold=$GOLDEN/$name
mnt=$WORK/mnt
mount_ck "$archive" "$mnt" || { fail "mount $file"; finish; }
ok "mount $file"

# Every archive member is byte-identical to the archive.
bad=0
while read -r sum path; do
	got=$(sha256sum "$mnt/${path#./}" 2>/dev/null | cut -d' ' -f1)
	[ "$got" = "$sum" ] || { echo "# member $path: ${got:-unreadable}"; bad=$((bad + 1)); }
done < "$gold/members.sha256"
check "every member of members.sha256 is byte-identical" test "$bad" -eq 0

# images/<name>.json equals `crit decode --pretty`, byte for byte.
bad=0; n=0
for g in "$gold"/pretty/*.img.json; do
	b=$(basename "$g" .img.json)
	n=$((n + 1))
	cmp -s "$g" "$mnt/images/$b.json" || { echo "# images/$b.json differs from crit decode --pretty"; bad=$((bad + 1)); }
done
check "all $n images/*.json equal crit decode --pretty" test "$bad" -eq 0
check "images/ lists exactly the decodable images" \
	diff <(ls "$gold/pretty" | sed 's/\.img\.json$//; s/\.json$//' | sort) <(ls "$mnt/images" | sed 's/\.json$//' | sort)
check "jq reads images/pstree.json" jq -e '.magic == "PSTREE" and (.entries | length) > 0' "$mnt/images/pstree.json"

# /proc-style files against proc.json, memhash.json and found.json.
python3 "$(dirname "$0")/check_proc.py" "$mnt" "$gold" && ok "proc views, memory and markers match the goldens" \
	|| fail "proc views, memory and markers match the goldens"

# Every file can be listed and read completely: stat sizes are true.
python3 - "$mnt" <<'PY' && ok "every regular file reads exactly st_size bytes" || fail "every regular file reads exactly st_size bytes"
import os, sys
root = sys.argv[1]; bad = 0
for d, dirs, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        if os.path.islink(p) or f == 'mem':
            continue
        st = os.stat(p)
        with open(p, 'rb') as fh:
            n = len(fh.read())
        if n != st.st_size:
            print('#', p, 'size', st.st_size, 'read', n); bad += 1
sys.exit(1 if bad else 0)
PY
check "ls -lR over the whole mount succeeds" sh -c "ls -lR '$mnt' >/dev/null"

# The mount is read-only.
check "writing is refused" sh -c "! touch '$mnt/newfile' 2>/dev/null && ! sh -c 'echo x > \"$mnt/config.dump\"' 2>/dev/null"

# Plain JSON: -o json=plain gives `crit decode` output.
mount_ck "$archive" "$WORK/plain" -o json=plain || fail "mount -o json=plain"
bad=0
for g in "$gold"/plain/*.img.json; do
	b=$(basename "$g" .img.json)
	cmp -s "$g" "$WORK/plain/images/$b.json" || { echo "# plain images/$b.json differs"; bad=$((bad + 1)); }
done
check "-o json=plain: all images equal crit decode" test "$bad" -eq 0
umount_ck "$WORK/plain"
umount_ck "$mnt"
finish
