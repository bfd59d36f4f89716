# SPDX-License-Identifier: Apache-2.0
"""CRIU images and checkpoint archives by hand, for the tests' generators.

The one home of the protobuf wire format, the image framing and the tar
helpers that tests/e2e/mk*.py, tests/e2e/hostile.sh, scripts/mkbig and
scripts/mkincremental share (no pycriu, no protobuf module). The formats
are described in docs/formats.md (§1 framing, §3.1 pagemap) and the
message fields in proto/task.proto.

A message is handled as a list of fields, (number, wire type, value):
an int for a varint, bytes for the other wire types. parse() reads one,
ser() writes one back in the given order, the builders below return one.

Import it from a script with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), RELATIVE, "lib"))
or, from a tests/e2e/*.sh, with PYTHONPATH (tests/e2e/lib.sh sets it).
"""
import io
import os
import struct
import subprocess
import tarfile

# ---- protobuf wire format ----------------------------------------------------

VARINT, I64, LEN, I32 = 0, 1, 2, 5
U64 = (1 << 64) - 1


def varint(v):
    """The varint of @v, taken modulo 2^64 (a negative int64 is 10 bytes)."""
    v &= U64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | 0x80 if v else b)
        if not v:
            return bytes(out)


def read_varint(buf, pos):
    """(value, position after it) of the varint at @pos; ValueError if cut or too long."""
    shift = v = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def zigzag(v):
    """A sint64's wire value."""
    return ((v << 1) ^ (v >> 63)) & U64


def parse(msg, raw=False):
    """[(number, wire type, value)] of one message; with @raw, each field also
    carries its own bytes as a 4th item (to write the message back unchanged)."""
    out, pos = [], 0
    while pos < len(msg):
        start = pos
        key, pos = read_varint(msg, pos)
        num, wt = key >> 3, key & 7
        if wt == VARINT:
            val, pos = read_varint(msg, pos)
        elif wt == LEN:
            ln, pos = read_varint(msg, pos)
            val, pos = msg[pos:pos + ln], pos + ln
        elif wt in (I64, I32):
            n = 8 if wt == I64 else 4
            val, pos = msg[pos:pos + n], pos + n
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, val, msg[start:pos]) if raw else (num, wt, val))
    return out


def ser(fields):
    """The bytes of a message given as [(number, wire type, value)]."""
    out = bytearray()
    for num, wt, v in fields:
        out += varint(num << 3 | wt)
        if wt == VARINT:
            out += varint(v)
        elif wt == LEN:
            out += varint(len(v)) + v
        else:
            out += v
    return bytes(out)


def get(fields, num):
    """Every value of field @num, in order."""
    return [v for n, _, v in fields if n == num]


def setf(fields, num, val, wt=VARINT):
    """@fields with field @num replaced by one @val, moved to the end."""
    return [(n, w, v) for n, w, v in fields if n != num] + [(num, wt, val)]


def fdict(msg):
    """{number: value} of a message's bytes; a repeated field gives its last value."""
    return {n: v for n, _, v in parse(msg)}


# ---- image framing (docs/formats.md §1.1) ---------------------------------------

IMG_COMMON = 0x54564319
IMG_SERVICE = 0x55105940
INVENTORY = 0x58313116
PSTREE = 0x50273030
CORE = 0x55053847
MM = 0x57492820
PAGEMAP = 0x56084025


def img_head(magic):
    """The head words of a new image of type @magic."""
    if magic == INVENTORY:
        return struct.pack("<I", magic)
    return struct.pack("<II", IMG_COMMON, magic)


