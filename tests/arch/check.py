#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""docs/architecture.md against the build and the sources, so that the page
cannot drift from them. Usage: check.py SOURCE_ROOT. Prints one line per
finding and exits 1 if there is any.

Checked:
- the module table (folder | prefix | owns) lists exactly the modules that
  src/meson.build builds, and cli; a row that names some of its module's
  source files names them all (globs count), and every file it names exists;
- the "may use" table equals what src/meson.build gives each module: the
  modules below it and the external libraries;
- the dependency comment at the top of src/meson.build is quoted in the page
  word for word, and each of its lines agrees with the table in meson;
- each module's public include directory (src/<module>/include/) holds only
  links to headers of the module, none of them a -priv.h, and the functions
  those declare start with the module's prefix;
- nothing under src/ includes a header by a relative path;
- every `src/...` path the page names exists, and every "`f()` in
  `src/file`" names a function that file defines or declares.
"""
import ast
import fnmatch
import glob
import os
import re
import sys

# the names the page uses for the build's external dependencies
EXTERNAL = {
    'archive_dep': 'libarchive', 'zstd_dep': 'libzstd', 'lzma_dep': 'liblzma', 'zlib_dep': 'zlib',
    'thread_dep': 'threads', 'json_dep': 'json-c', 'crypto_dep': 'libcrypto', 'curl_dep': 'libcurl', 'pcre2_dep': 'PCRE2',
    'yara_dep': 'libyara', 'hs_dep': 'Vectorscan', 'fuse_dep': 'libfuse', 'proto_dep': 'protobuf-c',
}

problems = []


def bad(msg):
    problems.append(msg)


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def meson_modules(text):
    """[(name, sources, below, external)] in build order, with cli last."""
    start = text.index('modules = [')
    depth, end = 0, None
    for i in range(start + len('modules = '), len(text)):
        depth += {'[': 1, ']': -1}.get(text[i], 0)
        if depth == 0:
            end = i + 1
            break
    body = re.sub(r'#[^\n]*', '', text[start + len('modules = '):end])
    body = re.sub(r'\b([a-z0-9_]+_dep)\b', r"'\1'", body)
    mods = []
    for name, srcs, below, ext in ast.literal_eval(body):
        ext = {EXTERNAL[e] for e in ext}
        m = re.search(r"if name == '%s'\n\s+deps \+= (\w+)" % name, text)
        if m:
            ext.add(EXTERNAL[m.group(1)])
        mods.append((name, srcs, list(below), ext))
    start = text.find('cli_dep = declare_dependency(')
    if start < 0:
        bad('src/meson.build: no cli_dep = declare_dependency(...)')
        return mods
    call = text[start:text.index(')\n', start)]
    below = re.findall(r"mod_deps\['(\w+)'\]", call)
    given = re.findall(r'\b(\w+_dep)\b', call)
    closure = []
    for b in below:
        for name, _, bb, _ in mods:
            if name == b:
                closure += [x for x in bb + [b] if x not in closure]
    cli_src = re.search(r"cli_src = files\(([^)]*)\)", text).group(1)
    srcs = [os.path.basename(s) for s in re.findall(r"'([^']+)'", cli_src)]
    mods.append(('cli', srcs, closure, {EXTERNAL[g] for g in given if g in EXTERNAL}))
    return mods


def table(md, header):
    """The rows (lists of cells) of the markdown table whose header is @header."""
    lines = md.split('\n')
    for i, line in enumerate(lines):
        if line.strip() == header:
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith('|'):
                    break
                rows.append([c.strip() for c in row.strip().strip('|').split('|')])
            return rows
    bad('docs/architecture.md: no table "%s"' % header)
    return []


def check_module_table(md, mods, src):
    rows = table(md, '| folder | prefix | owns |')
    names = [m[0] for m in mods]
    seen = []
    for folder, prefix, owns in rows:
        m = re.fullmatch(r'`src/(\w+)/`', folder)
        if not m or m.group(1) not in names:
            bad('docs/architecture.md: module table: %s is not a module src/meson.build builds' % folder)
            continue
        name = m.group(1)
        seen.append(name)
        want = '`ck_`' if name == 'util' else '`%s_`' % name
        if prefix != want:
            bad('docs/architecture.md: module table: the prefix of %s is %s, not %s' % (name, want, prefix))
        srcs = next(m[1] for m in mods if m[0] == name)
        named = [n for n in re.findall(r'`([\w*.-]+\.[ch])`', owns) if 'pb-c' not in n]  # generated: proto/
        for n in named:
            if not glob.glob(os.path.join(src, name, n)):
                bad('docs/architecture.md: module table: src/%s/%s does not exist' % (name, n))
        files = [n for n in named if n.endswith('.c')]
        if files:
            for s in srcs:
                if not any(fnmatch.fnmatch(s, n) for n in files):
                    bad('docs/architecture.md: module table: the row of %s names some of its files but not %s'
                        % (name, s))
    for name in names:
        if name not in seen:
            bad('docs/architecture.md: module table: no row for src/%s/' % name)
    for d in sorted(os.listdir(src)):
        if os.path.isdir(os.path.join(src, d)) and d not in names:
            bad('src/%s/ is not a module src/meson.build builds' % d)


def check_may_use(md, mods):
    rows = table(md, '| module | may use |')
    doc = {}
    for name, uses in rows:
        modules, _, ext = uses.partition(';')
        modules = [] if modules.strip() == 'libc' else [x.strip() for x in modules.split(',')]
        ext = {re.sub(r'\s*\(.*\)', '', x).strip() for x in ext.split(',') if x.strip()}
        doc[name] = (modules, ext)
    if [r[0] for r in rows] != [m[0] for m in mods]:
        bad('docs/architecture.md: "may use" rows %s, src/meson.build builds %s'
            % (' '.join(r[0] for r in rows), ' '.join(m[0] for m in mods)))
    for name, _, below, ext in mods:
        if name not in doc:
            continue
        if sorted(doc[name][0]) != sorted(below):
            bad('docs/architecture.md: %s may use %s, src/meson.build gives it %s'
                % (name, ', '.join(doc[name][0]) or 'libc', ', '.join(below) or 'nothing'))
        if doc[name][1] != ext:
            bad('docs/architecture.md: %s may use the libraries %s, src/meson.build gives it %s'
                % (name, ', '.join(sorted(doc[name][1])) or 'none', ', '.join(sorted(ext)) or 'none'))


def check_comment(md, text, mods):
    comment = []
    for line in text.split('\n'):
        if not line.startswith('#'):
            break
        comment.append(line[2:] if line.startswith('# ') else line[1:])
    quoted = '\n'.join('    ' + c if c else '' for c in comment)
    if quoted not in md:
        bad('docs/architecture.md does not quote the comment at the top of src/meson.build word for word')
    given = {m[0]: set(m[2]) for m in mods}
    left = set(given)
    for c in comment:
        m = re.fullmatch(r'\s+([\w, ]+?)(?: <- ([\w, ]+))?', c)
        if not m or not all(w in given for w in re.split(r', ', m.group(1))):
            continue
        rhs = [w for w in re.split(r', ', m.group(2) or '') if w]
        closure = set(rhs)
        for w in rhs:
            closure |= given.get(w, set())
        for w in m.group(1).split(', '):
            left.discard(w)
            if closure != given[w]:
                bad('src/meson.build: the comment says %s is given %s and below, the table gives it %s'
                    % (w, ', '.join(rhs) or 'nothing', ', '.join(sorted(given[w])) or 'nothing'))
    for w in sorted(left):
        bad('src/meson.build: the comment at the top has no line for %s' % w)


def check_includes(src, mods):
    for name, _, _, _ in mods:
        if name == 'cli':
            continue
        inc = os.path.join(src, name, 'include')
        if not os.path.isdir(inc):
            bad('src/%s/include/ is missing' % name)
            continue
        prefix = 'ck_' if name == 'util' else name + '_'
        for h in sorted(os.listdir(inc)):
            p = os.path.join(inc, h)
            if not os.path.islink(p) or os.readlink(p) != '../' + h or not os.path.isfile(p):
                bad('src/%s/include/%s is not a link to ../%s' % (name, h, h))
                continue
            if h.endswith('-priv.h'):
                bad('src/%s/include/%s exports a private header' % (name, h))
            for fn in re.findall(r'^[a-z][\w *]*?[ *](\w+)\(', read(p), re.M):
                if not fn.startswith(prefix):
                    bad('src/%s/%s declares %s(), which lacks the prefix %s' % (name, h, fn, prefix))
    for path in glob.glob(os.path.join(src, '*', '*.[ch]')):
        for m in re.finditer(r'^\s*#\s*include\s*"([^"]*)"', read(path), re.M):
            if '/' in m.group(1):
                bad('%s includes "%s": by a relative path' % (os.path.relpath(path, os.path.dirname(src)),
                                                             m.group(1)))


def check_references(md, root):
    for path in sorted(set(re.findall(r'`(src/[\w*./-]+)`', md))):
        if not glob.glob(os.path.join(root, path)):
            bad('docs/architecture.md names %s, which does not exist' % path)
    for fn, path in re.findall(r'`(\w+)\(\)`[^`\n]{0,20}?`(src/[\w./-]+\.[ch])`', md):
        p = os.path.join(root, path)
        if os.path.isfile(p) and not re.search(r'^\w[^;{}\n]*?\b%s\(' % fn, read(p), re.M):
            bad('docs/architecture.md: %s() is not in %s' % (fn, path))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    src = os.path.join(root, 'src')
    md = read(os.path.join(root, 'docs', 'architecture.md'))
    text = read(os.path.join(src, 'meson.build'))
    mods = meson_modules(text)
    check_module_table(md, mods, src)
    check_may_use(md, mods)
    check_comment(md, text, mods)
    check_includes(src, mods)
    check_references(md, root)
    for p in problems:
        print(p)
    print('%d problem%s' % (len(problems), '' if len(problems) == 1 else 's'))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
