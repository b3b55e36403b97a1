#!/usr/bin/env bash
# finctl's command table (finctl/commands.c), its --help at every level
# (finctl --help, finctl NOUN --help, finctl NOUN VERB --help), its man
# page (finctl --man, as man renders it) and the command table of
# docs/finctl.md name the same commands and, for each command, the same
# options, in every direction (as curl's test1139 checks its options
# against its docs). The exit codes of finctl.h (FINCTL_EXIT_CODES),
# finctl --help, the man page and docs/finctl.md are the same list. Then
# the same checks, on copies with one command, option or exit code added
# or removed, must complain.
set -u
: "${FC_TOP:?}" "${FC_BIN:?}"
F=$FC_BIN/finctl
if [ ! -x "$F" ]; then
	echo "SKIP: $F is not built"
	exit 77
fi
if ! command -v groff >/dev/null; then
	echo "SKIP: groff is missing (renders the man page)"
	exit 77
fi
exec /usr/bin/python3 - "$F" "$FC_TOP/finctl/commands.c" "$FC_TOP/docs/finctl.md" \
	"$FC_TOP/finctl/finctl.h" <<'PYEOF'
import copy
import re
import subprocess
import sys

finctl, table_src, docs_md, header = sys.argv[1:5]
STR = r'"(?:[^"\\]|\\.)*"'
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
    # string macros ("#define VM_STATES "a|b"") stand for their string
    defines = {name: '"%s"' % ''.join(x[1:-1] for x in re.findall(STR, body))
               for name, body in re.findall(
                   r'^#define\s+(\w+)\s+((?:%s\s*)+)$' % STR, src, re.M)}
    m = re.search(r'finctl_commands\[\]\s*=\s*\{(.*?)\n\};', src, re.S)
    if m is None:
        sys.exit('%s: no finctl_commands[] table' % path)
    tokens = [defines.get(t, t) for t in
              re.findall(STR + r'|[A-Za-z0-9_.]+|[{}(),=]', m.group(1))]
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
        # "name", "name=type", "name!=type": the name
        cmds[key] = {o.split('=')[0].rstrip('!')
                     for o in string(r[4]).split(',') if o}
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


def render_man(exe):
    """finctl --man as man(1) renders it, plain text, with groff's
    warnings (-ww) as a list."""
    roff = subprocess.run([exe, '--man'], capture_output=True, text=True,
                          check=True).stdout
    p = subprocess.run(['groff', '-ww', '-man', '-Tutf8', '-P-cbou', '-rLL=78n'],
                       input=roff, capture_output=True, text=True)
    text = p.stdout.replace('\u2212', '-').replace('\u2010', '-')
    return text, [l for l in p.stderr.splitlines() if l.strip()]


def from_man(text):
    """{(noun, verb): options} from the COMMANDS section of the rendered
    man page: a block per command, from its "finctl NOUN VERB" line to
    the next, with every --option named in it."""
    cmds, key, inside = {}, None, False
    for line in text.splitlines():
        if re.match(r'^\S', line):
            inside, key = line.strip() == 'COMMANDS', None
            continue
        m = re.match(r'^\s+finctl (\S+) (\S+)', line)
        if inside and m and not m.group(1).startswith('-'):
            key = (m.group(1), m.group(2))
            cmds[key] = set()
        if inside and key:
            cmds[key] |= set(OPT.findall(line))
    return cmds


def section_codes(text, heading, row):
    """The exit codes listed below heading (a line of its own) in text:
    each line matching row, until the next unindented line."""
    codes, inside = set(), False
    for line in text.splitlines():
        if line.strip().rstrip(':') == heading:
            inside = True
        elif inside and re.match(r'^\S', line):
            break
        elif inside and re.match(row, line):
            codes.add(int(re.match(row, line).group(1)))
    return codes


def header_codes(path):
    """{code: name} of FINCTL_EXIT_CODES in finctl.h."""
    rows = re.findall(r'X\((FINCTL_\w+),\s*(\d+),', open(path).read())
    if not rows:
        sys.exit('%s: no FINCTL_EXIT_CODES rows' % path)
    return {int(c): name for name, c in rows}


def docs_codes(path):
    """The codes of the "| code | meaning |" table of docs/finctl.md."""
    codes, inside = set(), False
    for line in open(path).read().splitlines():
        if re.match(r'\|\s*code\s*\|\s*meaning\s*\|', line):
            inside = True
        elif inside and re.match(r'\|\s*(\d+)\s*\|', line):
            codes.add(int(re.match(r'\|\s*(\d+)\s*\|', line).group(1)))
        elif inside and not re.match(r'\|\s*-', line):
            break
    return codes


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
man_text, man_warnings = render_man(finctl)
man = from_man(man_text)
tap(len(table) > 30, 'the command table has its %d commands' % len(table))
d = differences('the command table', table, 'finctl --help', helped)
tap(not d, 'the command table and finctl --help agree', d)
d = differences('the command table', table, 'docs/finctl.md', docs)
tap(not d, 'the command table and docs/finctl.md agree', d)
d = differences('finctl --help', helped, 'docs/finctl.md', docs)
tap(not d, 'finctl --help and docs/finctl.md agree', d)
d = differences('the command table', table, 'the man page', man)
tap(not d, 'the command table and the man page (finctl --man) agree', d)
tap(not man_warnings and 'EXIT STATUS' in man_text,
    'groff -ww renders the man page without a warning', man_warnings)

codes = header_codes(header)
p = subprocess.run([finctl, '--help'], capture_output=True, text=True)
listed = {'finctl --help': section_codes(p.stdout, 'exit codes',
                                         r'^  (\d+)  '),
          'the man page': section_codes(man_text, 'EXIT STATUS',
                                        r'^\s+(\d+)\s'),
          'docs/finctl.md': docs_codes(docs_md)}
tap(len(codes) >= 6 and 0 in codes, 'finctl.h names %d exit codes' % len(codes))
for where, got in listed.items():
    tap(got == set(codes), '%s lists the exit codes of finctl.h' % where,
        [] if got == set(codes) else
        ['finctl.h: %s; %s: %s' % (sorted(codes), where, sorted(got))])

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
                 for x, y in ((table, docs), (helped, docs), (docs, table),
                                 (man, table), (table, man)))
    tap(caught, 'the check notices one %s on one side only' % how)
sys.exit(1 if failed else 0)
PYEOF
