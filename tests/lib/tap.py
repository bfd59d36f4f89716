# SPDX-License-Identifier: Apache-2.0
"""TAP output for the Python checkers of tests/e2e (tools_check.py,
exec_check.py): one check() per test point, with what went wrong as
comment lines; done() prints the plan and exits 1 when one failed."""
import sys


class Tap:
    def __init__(self, prefix=""):
        self.n = self.failed = 0
        self.prefix = prefix

    def check(self, ok, desc, detail=None, lines=15):
        self.n += 1
        self.failed += not ok
        print(f"{'ok' if ok else 'not ok'} {self.n} - {self.prefix}{desc}")
        if not ok and detail:
            for line in str(detail).splitlines()[:lines]:
                print(f"#   {line}")
        return ok

    def done(self):
        print(f"1..{self.n}")
        sys.exit(1 if self.failed else 0)
