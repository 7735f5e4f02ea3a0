#!/usr/bin/env python3
"""Find import circles between source files of each crate in a Rust workspace.

Usage: python3 import_cycles.py [WORKSPACE_ROOT]   (default: the repository this script is in)
       python3 import_cycles.py --crate DIR          (a single crate dir containing src/)

A crate is every directory under WORKSPACE_ROOT/crates (any depth, so crates/proto/*
is included) that contains a Cargo.toml and a src/ directory.

For each .rs file under src/:
  * module path: lib.rs / main.rs = crate root, foo.rs or foo/mod.rs = foo,
    a/b/c.rs = a::b::c.  (lib.rs and main.rs both map to the root.)
  * skipped: files named tests.rs and files under a tests/ directory, and
    inline `#[cfg(test)] mod NAME { ... }` blocks (any name) inside files.
  * comments (incl. doc comments / intra-doc links), string and char literals
    are blanked before scanning, so `[crate::x]` in docs does not count.
  * references collected:
      - `use` trees starting with crate / super / self, grouped uses expanded
        (`use crate::{a, b::{c, self}}`), `pub(crate) use` etc.;
      - `crate::a::b`, `super::x`, `self::x` paths anywhere in code
        (`$crate::` in macros is ignored; `pub(in crate::x)` visibilities ignored);
      - paths through local module aliases: after `use super::sibling;` (or
        `use crate::a::b as c;`) a code path `sibling::sub::f()` is resolved to
        the module it names.  These are tagged "(via alias)".
    super/self are resolved relative to the file's module, plus any enclosing
    inline (non-test) `mod x { }` blocks.
  * each referenced path maps to the longest prefix that is a module backed by
    a file; references to the file's own module, its ancestors or its
    descendants are ignored.
Then Tarjan SCC on the file -> file graph; components with > 1 file are reported
with one example reference (file:line: text) per edge inside the component.

Exit status: 0 when there is no circle, 1 when there is one or more (scripts/test-all.sh,
which CI runs, fails on it).
"""
import os
import re
import sys
from collections import defaultdict

IDENT = r'(?:r#)?[A-Za-z_][A-Za-z0-9_]*'


