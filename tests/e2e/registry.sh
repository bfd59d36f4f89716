#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docker:// references against a real registry: Debian's docker-registry
# (distribution) on a free loopback port, filesystem storage in the test's
# directory, images made by ckptfs --build-oci and pushed by skopeo. The
# reference is mounted and compared with the mount of the local image
# (1/status, container.json, images/*.json, the checkpoint's files, memory
# reads), searched (the same hits as the local file), and its bad forms
# give one line and the right exit: an unknown tag, a repository that is
# no checkpoint, wrong or missing credentials (a second registry with
# htpasswd Basic auth), and a corrupted layer blob in the registry's
# storage (EIO on the files of that frame, one line on stderr; a gzip layer,
# fetched whole, fails its digest).
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo python3 cmp diff
MKOCI="python3 $(dirname "$0")/mkoci.py"
src=$FIXTURES/wl-gamma.tar

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry NAME [AUTH]: a registry on 127.0.0.1:<free port>, storing
# in $WORK/NAME, with the YAML lines AUTH under auth: (none if empty); sets PORT
start_registry() {
	local name=$1 auth=${2:-} dir=$WORK/$1
	PORT=$(free_port)
	mkdir -p "$dir/data"
	{
		printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$dir/data"
		printf 'http:\n  addr: 127.0.0.1:%s\n' "$PORT"
		[ -n "$auth" ] && printf 'auth:\n%s\n' "$auth"
	} >"$dir/config.yml"
	docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
	DAEMONS+=("$!")
	for _ in $(seq 100); do
		python3 - "$PORT" <<-'EOF' 2>/dev/null && return 0
			import sys, urllib.request, urllib.error
			try:
			    urllib.request.urlopen("http://127.0.0.1:%s/v2/" % sys.argv[1], timeout=1)
			except urllib.error.HTTPError as e:
			    sys.exit(0 if e.code == 401 else 1)
		EOF
		sleep 0.1
	done
	cat "$dir/log"
	return 1
}

push() { # push SRC DEST [skopeo options...]
	local from=$1 to=$2; shift 2
	skopeo copy -q --dest-tls-verify=false "$@" "$from" "$to" >"$WORK/push.log" 2>&1 || { cat "$WORK/push.log"; return 1; }
}

start_registry plain || { fail "start docker-registry"; finish; }
reg=127.0.0.1:$PORT
"$CKPTFS" --build-oci --compress zstd --ref wl:zstd "$src" "$WORK/zstd.tar" || fail "build the zstd image"
"$CKPTFS" --build-oci --ref wl:gzip "$src" "$WORK/gzip.tar" || fail "build the gzip image"
push "oci-archive:$WORK/zstd.tar" "docker://$reg/ckpt/wl:zstd" && ok "skopeo pushes the zstd image" || fail "push zstd"
push "oci-archive:$WORK/gzip.tar" "docker://$reg/ckpt/wl:gzip" && ok "skopeo pushes the gzip image" || fail "push gzip"
export CKPTFS_FETCH_LOG=$WORK/fetch.log

# same_files LOCAL REMOTE DESC: the files an analyst reads first, byte for byte
same_files() {
	local l=$1 r=$2 desc=$3 bad=0 n=0 f
	while IFS= read -r -d '' f; do
		n=$((n + 1))
		cmp -s "$l/$f" "$r/$f" || { bad=$((bad + 1)); echo "differs: $f"; }
	done < <(cd "$l" && find 1/status 1/maps 1/cmdline 1/environ images checkpoint spec.dump config.dump -type f -print0)
	check "$desc: $n files byte-identical to the local image's" test "$bad" -eq 0 -a "$n" -gt 20
	check "$desc: container.json equal but for oci_image" diff \
		<(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("oci_image",None); print(json.dumps(d,sort_keys=True))' "$l/container.json") \
		<(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("oci_image",None); print(json.dumps(d,sort_keys=True))' "$r/container.json")
	check "$desc: container.json names the registry and the reference" \
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["oci_image"]; sys.exit(d["format"] != "registry" or not d["reference"].endswith("/ckpt/wl:'"${desc%% *}"'"))' "$r/container.json"
	# memory: the first 64 KiB of every readable mapping of process 1
	python3 - "$l" "$r" <<-'EOF' && ok "$desc: 1/mem reads equal" || fail "$desc: 1/mem reads differ"
		import sys
		l, r = sys.argv[1:]
		n = 0
		for line in open(l + "/1/maps"):
		    a, b = (int(x, 16) for x in line.split()[0].split("-"))
		    if line.split()[1][0] != "r":
		        continue
		    with open(l + "/1/mem", "rb") as fl, open(r + "/1/mem", "rb") as fr:
		        fl.seek(a); fr.seek(a)
		        x, y = fl.read(min(b - a, 65536)), fr.read(min(b - a, 65536))
		    if x != y:
		        sys.exit("differs at %x" % a)
		    n += len(x)
		sys.exit(0 if n else "nothing read")
	EOF
}

