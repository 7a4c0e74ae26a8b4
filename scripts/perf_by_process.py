#!/usr/bin/env python3
"""Splits a system-wide perf profile by program: CPU per process and where it goes.

A launch benchmark runs hundreds of short processes (executors, containerizer
helpers, shells) whose threads carry names such as "caf.multiplexer", so
perf's own per-comm report mixes programs. This groups every sample by the
process it came from, names the process after the programs it ran (its
non-CAF thread names: "dcos-containeri/dcos-executor" is a helper that
exec'd an executor), and prints, per program: samples, processes, CPU
milliseconds per process, the top shared objects and the top symbols.

    perf record -a -g -F 499 -o /tmp/launch.perf -- \\
        build/bench/agent_launch_bench --tasks=0 --live_tasks=0 --command_tasks=200
    perf script -i /tmp/launch.perf -G -F comm,pid,tid,ip,sym,dso \\
        | scripts/perf_by_process.py --hz=499

--hz must be the sampling frequency given to perf record (-F).
"""
import argparse
import collections
import re
import sys

SAMPLE = re.compile(r"\s*(\S.*?)\s+(\d+)/(\d+)\s+\S+\s+(.*)\((.*)\)\s*$")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hz", type=float, required=True,
                        help="perf record's -F frequency")
    parser.add_argument("--top", type=int, default=8,
                        help="programs (and symbols per program) to print")
    args = parser.parse_args()

    samples = []
    names = collections.defaultdict(set)
    for line in sys.stdin:
        match = SAMPLE.match(line)
        if not match:
            continue
        comm, pid, _tid, sym, dso = match.groups()
        samples.append((pid, dso.rsplit("/", 1)[-1], sym.strip()))
        if not comm.startswith("caf."):
            names[pid].add(comm)

    count = collections.Counter()
    pids = collections.defaultdict(set)
    dsos = collections.defaultdict(collections.Counter)
    syms = collections.defaultdict(collections.Counter)
    for pid, dso, sym in samples:
        program = "/".join(sorted(names.get(pid, {"?"})))
        count[program] += 1
        pids[program].add(pid)
        dsos[program][dso] += 1
        syms[program][sym] += 1

    total = sum(count.values()) or 1
    for program, n in count.most_common(args.top):
        per_process_ms = n / len(pids[program]) * 1000.0 / args.hz
        print(f"{program}: {n} samples ({100.0 * n / total:.1f}%), "
              f"{len(pids[program])} processes, "
              f"{per_process_ms:.1f} ms CPU per process")
        top_dsos = ", ".join(f"{d} {100.0 * c / n:.0f}%"
                             for d, c in dsos[program].most_common(4))
        print(f"  objects: {top_dsos}")
        for sym, c in syms[program].most_common(args.top):
            print(f"  {100.0 * c / n:5.1f}%  {sym[:100]}")


if __name__ == "__main__":
    main()
