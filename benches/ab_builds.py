#!/usr/bin/env python3
"""Two builds of safetynet against each other, interleaved: how the before and
after figures of a change to the engine (not to the SQL) were taken.

    benches/ab_builds.py queries --store STORE --sql DIR [--rounds 5] BEFORE AFTER
    benches/ab_builds.py run --clone DIR [--rounds 10] [--built] BEFORE AFTER

BEFORE and AFTER are two release binaries. Each measured process is timed by
`time.perf_counter` around it, start included: finer than `/usr/bin/time`'s
hundredths, which at a million records are a tenth or more of a query.

`queries` runs every .sql file of DIR (the benchmark's rewritten queries, say
`target/bench/sql`) as one `safetynet query --file` process per query and
build, in turn, ROUNDS times, with years FROM to TO; it prints each query's
range and median per build, the sums of the medians, and fails when a query's
CSV differs between the builds.

`run` runs the main job (`safetynet run`) in DIR, a clean clone of the
repository, in turn per build: with a fresh store each time (the `store`
folder a previous round's `run` wrote is removed first), or with `--built`
the store left as it is. It fails when `git status` is not clean after a
round: the committed reports must come out byte for byte.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(command, cwd=None):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def summary(seconds):
    return f"{min(seconds):.3f}–{max(seconds):.3f} ({statistics.median(seconds):.3f})"


def queries(args):
    if not os.path.isdir(args.sql):
        sys.exit(f"ab_builds.py: {args.sql} is not a folder")
    files = sorted(f for f in os.listdir(args.sql) if f.endswith(".sql"))
    if not files:
        sys.exit(f"ab_builds.py: no .sql files in {args.sql}")
    out = tempfile.mkdtemp(prefix="ab-builds-")
    runs = {}
    for _ in range(args.rounds):
        for name in files:
            for side, binary in (("before", args.before), ("after", args.after)):
                csv = os.path.join(out, f"{side}-{name}.csv")
                if os.path.exists(csv):
                    os.remove(csv)
                runs.setdefault((name, side), []).append(timed([
                    binary, "--quiet", "query", "--store", args.store, "--format", "csv",
                    "--file", os.path.join(args.sql, name), "--from", str(args.from_year),
                    "--to", str(args.to_year), "--output", csv]))
    print("| query | before | after |\n|---|---|---|")
    differ = []
    for name in files:
        print(f"| {name[:-4]} | {summary(runs[(name, 'before')])} | {summary(runs[(name, 'after')])} |")
        with open(os.path.join(out, f"before-{name}.csv"), "rb") as a, \
                open(os.path.join(out, f"after-{name}.csv"), "rb") as b:
            if a.read() != b.read():
                differ.append(name)
    for side in ("before", "after"):
        total = sum(statistics.median(runs[(name, side)]) for name in files)
        print(f"sum of the medians, {side}: {total:.3f} s")
    shutil.rmtree(out)
    if differ:
        sys.exit(f"ab_builds.py: the builds' tables differ: {', '.join(differ)}")
    print("every table the same with both builds", file=sys.stderr)


def clean(clone):
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, check=True,
                            capture_output=True, text=True).stdout
    return status == ""


def run(args):
    if not clean(args.clone):
        sys.exit(f"ab_builds.py: {args.clone} is not a clean clone (git status shows changes)")
    store = os.path.join(args.clone, "store")
    runs = {}
    for _ in range(args.rounds):
        for side, binary in (("before", args.before), ("after", args.after)):
            if not args.built and os.path.isdir(store):
                # only the store `run` wrote: a folder without a manifest is not one
                if not os.path.exists(os.path.join(store, "manifest.json")):
                    sys.exit(f"ab_builds.py: {store} is not a safetynet store; not removing it")
                shutil.rmtree(store)
            runs.setdefault(side, []).append(timed([binary, "--quiet", "run"], cwd=args.clone))
            if not clean(args.clone):
                sys.exit(f"ab_builds.py: after the {side} build's run, git status is not clean")
    kind = "store built" if args.built else "fresh store"
    for side in ("before", "after"):
        print(f"{side}, {kind}: {summary(runs[side])} s over {args.rounds} rounds")
    print("the committed reports reproduced after every round", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    q = commands.add_parser("queries", help="query processes of two builds on one store")
    q.add_argument("--store", required=True)
    q.add_argument("--sql", required=True, help="a folder of .sql files")
    q.add_argument("--from-year", type=int, default=2015)
    q.add_argument("--to-year", type=int, default=2024)
    q.add_argument("--rounds", type=int, default=5)
    r = commands.add_parser("run", help="the main job of two builds in a clean clone")
    r.add_argument("--clone", required=True)
    r.add_argument("--rounds", type=int, default=10)
    r.add_argument("--built", action="store_true", help="keep the store between rounds")
    for sub in (q, r):
        sub.add_argument("before")
        sub.add_argument("after")
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit("ab_builds.py: --rounds must be at least 1")
    for binary in (args.before, args.after):
        if not os.access(binary, os.X_OK):
            sys.exit(f"ab_builds.py: {binary} is not an executable")
    if args.command == "queries":
        queries(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