mount_ck "$WORK/zstd.tar" "$WORK/local" || { fail "mount the local image"; finish; }
for t in zstd gzip; do
	if mount_ck "docker://$reg/ckpt/wl:$t" "$WORK/r-$t" -o tls_verify=false; then
		ok "mount docker://$reg/ckpt/wl:$t"
		same_files "$WORK/local" "$WORK/r-$t" "$t layer"
		umount_ck "$WORK/r-$t"
	else
		fail "mount docker://$reg/ckpt/wl:$t"
	fi
done
check "the zstd layer was read through its member index" grep -q . "$CKPTFS_FETCH_LOG"

# zstd:chunked as skopeo pushes it: read through its table of contents
# (docs/formats.md §10), a part of the layer fetched, the files the same
# (4 MiB of random bytes added as a member, so that the layer is many of
# the 256 KiB blocks fetched at a time)
python3 - "$src" "$WORK/big.tar" <<'EOF2'
import io, os, sys, tarfile
with tarfile.open(sys.argv[1]) as i, tarfile.open(sys.argv[2], "w") as o:
    for m in i.getmembers():
        o.addfile(m, i.extractfile(m) if m.isfile() else None)
    t = tarfile.TarInfo("extra/random.bin"); t.size = 4 << 20
    o.addfile(t, io.BytesIO(os.urandom(t.size)))
EOF2
"$CKPTFS" --build-oci --ref wl:big "$WORK/big.tar" "$WORK/big-oci.tar" >/dev/null || fail "build the big image"
if push "oci-archive:$WORK/big-oci.tar" "docker://$reg/ckpt/wl:chunked" --dest-compress-format zstd:chunked; then
	ok "skopeo pushes the image as zstd:chunked"
	lsize=$(skopeo inspect --tls-verify=false --raw "docker://$reg/ckpt/wl:chunked" | jq '.layers[0].size')
	if mount_ck "docker://$reg/ckpt/wl:chunked" "$WORK/r-chunked" -o tls_verify=false; then
		same_files "$WORK/local" "$WORK/r-chunked" "chunked layer"
		umount_ck "$WORK/r-chunked"
	else
		fail "mount docker://$reg/ckpt/wl:chunked"
	fi
	CKPTFS_FETCH_LOG=$WORK/fetch-chunked.log "$CKPTFS" --cat -o tls_verify=false "docker://$reg/ckpt/wl:chunked" \
		images/inventory.json >/dev/null
	got=$(sed -n 's/.*bytes=//p' "$WORK/fetch-chunked.log" | tail -1)
	check "zstd:chunked: --cat of one image fetched ${got:-?} of the layer's $lsize bytes (less than half)" \
		test -n "$got" -a "${got:-0}" -lt $((lsize / 2))
else
	fail "push zstd:chunked"
fi

# an image index nested in an index (skopeo --multi-arch=all keeps it):
# followed through the registry's manifests
$MKOCI layout "$src" "$WORK/nested" --comp zstd --nested --ref wl:nested \
	--ann org.criu.checkpoint.container.name=wl-gamma >/dev/null &&
	push "oci:$WORK/nested:wl:nested" "docker://$reg/ckpt/nested:v1" --multi-arch=all || fail "push a nested index"
check "--cat through a nested index equals the local 1/status" cmp <("$CKPTFS" --cat -o tls_verify=false \
	"docker://$reg/ckpt/nested:v1" 1/status) "$WORK/local/1/status"

# by digest, and offline reads
digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$reg/ckpt/wl:zstd")
check "--cat of a reference by digest equals the local 1/status" cmp <("$CKPTFS" --cat -o tls_verify=false \
	"docker://$reg/ckpt/wl@$digest" 1/status) "$WORK/local/1/status"
check "--ls of a reference lists what the local image does" diff <("$CKPTFS" --ls -o tls_verify=false \
	"docker://$reg/ckpt/wl:zstd" images) <("$CKPTFS" --ls "$WORK/zstd.tar" images)

# --search: the same hits as over the local file
marker=$(strings -n 12 "$WORK/local/1/environ" | head -1 | cut -c1-12)
[ -n "$marker" ] || marker=PATH=
"$CKPTFS" --search -F "$marker" --json "$WORK/zstd.tar" | sed 's|"archive":"[^"]*",\?||' >"$WORK/s-local"
"$CKPTFS" --search -F "$marker" --json -o tls_verify=false "docker://$reg/ckpt/wl:zstd" |
	sed 's|"archive":"[^"]*",\?||' >"$WORK/s-remote"
