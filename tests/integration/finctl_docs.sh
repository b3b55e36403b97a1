#!/usr/bin/env bash
# finctl's command table (finctl/commands.c), its --help at every level
# (finctl --help, finctl NOUN --help, finctl NOUN VERB --help) and the
# command table of docs/finctl.md name the same commands and, for each
# command, the same options, in every direction (as curl's test1139
# checks its options against its docs). Then the same check, on copies
# with one command or option added or removed, must complain.
set -u
: "${FC_TOP:?}" "${FC_BIN:?}"
F=$FC_BIN/finctl
if [ ! -x "$F" ]; then
	echo "SKIP: $F is not built"
	exit 77
fi
exec /usr/bin/python3 - "$F" "$FC_TOP/finctl/commands.c" "$FC_TOP/docs/finctl.md" <<'PYEOF'
import copy
import re
import subprocess
import sys

finctl, table_src, docs_md = sys.argv[1:4]
OPT = re.compile(r'--([a-z][a-z0-9-]*)')
n = 0
failed = False


def tap(good, what, problems=()):
    global n, failed
    n += 1
    print(('ok' if good else 'not ok') + ' %d - %s' % (n, what))
    for p in problems:
        print('#   ' + p)
    failed = failed or not good


def from_table(path):
    """{(noun, verb): options} from the rows of finctl_commands[]: the
    first, second and fifth fields (noun, verb, "a=,b" options)."""
    src = open(path).read()
    src = re.sub(r'/\*.*?\*/', '', src, flags=re.S)
    m = re.search(r'finctl_commands\[\]\s*=\s*\{(.*?)\n\};', src, re.S)
    if m is None:
        sys.exit('%s: no finctl_commands[] table' % path)
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|[A-Za-z0-9_.]+|[{}(),=]',
                        m.group(1))
    rows, row, field, depth = [], [], [], 0
    for t in tokens:
        if t == ',' and depth == 1:
            row.append(field)
            field = []
            continue
        if t in '{(':
            depth += 1
            if t == '{' and depth == 1:
                row, field = [], []
                continue
        if t in '})':
            depth -= 1
            if t == '}' and depth == 0:
                rows.append(row + [field])
                continue
        field.append(t)

    def string(f):
        if not f or not all(x.startswith('"') for x in f):
            sys.exit('%s: a row has %r where a string belongs' % (path, f))
        return ''.join(x[1:-1] for x in f)

    cmds = {}
    for r in rows:
        key = (string(r[0]), string(r[1]))
        if key in cmds:
            sys.exit('%s: %s %s has two rows' % (path, *key))
        cmds[key] = {o.rstrip('=') for o in string(r[4]).split(',') if o}
    return cmds


def from_help(exe):
    """{(noun, verb): options} by walking finctl's --help: the nouns of
    finctl --help, the verbs of finctl NOUN --help, the options named in
    the usage line of finctl NOUN VERB --help."""
    def run(*args):
        p = subprocess.run([exe, *args], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit('finctl %s: exit %d' % (' '.join(args), p.returncode))
        return p.stdout

    m = re.search(r'^nouns:(.*)$', run('--help'), re.M)
    if m is None:
        sys.exit('finctl --help names no nouns')
    cmds = {}
    for noun in m.group(1).split():
        for verb in re.findall(r'^  (\S+) ', run(noun, '--help'), re.M):
            usage = run(noun, verb, '--help').splitlines()[0]
            if not usage.startswith('usage: finctl %s %s' % (noun, verb)):
                sys.exit('finctl %s %s --help: %r' % (noun, verb, usage))
            cmds[(noun, verb)] = set(OPT.findall(usage))
    return cmds


def from_docs(path):
    """{(noun, verb): options} from the "| noun | verbs |" table of
    docs/finctl.md: each `verb ARGS [--option X]` of a noun's row."""
    cmds, inside = {}, False
    for line in open(path).read().splitlines():
        if re.match(r'\|\s*noun\s*\|\s*verbs\s*\|', line):
            inside = True
            continue
        if not inside or re.match(r'\|\s*-', line):
            continue
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in
                 line.replace('\\|', '\0').strip().strip('|').split('|')]
        noun = cells[0].strip('`')
        for item in re.findall(r'`([^`]*)`', cells[1]):
            item = item.replace('\0', '|')
            key = (noun, item.split()[0])
            if key in cmds:
                sys.exit('%s: %s %s is listed twice' % (path, *key))
            cmds[key] = set(OPT.findall(item))
    return cmds


def differences(a_name, a, b_name, b):
    out = []
    for k in sorted(a.keys() - b.keys()):
        out.append('"%s %s" is in %s, not in %s' % (*k, a_name, b_name))
    for k in sorted(b.keys() - a.keys()):
        out.append('"%s %s" is in %s, not in %s' % (*k, b_name, a_name))
    for k in sorted(a.keys() & b.keys()):
        for o in sorted(a[k] - b[k]):
            out.append('"%s %s --%s" is in %s, not in %s'
                       % (*k, o, a_name, b_name))
        for o in sorted(b[k] - a[k]):
            out.append('"%s %s --%s" is in %s, not in %s'
                       % (*k, o, b_name, a_name))
    return out


table = from_table(table_src)
helped = from_help(finctl)
docs = from_docs(docs_md)
tap(len(table) > 30, 'the command table has its %d commands' % len(table))
d = differences('the command table', table, 'finctl --help', helped)
tap(not d, 'the command table and finctl --help agree', d)
d = differences('the command table', table, 'docs/finctl.md', docs)
tap(not d, 'the command table and docs/finctl.md agree', d)
d = differences('finctl --help', helped, 'docs/finctl.md', docs)
tap(not d, 'finctl --help and docs/finctl.md agree', d)

# The check itself: one command or option more or less on one side only.
def mutated(cmds, how):
    m = copy.deepcopy(cmds)
    k = sorted(m)[0]
    if how == 'added command':
        m[('frob', 'nicate')] = set()
    elif how == 'dropped command':
        del m[k]
    elif how == 'added option':
        m[k].add('frobnicate')
    else:
        m[('vm', 'create')].discard('wait')
    return m

for how in ('added command', 'dropped command', 'added option',
            'dropped option'):
    caught = all(differences('a', mutated(x, how), 'b', y) and
                 differences('a', y, 'b', mutated(x, how))
                 for x, y in ((table, docs), (helped, docs), (docs, table)))
    tap(caught, 'the check notices one %s on one side only' % how)
sys.exit(1 if failed else 0)
PYEOF
