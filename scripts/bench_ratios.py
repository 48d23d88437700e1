#!/usr/bin/env python3
"""Print every plain-against-instrumented comparison of the heapmeter benchmarks.

Reads Criterion's results (the median of each benchmark, from
CRITERION_HOME/<id>/new/estimates.json) and the figures the benchmarks print
as `heapmeter-bench-metric NAME VALUE UNIT` lines, then prints one row per
comparison: plain value, instrumented value, the ratio or difference, the
goal and whether it is met. Standard library only.
"""

import argparse
import json
import pathlib
import sys

METRIC_PREFIX = "heapmeter-bench-metric"

# Goals, as stated in BENCHMARKS.md.
MAX_ADDED_NS_PER_CALL = 10.0
MIN_TWO_THREAD_SPEEDUP = 1.9
MAX_ALLOCATOR_RATIO = 1.05
MAX_WORKLOAD_RATIO = 1.02
MAX_BYTES_PER_FUNCTION = 2048.0
# "Well under the 60 s export interval" is taken as at most 1% of it.
MAX_EXPORT_SECONDS = 0.6

ALLOCATION_SIZES = [16, 64, 1024, 65536]


def load_medians(criterion_home):
    """Return {benchmark id: median in nanoseconds} for every result found."""
    medians = {}
    for benchmark_file in pathlib.Path(criterion_home).glob("**/new/benchmark.json"):
        estimates_file = benchmark_file.with_name("estimates.json")
        if not estimates_file.exists():
            continue
        benchmark = json.loads(benchmark_file.read_text())
        estimates = json.loads(estimates_file.read_text())
        medians[benchmark["full_id"]] = estimates["median"]["point_estimate"]
    return medians


def load_metrics(log_path):
    """Return {metric name: value} from the metric lines of the benchmark log."""
    metrics = {}
    for line in pathlib.Path(log_path).read_text(errors="replace").splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == METRIC_PREFIX:
            metrics[fields[1]] = float(fields[2])
    return metrics


def format_ns(nanoseconds):
    if nanoseconds >= 1e9:
        return f"{nanoseconds / 1e9:.3f} s"
    if nanoseconds >= 1e6:
        return f"{nanoseconds / 1e6:.2f} ms"
    if nanoseconds >= 1e3:
        return f"{nanoseconds / 1e3:.2f} µs"
    return f"{nanoseconds:.2f} ns"


