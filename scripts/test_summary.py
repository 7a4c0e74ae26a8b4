#!/usr/bin/env python3
"""Prints one plain line, "N passed, N failed", for a meson test run.

Counts doctest test cases inside each test binary (from its "[doctest] test
cases:" line); a test without that line (a script, or a binary that crashed
before printing it) counts as one case. A test meson saw fail always adds at
least one failure, even if its doctest summary claims none.
"""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|"
                     r"\s*(\d+) failed")


def main(log_path):
    passed = failed = 0
    with open(log_path) as log:
        for line in log:
            entry = json.loads(line)
            ok = entry.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
            if entry.get("result") == "SKIP":
                continue
            found = SUMMARY.findall(entry.get("stdout") or "")
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
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
