"""test_manpages -- the man pages say what the code does, and stay so.

promptcause(1) and promptcause.conf(5) are mdoc sources in man/. This test
fails when either is not `mandoc -T lint -W warning` clean, when an option
that `promptcause --help` or `promptcause SUB --help` prints is not written
as a flag (.Fl) in the page (a subcommand's options in its own .Ss section;
-h/--help anywhere, the page says it once for all), when a subcommand the
top-level help lists has no section, or when a directive of the service's
settings_conf_table (module/settings.c, the table c-icap reads), or of
c-icap's own per-service directives the service documents, has no
`.It Ic Directive` entry with its default in DIRECTIVES. It then proves its
own checks bite: a copy of each page with one option or directive removed
must be caught.

Exit status follows automake: 0 pass, 1 fail, 77 skip.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402

PROMPTCAUSE = os.path.join(H.TOP_BUILDDIR, "cli", "promptcause")
MAN1 = os.path.join(H.TOP_SRCDIR, "man", "promptcause.1")
MAN5 = os.path.join(H.TOP_SRCDIR, "man", "promptcause.conf.5")
SETTINGS_C = os.path.join(H.TOP_SRCDIR, "module", "settings.c")

# An option in help text: --long or -x, not inside a word (X-Prompt-Cause,
# type-2, self-contained) and not the "-" of "FILE '-'".
OPT_RE = re.compile(r"(?<![\w'-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
MACRO_RE = re.compile(r"^[A-Z][a-z]{1,2}$")  # mdoc macro names: Ar, Ns, Op, Cm ...
GLOBAL_OPTS = {"-h", "--help"}


def help_text(*args):
    """stdout of `promptcause ARGS --help`, which must exit 0."""
    r = subprocess.run([PROMPTCAUSE, *args, "--help"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"promptcause {' '.join(args)} --help exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def help_options(text):
    return set(OPT_RE.findall(text))


def subcommands(top_help):
    """The names listed under 'commands:' in the top-level help."""
    names, inside = [], False
    for line in top_help.splitlines():
        if line.strip() == "commands:":
            inside = True
            continue
        if inside:
            m = re.match(r"^\s+([a-z][a-z0-9-]*)\s{2,}\S", line)
            if not m:
                break
            names.append(m.group(1))
    return names


def flags_in(mdoc_lines):
    """Every flag the mdoc lines write with Fl: `.Op Fl -json` -> --json,
    `.Fl h | -help` -> -h and --help."""
    found = set()
    for line in mdoc_lines:
        if not line.startswith("."):
            continue
        words = line[1:].split()
        i = 0
        while i < len(words):
            if words[i] == "Fl":
                i += 1
                while i < len(words) and not MACRO_RE.match(words[i]):
                    w = words[i].rstrip(",;:.)")
                    if w and w not in ("|", "(", "["):
                        found.add("-" + w)
                    i += 1
                continue
            i += 1
    return found


def sections(text, macro):
    """{title: [lines]} of the .Sh or .Ss sections of an mdoc text."""
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith(macro + " "):
            cur = line[len(macro) + 1:].strip().strip('"')
            out[cur] = []
        elif cur is not None:
            if macro == ".Ss" and line.startswith(".Sh "):
                cur = None
                continue
            out[cur].append(line)
    return out


def check_man1(text, helps):
    """Problems of promptcause.1 against the help texts ({'': top, sub: text})."""
    problems = []
    everywhere = flags_in(text.splitlines())
    subsecs = sections(text, ".Ss")
    for sub, htext in helps.items():
        wanted = help_options(htext)
        if sub == "":
            have = everywhere
        else:
            if sub not in subsecs:
                problems.append(f"promptcause.1: no '.Ss {sub}' section for the subcommand {sub}")
                continue
            have = flags_in(subsecs[sub]) | (everywhere & GLOBAL_OPTS)
            synopsis = [line for line in sections(text, ".Sh").get("SYNOPSIS", [])]
            if not any(f"Cm {sub}" in line for line in synopsis):
                problems.append(f"promptcause.1: SYNOPSIS has no 'promptcause {sub}' line")
        for opt in sorted(wanted - have):
            problems.append(f"promptcause.1: option {opt} of 'promptcause {sub} --help'".replace("  ", " ")
                            + " is not documented" + (f" in section '{sub}'" if sub else ""))
    for must in ("EXIT STATUS", "FILES", "ENVIRONMENT", "EXAMPLES"):
        if must not in sections(text, ".Sh"):
            problems.append(f"promptcause.1: no {must} section")
    return problems


CICAP_SERVICE_DIRECTIVES = ["MaxConnections"]


def table_directives(source):
    """Directive names of settings_conf_table in module/settings.c."""
    m = re.search(r"settings_conf_table\[\]\s*=\s*\{(.*?)\{\s*NULL", source, re.S)
    if not m:
        raise AssertionError("settings_conf_table not found in module/settings.c")
    names = re.findall(r'\{\s*"([A-Za-z0-9]+)"', m.group(1))
    if len(names) < 10:
        raise AssertionError(f"only {len(names)} directives parsed from settings_conf_table: {names}")
    return names


def check_man5(text, directives):
    problems = []
    body = sections(text, ".Sh").get("DIRECTIVES")
    if body is None:
        return ["promptcause.conf.5: no DIRECTIVES section"]
    entries, cur = {}, None
    for line in body:
        m = re.match(r"^\.It Ic ([A-Za-z0-9]+)", line)
        if m:
            cur = m.group(1)
            entries[cur] = []
        elif cur is not None:
            entries[cur].append(line)
    for d in directives:
        if d not in entries:
            problems.append(f"promptcause.conf.5: directive {d} of settings_conf_table has no '.It Ic {d}' entry")
        elif not any(line.startswith("Default") for line in entries[d]):
            problems.append(f"promptcause.conf.5: directive {d} does not give its default ('Default: ...')")
    for d in entries:
        if d not in directives:
            problems.append(f"promptcause.conf.5: documents {d}, which settings_conf_table does not have")
    if "DIAGNOSTICS" not in sections(text, ".Sh"):
        problems.append("promptcause.conf.5: no DIAGNOSTICS section (how c-icap refuses a bad directive)")
    return problems


def lint(path):
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", path], capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    return [] if r.returncode == 0 and not out else [f"mandoc -T lint -W warning {path}: {out or r.returncode}"]


def main():
    if shutil.which("mandoc") is None:
        print("SKIP: mandoc is not installed (apt-get install mandoc)")
        return H.SKIP
    if not os.access(PROMPTCAUSE, os.X_OK):
        print(f"FAIL: {PROMPTCAUSE} not built")
        return 1
    man1, man5 = open(MAN1, encoding="utf-8").read(), open(MAN5, encoding="utf-8").read()
    top = help_text()
    subs = subcommands(top)
    if len(subs) < 4:
        print(f"FAIL: top-level help lists only {subs} as commands")
        return 1
    helps = {"": top}
    helps.update({s: help_text(s) for s in subs})
    # MaxConnections is c-icap's own per-service directive (c-icap reads it and
    # the service checks the result), so it is documented but not in the table.
    directives = table_directives(open(SETTINGS_C, encoding="utf-8").read()) + CICAP_SERVICE_DIRECTIVES

    problems = lint(MAN1) + lint(MAN5) + check_man1(man1, helps) + check_man5(man5, directives)
    for p in problems:
        print("FAIL:", p)
    n_opts = sum(len(help_options(t)) for t in helps.values())
    print(f"checked {n_opts} options of {len(subs)} commands and {len(directives)} directives")

    # The checks must catch a page that lost an option or a directive.
    bite = []
    for sub in subs:
        opt = sorted(help_options(helps[sub]) - GLOBAL_OPTS)[0]
        crippled = re.sub(rf"\bFl {re.escape(opt[1:])}(?![\w-])", "Fl -removed-option", man1)
        if not any(opt in p for p in check_man1(crippled, helps)):
            bite.append(f"removing {opt} of {sub} from promptcause.1 went unnoticed")
    d = directives[len(directives) // 2]
    crippled = re.sub(rf"(?m)^\.It Ic {d}\b.*$", ".It Ic Removed", man5)
    if not any(d in p for p in check_man5(crippled, directives)):
        bite.append(f"removing the {d} entry from promptcause.conf.5 went unnoticed")
    crippled = "\n".join(line for line in man5.splitlines() if not line.startswith("Default: 300"))
    if not any("CorrelationWindow" in p for p in check_man5(crippled, directives)):
        bite.append("removing CorrelationWindow's default went unnoticed")
    for b in bite:
        print("FAIL (self-check):", b)
    if problems or bite:
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
