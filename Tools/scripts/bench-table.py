"""Summarises Tools/bench.sh results: one table per workload, Floe/C++ ratios of medians.

When RESULTS holds grpc→grpc lines (Tools/bench.sh --grpc), the table gets a grpc→grpc column
and a floe/grpc ratio (floe→floe against grpc→grpc, same convention as the C++ ratio) for the
workloads the gRPC peer runs; without them the output is as before.

Usage: bench-table.py RESULTS RSS_KB...
"""
import json
import statistics
import sys

PAIRINGS = ["floe→floe", "cpp→cpp", "floe→cpp", "cpp→floe"]
GRPC = "grpc→grpc"

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
workloads = list(dict.fromkeys(row["workload"] for row in rows))
# The gRPC columns appear only when there is something to put in them.
with_grpc = any(row["pairing"] == GRPC for row in rows)
pairings = PAIRINGS + [GRPC] if with_grpc else PAIRINGS


def figure(row):
    """The figure compared: per-call time for latency, MB/s when there is one, else calls/s."""
    if row["workload"] == "latency":
        return row["per_call_us"], "µs/call", False
    if row.get("mb_per_s") is not None:
        return row["mb_per_s"], "MB/s", True
    return row["calls_per_s"], "calls/s", True


def ratio(medians, other, higher_is_better):
    """floe→floe's median over `other`'s: per-call time for latency (≤1: Floe as fast or
    faster), a rate otherwise (≥1: Floe as fast or faster)."""
    if "floe→floe" not in medians or other not in medians:
        return ""
    r = medians["floe→floe"] / medians[other]
    return "%.2f (%s)" % (r, "≥1 is parity" if higher_is_better else "≤1 is parity")


header = "%-16s %-10s" + " %12s" * len(pairings) + "   %-20s"
print((header % ("workload", "unit", *pairings, "floe↔floe / cpp↔cpp")
       + ("   floe/grpc" if with_grpc else "")).rstrip())
for workload in workloads:
    medians = {}
    unit, higher_is_better = "", True
    for pairing in pairings:
        values = [figure(r) for r in rows if r["workload"] == workload and r["pairing"] == pairing]
        if values:
            medians[pairing] = statistics.median(v for v, _, _ in values)
            unit, higher_is_better = values[0][1], values[0][2]
    cells = ["%12.1f" % medians[p] if p in medians else "%12s" % "-" for p in pairings]
    cpp = ratio(medians, "cpp→cpp", higher_is_better)
    if GRPC in medians:
        grpc = ratio(medians, GRPC, higher_is_better)
        print(("%-16s %-10s %s   %-20s   %s" % (workload, unit, " ".join(cells), cpp, grpc)).rstrip())
    else:
        print("%-16s %-10s %s   %s" % (workload, unit, " ".join(cells), cpp))

# Tools/bench.sh --observability: floe→floe with metrics or tracing on, against it off.
variants = [p for p in dict.fromkeys(row["pairing"] for row in rows) if p.startswith("floe→floe+")]
if variants:
    print()
    print("%-16s %-10s %12s" % ("workload", "unit", "floe→floe") + "".join(" %28s" % v for v in variants))
    for workload in workloads:
        medians, unit, higher_is_better = {}, "", True
        for pairing in ["floe→floe"] + variants:
            values = [figure(r) for r in rows if r["workload"] == workload and r["pairing"] == pairing]
            if values:
                medians[pairing] = statistics.median(v for v, _, _ in values)
                unit, higher_is_better = values[0][1], values[0][2]
        if "floe→floe" not in medians:
            continue
        cells = []
        for v in variants:
            if v not in medians:
                cells.append(" %28s" % "-")
                continue
            # Cost as a fraction of the plain run: extra time per call, or rate lost.
            r = medians[v] / medians["floe→floe"]
            cost = (1 - r) if higher_is_better else (r - 1)
            cells.append(" %28s" % ("%.1f (%+.1f%% cost)" % (medians[v], 100 * cost)))
        print("%-16s %-10s %12.1f%s" % (workload, unit, medians["floe→floe"], "".join(cells)))

rss = [int(kb) for kb in sys.argv[2:]]
if rss:
    print()
    print("Floe server resident memory after each of %d full C++ client runs: %s MiB"
          % (len(rss), ", ".join("%.1f" % (kb / 1024) for kb in rss)))
