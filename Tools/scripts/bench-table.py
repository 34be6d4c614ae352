"""Summarises Tools/bench.sh results: one table per workload, Floe/C++ ratios of medians.

Usage: bench-table.py RESULTS RSS_KB...
"""
import json
import statistics
import sys

PAIRINGS = ["floe→floe", "cpp→cpp", "floe→cpp", "cpp→floe"]

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
workloads = list(dict.fromkeys(row["workload"] for row in rows))


def figure(row):
    """The figure compared: per-call time for latency, MB/s when there is one, else calls/s."""
    if row["workload"] == "latency":
        return row["per_call_us"], "µs/call", False
    if row.get("mb_per_s") is not None:
        return row["mb_per_s"], "MB/s", True
    return row["calls_per_s"], "calls/s", True


print("%-16s %-10s %12s %12s %12s %12s   %s" % ("workload", "unit", *PAIRINGS, "floe↔floe / cpp↔cpp"))
for workload in workloads:
    medians = {}
    unit, higher_is_better = "", True
    for pairing in PAIRINGS:
        values = [figure(r) for r in rows if r["workload"] == workload and r["pairing"] == pairing]
        if values:
            medians[pairing] = statistics.median(v for v, _, _ in values)
            unit, higher_is_better = values[0][1], values[0][2]
    cells = ["%12.1f" % medians[p] if p in medians else "%12s" % "-" for p in PAIRINGS]
    ratio = ""
    if "floe→floe" in medians and "cpp→cpp" in medians:
        r = medians["floe→floe"] / medians["cpp→cpp"]
        ratio = "%.2f (%s)" % (r, "≥1 is parity" if higher_is_better else "≤1 is parity")
    print("%-16s %-10s %s   %s" % (workload, unit, " ".join(cells), ratio))

rss = [int(kb) for kb in sys.argv[2:]]
if rss:
    print()
    print("Floe server resident memory after each of %d full C++ client runs: %s MiB"
          % (len(rss), ", ".join("%.1f" % (kb / 1024) for kb in rss)))