# --------------------------------------------------------------------------- lexing
def blank_comments_strings(src):
    """Replace comments, string/char literals by spaces (newlines kept)."""
    out = list(src)
    n = len(src)
    i = 0

    def blank(a, b):
        for k in range(a, b):
            if out[k] != '\n':
                out[k] = ' '

    while i < n:
        c = src[i]
        if c == '/' and i + 1 < n and src[i + 1] == '/':
            j = src.find('\n', i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif c == '/' and i + 1 < n and src[i + 1] == '*':
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith('/*', j):
                    depth += 1
                    j += 2
                elif src.startswith('*/', j):
                    depth -= 1
                    j += 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c in 'rb' and re.match(r'(?:br|r)#*"', src[i:i + 260]) and \
                (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == '_')):
            m = re.match(r'(?:br|r)(#*)"', src[i:])
            close = '"' + m.group(1)
            j = src.find(close, i + m.end())
            j = n if j < 0 else j + len(close)
            blank(i, j)
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            blank(i, j + 1)
            i = j + 1
        elif c == "'":
            # char literal vs lifetime / label
            m = re.match(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]*\}|.)|[^\\'\n])'", src[i:i + 16])
            if m:
                blank(i, i + m.end())
                i += m.end()
            else:
                i += 1
        else:
            i += 1
    return ''.join(out)


def match_brace(text, open_idx):
    """Index just after the brace matching text[open_idx] == '{'."""
    depth = 0
    for j in range(open_idx, len(text)):
        if text[j] == '{':
            depth += 1
        elif text[j] == '}':
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def blank_range(text, a, b):
    return text[:a] + re.sub(r'[^\n]', ' ', text[a:b]) + text[b:]


CFG_TEST_MOD = re.compile(
    r'#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]\s*(?:#\s*\[[^\]]*\]\s*)*'
    r'(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+' + IDENT + r'\s*([{;])')


def strip_cfg_test_mods(text):
    while True:
        m = CFG_TEST_MOD.search(text)
        if not m:
            return text
        if m.group(1) == '{':
            end = match_brace(text, m.end() - 1)
        else:
            end = m.end()
        text = blank_range(text, m.start(), end)


# --------------------------------------------------------------------------- use trees
def parse_use_tree(s):
    """Expand a use tree string into [(segments, alias_or_None)]."""
    s = re.sub(r'\s+as\s+', '@', s)   # keep `x as y` separable before dropping spaces
    s = re.sub(r'\s+', '', s)
    pos = 0

    def tree(prefix):
        nonlocal pos
        res = []
        segs = list(prefix)
        if s.startswith('::', pos):
            pos += 2
        while True:
            if pos < len(s) and s[pos] == '{':
                pos += 1
                while pos < len(s) and s[pos] != '}':
                    res.extend(tree(segs))
                    if pos < len(s) and s[pos] == ',':
                        pos += 1
                pos += 1
                return res
            if pos < len(s) and s[pos] == '*':
                pos += 1
                res.append((segs + ['*'], None))
                return res
            m = re.match(IDENT, s[pos:])
            if not m:
                return res
            seg = m.group(0)
            pos += m.end()
            if s.startswith('::', pos):
                pos += 2
                segs = segs + [seg]
                continue
            alias = None
            if s.startswith('@', pos) and re.match(r'@' + IDENT, s[pos:]):
                m2 = re.match(r'@(' + IDENT + ')', s[pos:])
                alias = m2.group(1)
                pos += m2.end()
            res.append((segs + [seg], alias))
            return res

    return tree([])


USE_RE = re.compile(r'(?<![\w$])use\s+')
CODE_PATH_RE = re.compile(r'(?<![\w$:.])(crate|super|self)((?:\s*::\s*' + IDENT + r')+)')
VIS_IN_RE = re.compile(r'pub\s*\(\s*in\s+[^)]*\)')
INLINE_MOD_RE = re.compile(r'(?<![\w$])mod\s+(' + IDENT + r')\s*\{')


# --------------------------------------------------------------------------- crate analysis
def module_path_of(rel):
    parts = rel[:-3].split('/')
    if parts == ['lib'] or parts == ['main']:
        return ()
    if parts[-1] == 'mod':
        parts = parts[:-1]
    return tuple(parts)


def is_test_file(rel):
    parts = rel.split('/')
    return parts[-1] == 'tests.rs' or 'tests' in parts[:-1]


def line_of(text, idx):
    return text.count('\n', 0, idx) + 1


def analyze_crate(crate_dir):
    src = os.path.join(crate_dir, 'src')
    files = {}  # rel -> modpath
    for root, dirs, fnames in os.walk(src):
        dirs.sort()
        for f in sorted(fnames):
            if f.endswith('.rs'):
                rel = os.path.relpath(os.path.join(root, f), src).replace(os.sep, '/')
                if not is_test_file(rel):
                    files[rel] = module_path_of(rel)
    mod2files = defaultdict(list)
    for rel, mp in files.items():
        mod2files[mp].append(rel)

    def longest_module(path):
        for k in range(len(path), -1, -1):
            if tuple(path[:k]) in mod2files:
                return tuple(path[:k])
        return ()

    def resolve(ctx, segs):
        """ctx: module path (incl. inline mods). segs start with crate/super/self."""
        segs = [x[2:] if x.startswith('r#') else x for x in segs]
        i = 0
        if segs and segs[0] == 'crate':
            base, i = [], 1
        else:
            base = list(ctx)
            while i < len(segs) and segs[i] in ('self', 'super'):
                if segs[i] == 'super':
                    if not base:
                        return None
                    base.pop()
                i += 1
        rest = [x for x in segs[i:] if x not in ('*', 'self')]
        return base + rest

    edges = {}  # (src_rel, dst_rel) -> example
    for rel, fmod in sorted(files.items()):
        with open(os.path.join(src, rel), encoding='utf-8', errors='replace') as fh:
            raw = fh.read()
        raw_lines = raw.split('\n')
        text = blank_comments_strings(raw)
        text = strip_cfg_test_mods(text)
        text = VIS_IN_RE.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text)

        # inline (non-test) module spans -> context module path at an offset
        spans = []
        for m in INLINE_MOD_RE.finditer(text):
            spans.append((m.end() - 1, match_brace(text, m.end() - 1), m.group(1)))

        def ctx_at(idx):
            c = list(fmod)
            for a, b, name in spans:  # spans are in order of opening; nested ones follow
                if a < idx < b:
                    c.append(name)
            return c

        refs = []  # (offset, resolved path, via_alias)
        aliases = {}  # local name -> full module path (file modules only)

        # use items
        use_spans = []
        for m in USE_RE.finditer(text):
            # must be at item position: preceded by start, ';', '{', '}', ')' (pub(crate)), or 'pub'
            before = text[:m.start()].rstrip()
            if before and not (before[-1] in ';{}])' or re.search(r'(?<![\w])pub$', before)):
                continue
            end = text.find(';', m.end())
            if end < 0:
                continue
            use_spans.append((m.start(), end + 1))
            ctx = ctx_at(m.start())
            for segs, alias in parse_use_tree(text[m.end():end]):
                if not segs:
                    continue
                head = segs[0]
                if head in ('crate', 'super', 'self'):
                    path = resolve(ctx, segs)
                    if path is None:
                        continue
                    via = False
                elif head in aliases:
                    path = list(aliases[head]) + segs[1:]
                    via = True
                else:
                    continue
                path = [x for x in path if x != '*']
                refs.append((m.start(), path, via))
                # record aliases for names that are themselves file modules
                if segs[-1] != '*':
                    name = alias or (segs[-2] if segs[-1] == 'self' and len(segs) > 1 else segs[-1])
                    if name != '_' and tuple(path) in mod2files:
                        aliases[name] = tuple(path)
        for a, b in use_spans:
            text = blank_range(text, a, b)

        # crate:: / super:: / self:: paths in code
        for m in CODE_PATH_RE.finditer(text):
            segs = [m.group(1)] + [x for x in re.split(r'\s*::\s*', m.group(2).strip()) if x]
            path = resolve(ctx_at(m.start()), segs)
            if path is not None:
                refs.append((m.start(), path, False))
        # alias::x paths in code
        if aliases:
            alias_re = re.compile(r'(?<![\w$:.])(' + '|'.join(map(re.escape, aliases)) +
                                  r')((?:\s*::\s*' + IDENT + r')+)')
            for m in alias_re.finditer(text):
                segs = [x for x in re.split(r'\s*::\s*', m.group(2).strip()) if x]
                refs.append((m.start(), list(aliases[m.group(1)]) + segs, True))

        for off, path, via in refs:
            tgt = longest_module(path)
            if tgt[:len(fmod)] == fmod or fmod[:len(tgt)] == tgt:
                continue  # self, descendant or ancestor
            ln = line_of(text, off)
            snippet = raw_lines[ln - 1].strip()
            if len(snippet) > 110:
                snippet = snippet[:107] + '...'
            ex = f'{rel}:{ln}: {snippet}' + (' (via alias)' if via else '')
            for dst in mod2files[tgt]:
                edges.setdefault((rel, dst), ex)
    return files, edges


