#!/usr/bin/env python3
"""Prints one plain line, "N passed, N failed, N skipped", for a meson test run.

Counts doctest test cases inside each test binary (from its "[doctest] test
cases:" line); a test without that line (a script, or a binary that crashed
before printing it) counts as one case. A test meson saw fail always adds at
least one failure, even if its doctest summary claims none. A test meson
reports as skipped (a program that exits 77, as tests/support/skip.hpp makes
it) counts all its cases, or one, as skipped; the reasons it printed
("[skip] ..." lines) are listed above the summary.

Exits non-zero if anything failed, and also if anything was skipped when the
environment says this is CI (CI set, as GitHub-style CI does, and not
"false" or "0"): CI has root and every tool the tests use, so a skip there
means a test silently stopped running.
"""
import json
import os
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|"
                     r"\s*(\d+) failed")
SKIP_REASON = re.compile(r"^\[skip\] (.*)$", re.MULTILINE)


def in_ci():
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def main(log_path):
    passed = failed = skipped = 0
    skips = []  # (test name, reasons)
    with open(log_path) as log:
        for line in log:
            entry = json.loads(line)
            result = entry.get("result")
            stdout = entry.get("stdout") or ""
            found = SUMMARY.findall(stdout)
            if result == "SKIP":
                skipped += int(found[-1][0]) if found else 1
                skips.append((entry.get("name"), SKIP_REASON.findall(stdout)))
                continue
            ok = result in ("OK", "EXPECTEDFAIL")
            if found:
                _, p, f = (int(x) for x in found[-1])
                if not ok and f == 0:
                    f = 1
                passed += p
                failed += f
            elif ok:
                passed += 1
            else:
                failed += 1
    for name, reasons in skips:
        print(f"skipped {name}: {'; '.join(reasons) or 'no reason given'}")
    status = 1 if failed else 0
    if skips and in_ci():
        print(f"CI is set, and CI must run every test: {len(skips)} test(s) "
              "skipped (see above)")
        status = 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
