#!/usr/bin/env python3
"""Runs slice2floe on Slice of extreme shapes (one very long enum, throws clause, base list or
inheritance chain, ...) and requires each to end with the expected status within a time bound
far above its normal time (a few seconds in a debug build), so that work growing with the
square of a count fails here instead of hanging a user's build. In CI.

    slice-extremes.py SLICE2FLOE
"""
import os
import subprocess
import sys
import tempfile
import time

BOUND = 60  # seconds; before their fixes, the enum, the chains and the doubling structs took minutes


def chain(kind, count, body):
    first = "%s %s0 { %s };" % (kind, kind[0].upper(), body(0))
    rest = "".join(
        "%s %s%d extends %s%d { %s };" % (kind, kind[0].upper(), i, kind[0].upper(), i - 1, body(i))
        for i in range(1, count))
    return "module M { %s%s };\n" % (first, rest)


CASES = [
    # (name, Slice, expected status, text expected on standard error)
    ("enum of 50,000 enumerators",
     "module M { enum E { %s }; const E last = e49999; };\n" % ", ".join("e%d" % i for i in range(50000)), 0, ""),
    ("interface of 20,000 operations",
     "module M { interface I { %s }; };\n" % " ".join("void op%d(int a, string b);" % i for i in range(20000)), 0, ""),
    ("20,000 reopened modules", "".join("module M { struct S%d { int x; }; };\n" % i for i in range(20000)), 0, ""),
    ("throws clause of 8,000 exceptions",
     "module M { %s interface I { void op() throws %s; }; };\n" % (
         "".join("exception E%d {};" % i for i in range(8000)), ", ".join("E%d" % i for i in range(8000))), 0, ""),
    ("interface extending 8,000 bases",
     "module M { %s interface I extends %s {}; };\n" % (
         "".join("interface B%d { void f%d(); };" % (i, i) for i in range(8000)),
         ", ".join("B%d" % i for i in range(8000))), 0, ""),
    ("struct nested 20,000 deep",
     "module M { struct S0 { int x; };%s };\n" % "".join("struct S%d { S%d m; };" % (i, i - 1) for i in range(1, 20000)),
     0, ""),
    ("structs of two of the one before, 40 deep (sizes past 2^31)",
     "module M { struct S0 { int x; };%s sequence<S39> Seq; };\n" % "".join(
         "struct S%d { S%d a; S%d b; };" % (i, i - 1, i - 1) for i in range(1, 40)), 0, ""),
    ("interfaces 101 generations deep (the limit)", chain("interface", 101, lambda i: "void f%d();" % i), 0, ""),
    ("interfaces 50,000 generations deep", chain("interface", 50000, lambda i: "void f%d();" % i), 1,
     "interface 'I101' inherits through more than 100 levels of bases"),
    ("classes 50,000 generations deep", chain("class", 50000, lambda i: "int m%d;" % i), 1,
     "class 'C101' inherits through more than 100 levels of bases"),
    ("exceptions 50,000 generations deep", chain("exception", 50000, lambda i: "int m%d;" % i), 1,
     "exception 'E101' inherits through more than 100 levels of bases"),
]


def main():
    compiler = sys.argv[1]
    failures = 0
    slowest = 0.0
    with tempfile.TemporaryDirectory() as work:
        for name, text, status, message in CASES:
            path = os.path.join(work, "extreme.ice")
            with open(path, "w") as f:
                f.write(text)
            start = time.monotonic()
            try:
                run = subprocess.run([compiler, "--output-dir", work, path], capture_output=True, text=True,
                                     timeout=BOUND)
            except subprocess.TimeoutExpired:
                print("slice-extremes: %s: no end within %d s" % (name, BOUND), file=sys.stderr)
                failures += 1
                continue
            elapsed = time.monotonic() - start
            slowest = max(slowest, elapsed)
            if os.environ.get("VERBOSE"):
                print("  %s: %.2f s" % (name, elapsed))
            if run.returncode != status or message not in run.stderr:
                print("slice-extremes: %s: status %d (expected %d): %s" % (
                    name, run.returncode, status, run.stderr[:300]), file=sys.stderr)
                failures += 1
    print("slice-extremes: %d shapes, %d failures, slowest %.2f s" % (len(CASES), failures, slowest))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
