#!/usr/bin/env python3
"""test_metrics_rules -- the shipped Prometheus rule file
etc/promptcause.rules.yml passes Debian's `promtool check rules`, and its
alerts fire (and stay quiet just below their thresholds) on the synthetic
series of tests/data/promptcause.rules.test.yml under `promtool test rules`.
A broken expectation must make promtool fail, so the test also runs one
deliberately wrong case and requires its failure.
Exit 0 pass, 77 skip (no promtool), 1 fail.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness  # noqa: E402
import watchtools as wt  # noqa: E402

RULES = os.path.join(pcharness.TOP_SRCDIR, "etc", "promptcause.rules.yml")
CASES = os.path.join(pcharness.TOP_SRCDIR, "tests", "data", "promptcause.rules.test.yml")


def main():
    promtool = pcharness.find_binary("promtool")
    if promtool is None:
        print("SKIP: promtool (Debian's prometheus package) not installed")
        return pcharness.SKIP
    c = wt.Checks()
    tmp = pcharness.TempDir(prefix="pc-rules-")
    try:
        r = subprocess.run([promtool, "check", "rules", RULES], capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        c.check(r.returncode == 0 and "SUCCESS: 5 rules found" in out,
                f"promtool check rules: 5 rules, no error ({out.strip()[-300:]})")
        # promtool resolves rule_files relative to the test file.
        shutil.copy(RULES, tmp.join("promptcause.rules.yml"))
        shutil.copy(CASES, tmp.join("cases.yml"))
        r = subprocess.run([promtool, "test", "rules", "cases.yml"], capture_output=True, text=True,
                           timeout=60, cwd=tmp.path)
        out = r.stdout + r.stderr
        c.check(r.returncode == 0 and "SUCCESS" in out,
                f"promtool test rules: every alert fires where expected ({out.strip()[-800:]})")
        with open(CASES) as f:
            wrong = f.read().replace("2.0 password prompts", "2.5 password prompts")
        tmp.write("wrong.yml", wrong)
        r = subprocess.run([promtool, "test", "rules", "wrong.yml"], capture_output=True, text=True,
                           timeout=60, cwd=tmp.path)
        c.check(r.returncode != 0 and "FAILED" in r.stdout + r.stderr,
                "a wrong expectation makes promtool test rules fail (the cases are really checked)")
    finally:
        tmp.cleanup()
    return c.exit_code()


if __name__ == "__main__":
    sys.exit(main())