check "--search over the reference finds what it finds locally ($(wc -l <"$WORK/s-local") hits)" \
	test -s "$WORK/s-local" -a "$(cat "$WORK/s-local")" = "$(cat "$WORK/s-remote")"

# bad_ref DESC EXIT PATTERN ARGS...: one line naming the reference, that exit, no mount
bad_ref() {
	local desc=$1 want=$2 pat=$3 rc; shift 3
	"$CKPTFS" --cat "$@" 1/status >"$WORK/out" 2>"$WORK/err"; rc=$?
	if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -q -- "$pat" "$WORK/err" &&
		grep -q 'docker://' "$WORK/err" && [ ! -s "$WORK/out" ]; then
		ok "$desc: exit $want, one line"
	else
		fail "$desc: exit $rc (want $want): $(cat "$WORK/err")"
	fi
}
bad_ref "an unknown tag" 10 "HTTP 404" -o tls_verify=false "docker://$reg/ckpt/wl:nope"
bad_ref "an unknown repository" 10 "HTTP 404" -o tls_verify=false "docker://$reg/nothing/here:v1"
bad_ref "a malformed reference" 10 "not a" -o tls_verify=false "docker://$reg/UPPER:v1"
bad_ref "a closed port" 10 "127.0.0.1" -o tls_verify=false "docker://127.0.0.1:$(free_port)/ckpt/wl:zstd"
bad_ref "plain http without tls_verify=false" 10 "tls_verify=false" "docker://$reg/ckpt/wl:zstd"
mkdir -p "$WORK/other" && echo hello >"$WORK/other/hello.txt" && tar -C "$WORK/other" -cf "$WORK/other.tar" hello.txt
$MKOCI layout "$WORK/other.tar" "$WORK/other-oci" --comp gzip --ref other >/dev/null && \
	push "oci:$WORK/other-oci:other" "docker://$reg/plain/other:v1" || fail "push a plain image"
bad_ref "an image that is no checkpoint" 11 "not a checkpoint" -o tls_verify=false "docker://$reg/plain/other:v1"

