#!/usr/bin/env python3
"""Mutation test of slice2floe: runs the compiler on mutated copies of the Slice files Floe ships
and tests with (truncation, byte flips, deleted and duplicated lines, stray tokens, huge
identifiers, deep nesting, self-referential macros and includes). Every run must end with status
0 or 1 within 10 s: a crash, a hang or any other status fails.

Usage: slice-mutation.py SLICE2FLOE [--runs N] [--seed S]
"""
import argparse
import glob
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
STRAY = ["{", "}", ";", "::", "<", ">", "[[\"", "[\"", "\"", "/*", "*/", "#if", "#endif", "#define",
         "#include", "\x00", "\xff", "module", "class", "interface", "(", ")", ",", "=", "optional(",
         "\\", "#", "'", "sequence<", "dictionary<", "extends", "throws", "1e999999", "0x"]


def sources():
    patterns = ["Slice/**/*.ice", "Tests/GeneratedCodeTests/*.ice", "Sources/*/*.ice",
                "Tests/SliceParserTests/Inputs/valid/*.ice"]
    files = []
    for pattern in patterns:
        files += glob.glob(os.path.join(ROOT, pattern), recursive=True)
    return sorted(files)


def mutate(text: bytes, name: str, rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(["truncate", "flip", "delete-line", "duplicate-line", "stray", "huge-identifier",
                       "deep-nesting", "self-macro", "macro-chain", "self-include"])
    lines = text.split(b"\n")
    if kind == "truncate":
        return kind, text[: rng.randrange(len(text) + 1)]
    if kind == "flip":
        data = bytearray(text)
        for _ in range(rng.randint(1, 8)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        return kind, bytes(data)
    if kind == "delete-line":
        del lines[rng.randrange(len(lines))]
        return kind, b"\n".join(lines)
    if kind == "duplicate-line":
        i = rng.randrange(len(lines))
        lines[i:i] = [lines[i]] * rng.randint(1, 3)
        return kind, b"\n".join(lines)
    if kind == "stray":
        at = rng.randrange(len(text) + 1)
        return kind, text[:at] + rng.choice(STRAY).encode("latin-1") + text[at:]
    if kind == "huge-identifier":
        at = rng.randrange(len(text) + 1)
        return kind, text[:at] + b" " + b"x" * rng.choice([10_000, 1_000_000]) + b" " + text[at:]
    if kind == "deep-nesting":
        depth = rng.choice([500, 5_000, 100_000])
        opener = rng.choice([b"module M { ", b"(", b"[[\"", b"#if !", b"#if ("])
        if opener.startswith(b"#if"):
            return kind, b"#if " + opener[4:] * depth + b"1\n#endif\n" + text
        return kind, opener * depth + text
    if kind == "self-macro":
        return kind, b"#define X X X\n#if X\n#endif\nX\n" + text
    if kind == "macro-chain":
        defs = b"".join(b"#define M%d M%d M%d\n" % (i, i + 1, i + 1) for i in range(64))
        return kind, defs + b"M0\n" + text
    return kind, b"#include \"%s\"\n#include \"%s\"\n" % (name.encode(), name.encode()) + text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("compiler")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    files = sources()
    if not files:
        sys.exit("slice-mutation: no Slice files found")
    failures = 0
    slowest = 0.0
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "out")
        os.mkdir(out)
        for run in range(args.runs):
            source = rng.choice(files)
            with open(source, "rb") as f:
                original = f.read()
            name = "mutant%d.ice" % run
            kind, mutated = mutate(original, name, rng)
            path = os.path.join(work, name)
            with open(path, "wb") as f:
                f.write(mutated)
            start = time.monotonic()
            try:
                result = subprocess.run(
                    [args.compiler, "-I", os.path.dirname(source), "-I", os.path.join(ROOT, "Slice"),
                     "--output-dir", out, path],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=10)
                status = result.returncode
            except subprocess.TimeoutExpired:
                status = "timeout"
            slowest = max(slowest, time.monotonic() - start)
            if status not in (0, 1):
                failures += 1
                keep = os.path.join(ROOT, ".build", "slice-mutants")
                os.makedirs(keep, exist_ok=True)
                with open(os.path.join(keep, name), "wb") as f:
                    f.write(mutated)
                print("slice-mutation: %s of %s (%s) ended with %s; kept as .build/slice-mutants/%s"
                      % (kind, os.path.relpath(source, ROOT), name, status, name), file=sys.stderr)
            os.remove(path)
    print("slice-mutation: %d runs, %d failures, slowest %.2f s" % (args.runs, failures, slowest))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