def split_img(data, name="image"):
    """(head words, [records]) of an image's bytes; ValueError names @name
    when a record runs past the end (records only: no §1.3 extras)."""
    first = struct.unpack_from("<I", data, 0)[0]
    pos = 8 if first in (IMG_COMMON, IMG_SERVICE) else 4
    head, recs = data[:pos], []
    while pos < len(data):
        (ln,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if pos + ln > len(data):
            raise ValueError("%s: truncated record" % name)
        recs.append(data[pos:pos + ln])
        pos += ln
    return head, recs


def read_img(path):
    with open(path, "rb") as f:
        return split_img(f.read(), path)


def img_bytes(head, recs):
    return head + b"".join(struct.pack("<I", len(r)) + r for r in recs)


def write_img(path, head, recs):
    with open(path, "wb") as f:
        f.write(img_bytes(head, recs))


# ---- messages (proto/task.proto), as field lists -----------------------------------

PE_PARENT, PE_LAZY, PE_PRESENT = 1, 2, 4


def pstree_entry(pid, ppid, pgid, sid, threads):
    return [(1, 0, pid), (2, 0, ppid), (3, 0, pgid), (4, 0, sid)] + [(5, 0, t) for t in threads]


def vma_entry(start, end, pgoff=0, shmid=0, prot=3, flags=0x22, status=0x201, fd=-1):
    """Defaults: an anonymous private rw- mapping (MAP_PRIVATE|MAP_ANONYMOUS,
    VMA_AREA_REGULAR|VMA_ANON_PRIVATE, no file)."""
    return [(1, 0, start), (2, 0, end), (3, 0, pgoff), (4, 0, shmid), (5, 0, prot),
            (6, 0, flags), (7, 0, status), (8, 0, zigzag(fd))]


def mm_with_vmas(mm, vmas):
    """The mm_entry @mm (fields) with its VMAs replaced by @vmas (bytes each)."""
    return [f for f in mm if f[0] != 14] + [(14, LEN, v) for v in vmas]


def pagemap_head(pages_id):
    return [(1, 0, pages_id)]


def pagemap_entry(vaddr, nr_pages, flags=PE_PRESENT, compat_nr=True):
    """As CRIU 4.2 writes it: compat_nr_pages (2) = 0 and nr_pages (5);
    without @compat_nr, field 2 is left out."""
    return [(1, 0, vaddr)] + ([(2, 0, 0)] if compat_nr else []) + [(4, 0, flags), (5, 0, nr_pages)]


def pagemap_nr(entry):
    """nr_pages of a pagemap_entry's {number: value}: field 5, else field 2."""
    return entry[5] if 5 in entry else entry.get(2, 0)


def core_entry(comm, task_state=1, mtype=1):
    """A core_entry of a thread with only its task_core_entry (state 1:
    alive, mtype 1: x86_64), every other required field 0."""
    tc = [(1, 0, task_state), (2, 0, 0), (3, 0, 0), (4, 0, 0), (5, 0, 0), (6, LEN, comm)]
    return [(1, 0, mtype), (3, LEN, ser(tc))]


# ---- tar ---------------------------------------------------------------------------

MTIME = 1700000000


def tar_info(name, size=0, mtime=MTIME, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode = size, mtime, mode
    return ti


def tar_add(t, name, data, mtime=MTIME):
    """Add a regular member of @data (mode 0644) to the open tarfile @t."""
    t.addfile(tar_info(name, len(data), mtime), io.BytesIO(data))


def tar_write(f, members, extra=(), fmt=tarfile.PAX_FORMAT):
    """Write a tar to the path or file object @f: the (name, bytes) pairs of
    @members through tar_add(), then each TarInfo of @extra without data."""
    kw = {"fileobj": f} if hasattr(f, "write") else {"name": f}
    with tarfile.open(mode="w", format=fmt, **kw) as t:
        for name, data in members:
            tar_add(t, name, data)
        for ti in extra:
            t.addfile(ti)


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    """A tar of (TarInfo, bytes or None) pairs."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def tar_members(path):
    """(TarInfo, bytes or None) of every member of a tar file."""
    with tarfile.open(path) as t:
        return [(ti, t.extractfile(ti).read() if ti.isfile() else None) for ti in t.getmembers()]


def ustar_header(name, size_field, typ=b"0", mtime=MTIME):
    """One raw ustar header block with any 12-byte @size_field (octal,
    base-256, lies), mode 0644, owner 0, and its checksum."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field
    h[136:148] = b"%011o\0" % mtime
    h[148:156] = b" " * 8
    h[156:157] = typ
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def fixture_members(src, overrides=None, drop=(), top=True):
    """(archive path, bytes) of an extracted checkpoint archive @src: with
    @top its regular files (sorted), then checkpoint/ (sorted), each image
    named in @overrides replaced by its bytes and those in @drop left out;
    overrides naming no image are added at the end."""
    res, overrides = [], dict(overrides or {})
    if top:
        for name in sorted(os.listdir(src)):
            if os.path.isfile(os.path.join(src, name)):
                res.append((name, _read(os.path.join(src, name))))
    ck = os.path.join(src, "checkpoint")
    for name in sorted(os.listdir(ck)):
        if name not in drop:
            data = overrides.pop(name) if name in overrides else _read(os.path.join(ck, name))
            res.append(("checkpoint/" + name, data))
    return res + [("checkpoint/" + name, data) for name, data in overrides.items()]


def zstd(data, *args):
    """@data compressed by the zstd tool, given @args (e.g. "-3")."""
    return subprocess.run(["zstd", "-q", *args, "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout


def _read(path):
    with open(path, "rb") as f:
        return f.read()