class Table:
    """Rows of the report, with the ids of results that were missing."""

    def __init__(self, medians, metrics):
        self.medians = medians
        self.metrics = metrics
        self.rows = []
        self.missing = []

    def median(self, benchmark_id):
        value = self.medians.get(benchmark_id)
        if value is None:
            self.missing.append(benchmark_id)
        return value

    def metric(self, name):
        value = self.metrics.get(name)
        if value is None:
            self.missing.append(name)
        return value

    def add(self, comparison, plain, instrumented, result, goal, met):
        if met is None:
            status = "n/a"
        elif met:
            status = "met"
        else:
            status = "MISSED"
        self.rows.append([comparison, plain, instrumented, result, goal, status])

    def add_added_time(self, comparison, plain_id, instrumented_id, calls=1, unit="call"):
        """Compare time added per call against MAX_ADDED_NS_PER_CALL."""
        plain = self.median(plain_id)
        instrumented = self.median(instrumented_id)
        if plain is None or instrumented is None:
            return
        added = instrumented - plain
        result = f"+{added:.2f} ns/call"
        if calls > 1:
            result += f" (+{added / calls:.2f} ns/{unit})"
        goal = f"≤ {MAX_ADDED_NS_PER_CALL:g} ns/call"
        self.add(comparison, format_ns(plain), format_ns(instrumented), result, goal,
                 added <= MAX_ADDED_NS_PER_CALL)

    def add_allocator(self, size):
        system = self.median(f"alloc/system/{size}")
        tracking = self.median(f"alloc/tracking/{size}")
        if system is None or tracking is None:
            return
        ratio = tracking / system
        self.add(f"alloc + free, {size} B", format_ns(system), format_ns(tracking),
                 f"{ratio:.3f}×", f"≤ {MAX_ALLOCATOR_RATIO}×", ratio <= MAX_ALLOCATOR_RATIO)

    def add_scaling(self, group, description):
        """Throughput with 2 threads relative to 1, plain and instrumented.

        Each benchmark reports time per iteration, where one iteration is
        one call on every thread, so the speed-up is 2 * t1 / t2. Groups
        ending in `_cpu` report each thread's CPU time, so their speed-up is
        what two idle cores would reach.
        """
        speedups = {}
        for side in ("plain", "instrumented"):
            one = self.median(f"{group}/{side}/1")
            two = self.median(f"{group}/{side}/2")
            if one is None or two is None:
                return
            speedups[side] = (one, two, 2 * one / two)
        plain_one, plain_two, plain_speedup = speedups["plain"]
        one, two, speedup = speedups["instrumented"]
        # The plain and instrumented columns hold the 1-thread and 2-thread
        # times here, because each row compares thread counts of one side.
        self.add(f"{description}, plain (machine limit)",
                 f"1 thread: {format_ns(plain_one)}", f"2 threads: {format_ns(plain_two)}",
                 f"{plain_speedup:.2f}× throughput", "reference", None)
        self.add(f"{description}, instrumented",
                 f"1 thread: {format_ns(one)}", f"2 threads: {format_ns(two)}",
                 f"{speedup:.2f}× throughput", f"≥ {MIN_TWO_THREAD_SPEEDUP}×",
                 speedup >= MIN_TWO_THREAD_SPEEDUP)

    def add_workload(self):
        plain = self.median("workload/serde_json/plain")
        instrumented = self.median("workload/serde_json/instrumented")
        if plain is None or instrumented is None:
            return
        ratio = instrumented / plain
        size = self.metrics.get("workload/document_bytes")
        label = "serde_json workload, process CPU time per pass"
        if size is not None:
            label += f" ({size / 1e6:.1f} MB document)"
        self.add(label, format_ns(plain), format_ns(instrumented), f"{ratio:.3f}×",
                 f"≤ {MAX_WORKLOAD_RATIO}×", ratio <= MAX_WORKLOAD_RATIO)

    def add_memory(self):
        per_function = self.metric("memory/per_function")
        if per_function is None:
            return
        parts = []
        for name, label in [("memory/heap_bytes_mean", "heap"),
                            ("memory/function_stats_bytes", "FunctionStats"),
                            ("memory/site_bytes", "Site")]:
            value = self.metrics.get(name)
            if value is not None:
                parts.append(f"{label} {value:.0f}")
        unsampled = self.metrics.get("memory/unsampled_calls")
        if unsampled:
            parts.append(f"{unsampled:.0f} unsampled calls")
        self.add("runtime memory per function (10,000 functions)", "", " + ".join(parts),
                 f"{per_function:.0f} B", f"≤ {MAX_BYTES_PER_FUNCTION:.0f} B",
                 per_function <= MAX_BYTES_PER_FUNCTION)

    def add_export(self, count):
        collect = self.median(f"export/collect/{count}")
        if collect is None:
            return
        encode = self.medians.get(f"export/encode/{count}")
        total = collect + (encode or 0.0)
        if encode is None:
            detail = f"collect {format_ns(collect)}, encode not benchmarked"
        else:
            detail = f"collect {format_ns(collect)} + encode {format_ns(encode)}"
        request_bytes = self.metrics.get(f"export/request_bytes/{count}")
        if request_bytes is not None:
            detail += f", requests {request_bytes / 1e6:.2f} MB ({request_bytes / count:.0f} B/function)"
        requests = self.metrics.get(f"export/requests/{count}")
        largest = self.metrics.get(f"export/largest_request_bytes/{count}")
        if requests is not None and largest is not None:
            detail += f" in {requests:.0f}, the largest {largest / 1e6:.2f} MB"
        self.add(f"export of {count:,} functions", "", detail, format_ns(total),
                 f"≤ {MAX_EXPORT_SECONDS:g} s", total <= MAX_EXPORT_SECONDS * 1e9)


def build_table(medians, metrics):
    table = Table(medians, metrics)
    table.add_added_time("empty function, record queued", "call/empty/plain", "call/empty/instrumented")
    table.add_added_time("64-byte Box function, record queued", "call/box64/plain", "call/box64/instrumented")
    table.add_added_time("empty function, tight loop (ring full)", "call_loop/empty/plain",
                         "call_loop/empty/instrumented")
    table.add_added_time("64-byte Box function, tight loop (ring full)", "call_loop/box64/plain",
                         "call_loop/box64/instrumented")
    table.add_added_time("async fn, 10 polls", "async/ten_polls/plain", "async/ten_polls/instrumented",
                         calls=10, unit="poll")
    for size in ALLOCATION_SIZES:
        table.add_allocator(size)
    table.add_scaling("threads", "1 → 2 threads, request handler (~0.3 µs), wall time")
    table.add_scaling("threads_cpu", "1 → 2 threads, request handler (~0.3 µs), CPU time per thread")
    table.add_scaling("threads_loop", "1 → 2 threads, 64-byte Box loop, wall time")
    table.add_scaling("threads_loop_cpu", "1 → 2 threads, 64-byte Box loop, CPU time per thread")
    table.add_workload()
    table.add_memory()
    for count in (1000, 10000):
        table.add_export(count)
    return table


def render_text(rows, header):
    widths = [max(len(str(row[column])) for row in [header] + rows) for column in range(len(header))]
    lines = []
    for row in [header] + rows:
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
        if row is header:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render_markdown(rows, header):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion", required=True, help="Criterion output directory (CRITERION_HOME)")
    parser.add_argument("--log", required=True, help="log of the benchmark run, for the metric lines")
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    arguments = parser.parse_args()

    table = build_table(load_medians(arguments.criterion), load_metrics(arguments.log))
    header = ["comparison", "plain", "instrumented", "difference or ratio", "goal", "status"]
    print()
    print(render_text(table.rows, header))
    if arguments.markdown:
        pathlib.Path(arguments.markdown).write_text(render_markdown(table.rows, header) + "\n")
    if table.missing:
        print(f"\nmissing results: {', '.join(table.missing)}; "
              "run every benchmark (scripts/bench) to fill them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