def sccs(nodes, edges):
    adj = defaultdict(list)
    for a, b in edges:
        adj[a].append(b)
    index, low, onstack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def strong(v):  # iterative Tarjan
        work = [(v, iter(sorted(adj[v])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        onstack.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    onstack.add(w)
                    work.append((w, iter(sorted(adj[w]))))
                    advanced = True
                    break
                elif w in onstack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            strong(v)
    return out


def find_crates(root):
    crates = []
    base = os.path.join(root, 'crates')
    for d, dirs, fnames in os.walk(base):
        dirs[:] = sorted(x for x in dirs if x not in ('target', 'src', 'tests', '.git'))
        if 'Cargo.toml' in fnames and os.path.isdir(os.path.join(d, 'src')):
            crates.append(d)
    return sorted(crates)


def main(argv):
    if len(argv) >= 2 and argv[0] == '--crate':
        crate_dirs, root = [argv[1]], os.path.dirname(os.path.abspath(argv[1]))
    else:
        root = argv[0] if argv else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        crate_dirs = find_crates(root)
    total = 0
    report = []
    nfiles = nedges = 0
    for cd in crate_dirs:
        files, edges = analyze_crate(cd)
        nfiles += len(files)
        nedges += len(edges)
        for comp in sccs(files.keys(), edges.keys()):
            if len(comp) < 2:
                continue
            total += 1
            cs = set(comp)
            name = os.path.relpath(cd, root)
            lines = [f'circle {total}: crate {name}: {len(comp)} files: ' + ', '.join(comp)]
            for (a, b), ex in sorted(edges.items()):
                if a in cs and b in cs:
                    lines.append(f'    {a} -> {b}\n        e.g. {ex}')
            report.append('\n'.join(lines))
    print(f'scanned {len(crate_dirs)} crates, {nfiles} files, {nedges} cross-module file edges')
    print(f'number of circles: {total}')
    for r in report:
        print()
        print(r)
    return 1 if total else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