# a corrupted frame of the zstd layer: EIO on its files, a line on stderr
# layer_blob IMAGE.tar: the hex digest of the oci-archive's layer
layer_blob() {
	python3 - "$1" <<-'EOF'
		import json, sys, tarfile
		t = tarfile.open(sys.argv[1])
		idx = json.load(t.extractfile("index.json"))
		man = json.load(t.extractfile("blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
		print(man["layers"][0]["digest"][7:])
	EOF
}
blob=$(layer_blob "$WORK/zstd.tar")
data=$WORK/plain/data/docker/registry/v2/blobs/sha256/${blob:0:2}/$blob/data
if [ -f "$data" ]; then
	# a byte in the middle of the largest frame (memory pages, not read to mount)
	python3 - "$data" <<-'EOF'
		import struct, sys
		with open(sys.argv[1], "r+b") as f:
		    f.seek(-9, 2); n = struct.unpack("<I", f.read(4))[0]
		    f.seek(-9 - 8 * n, 2); t = [struct.unpack("<II", f.read(8)) for _ in range(n)]
		    off = [sum(c for c, _ in t[:i]) for i in range(n)]
		    i = max(range(n), key=lambda k: t[k][1])
		    at = off[i] + t[i][0] // 2
		    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0xff]))
	EOF
	if mount_ck "docker://$reg/ckpt/wl:zstd" "$WORK/bad" -o tls_verify=false; then
		ok "a layer with a corrupted frame still mounts (its index is intact)"
		eio=0 good=0
		for f in "$WORK"/bad/checkpoint/* "$WORK"/bad/images/*; do
			if cat "$f" >/dev/null 2>"$WORK/cat.err"; then good=$((good + 1));
			elif grep -q "Input/output error" "$WORK/cat.err"; then eio=$((eio + 1)); fi
		done
		check "reads of the corrupted frame fail with EIO ($eio files), no read returns its bytes" test "$eio" -gt 0
		check "one line on stderr names the frame's sha256" grep -q "does not match its sha256" "$WORK/bad.log"
		fusermount3 -u "$WORK/bad"
	else
		fail "mount with a corrupted frame"
	fi
else
	fail "the layer blob is in the registry's storage ($data)"
fi
gblob=$(layer_blob "$WORK/gzip.tar")
gdata=$WORK/plain/data/docker/registry/v2/blobs/sha256/${gblob:0:2}/$gblob/data
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(300); b=f.read(1); f.seek(300); f.write(bytes([b[0]^0xff]))' "$gdata"
bad_ref "a corrupted gzip layer (fetched whole)" 10 "does not match its digest" -o tls_verify=false \
	"docker://$reg/ckpt/wl:gzip"

# Basic auth: htpasswd (bcrypt), credentials from the auth files
hash=$(python3 -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))' 2>/dev/null)
[ -n "$hash" ] || hash=$(htpasswd -nbB analyst s3cret 2>/dev/null | cut -d: -f2)
if [ -n "$hash" ]; then
	echo "analyst:$hash" >"$WORK/htpasswd"
	start_registry auth "$(printf '  htpasswd:\n    realm: ckptfs-test\n    path: %s' "$WORK/htpasswd")" ||
		fail "start docker-registry with htpasswd"
	areg=127.0.0.1:$PORT
	push "oci-archive:$WORK/zstd.tar" "docker://$areg/ckpt/wl:zstd" --dest-creds analyst:s3cret || fail "push with creds"
	auth() { printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$areg" "$(printf '%s' "$1" | base64 -w0)"; }
	auth analyst:s3cret >"$WORK/auth-good.json"
	auth analyst:wrong >"$WORK/auth-bad.json"
	check "--cat with \$REGISTRY_AUTH_FILE's credentials equals the local 1/status" cmp \
		<(REGISTRY_AUTH_FILE=$WORK/auth-good.json "$CKPTFS" --cat -o tls_verify=false "docker://$areg/ckpt/wl:zstd" 1/status) \
		"$WORK/local/1/status"
	mkdir -p "$WORK/home/.docker" && cp "$WORK/auth-good.json" "$WORK/home/.docker/config.json"
	check "~/.docker/config.json's credentials work too" cmp \
		<(HOME=$WORK/home XDG_RUNTIME_DIR= REGISTRY_AUTH_FILE= "$CKPTFS" --cat -o tls_verify=false \
			"docker://$areg/ckpt/wl:zstd" 1/status) "$WORK/local/1/status"
	REGISTRY_AUTH_FILE=$WORK/auth-bad.json bad_ref "wrong credentials" 10 "HTTP 401" -o tls_verify=false \
		"docker://$areg/ckpt/wl:zstd"
	HOME=$WORK XDG_RUNTIME_DIR= REGISTRY_AUTH_FILE= bad_ref "no credentials" 10 "HTTP 401" -o tls_verify=false \
		"docker://$areg/ckpt/wl:zstd"
else
	echo "# no bcrypt (python3 crypt or htpasswd): Basic auth not tested"
fi

# Bearer tokens: the registry trusts tokenserver.py's certificate, which
# hands out tokens for analyst:s3cret
mkdir -p "$WORK/tok"
if python3 -c 'import cryptography' 2>/dev/null; then
	python3 "$(dirname "$0")/tokenserver.py" "$WORK/tok" analyst:s3cret &
	DAEMONS+=("$!")
	for _ in $(seq 100); do [ -f "$WORK/tok/port" ] && break; sleep 0.1; done
	tport=$(cat "$WORK/tok/port" 2>/dev/null)
	start_registry token "$(printf '  token:\n    realm: http://127.0.0.1:%s/token\n    service: ckptfs-test-registry\n    issuer: ckptfs-test\n    rootcertbundle: %s' \
		"$tport" "$WORK/tok/cert.pem")" || fail "start docker-registry with token auth"
	treg=127.0.0.1:$PORT
	push "oci-archive:$WORK/zstd.tar" "docker://$treg/ckpt/wl:zstd" --dest-creds analyst:s3cret || fail "push with a token"
	auth() { printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$treg" "$(printf '%s' "$1" | base64 -w0)"; }
	auth analyst:s3cret >"$WORK/tauth-good.json"
	auth analyst:wrong >"$WORK/tauth-bad.json"
	before=$(wc -l <"$WORK/tok/issued")
	check "--cat with a Bearer token equals the local 1/status" cmp \
		<(REGISTRY_AUTH_FILE=$WORK/tauth-good.json "$CKPTFS" --cat -o tls_verify=false "docker://$treg/ckpt/wl:zstd" 1/status) \
		"$WORK/local/1/status"
	check "the token server issued a token for repository:ckpt/wl:pull" \
		grep -qx 'repository:ckpt/wl:pull' <(tail -n +$((before + 1)) "$WORK/tok/issued")
	REGISTRY_AUTH_FILE=$WORK/tauth-bad.json bad_ref "credentials the token server refuses" 10 "401" \
		-o tls_verify=false "docker://$treg/ckpt/wl:zstd"
else
	echo "# no python3 cryptography: Bearer tokens not tested"
fi
umount_ck "$WORK/local"
finish
