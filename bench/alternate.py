#!/usr/bin/env python3
"""Two builds of frontdesk, command by command, in turn: for the desk rows of bench/compare.sh
when the machine is too noisy for one build's hyperfine run to be compared with another's.

    bench/alternate.py BUILD_A BUILD_B [--rounds 25] [--ten-year] [--own-write]
                       [--floors STAT_FLOOR] [ROW ...]
    rows: add show book checkin collect balance ledger list call (default: all)

For each of ROUNDS rounds, on the big then the small clinic (made by bench/compare.sh), each
build runs the row's command right after the row's preparing write, as compare.sh's desk rows
do; the write is always made by BUILD_B, so both builds find the same state. Prints the median
wall time of each build on each clinic and the big / small ratio. With --ten-year, the
ten-year clinic (1,000 patients, the big clinic's ten years of history) runs in the same rounds
too, and the big / ten-year ratio is printed beside: the two clinics have the same day folders
to stat (the floor rows of compare.sh), so that ratio is what the clinic's size costs. Put the clinics back as
generated first, git's index folded (compare.sh's `desk` rows do: its `restore_generated`), so
the booked day holds what it held then and no clinic's commits carry the entries earlier runs
left in git's small index.
With --own-write each build makes its own preparing write instead: for a change to what a
write leaves for the next command (write-through).
With --floors (the `stat_floor` example, built by compare.sh), each round also runs the stat
floor of the kind whose ten years of day folders the row must stat (`FLOOR_KIND`) on each
clinic, right after the row's commands, and prints each build's ratio with the floors'
difference taken off the big clinic's time: (big - (floor big - floor small)) / small, what
the row costs beyond the one stat per day folder that finding hand edits needs.
Environment: FRONTDESK_BENCH_DIR (default /tmp/frontdesk-bench).
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import time

bench = os.environ.get("FRONTDESK_BENCH_DIR", "/tmp/frontdesk-bench")
env = dict(os.environ, FRONTDESK_USER="bench", NO_COLOR="1",
           FRONTDESK_NOW="2026-11-27T08:00:00-05:00")
ROWS = ["add", "show", "book", "checkin", "collect", "balance", "ledger", "list", "call"]
# The kind whose every day folder a row stats (the open follow-ups' view for the chart).
FLOOR_KIND = {"show": "communications", "call": "communications", "checkin": "ledger",
              "collect": "ledger", "balance": "ledger", "ledger": "ledger",
              "book": "appointments", "list": "appointments"}


def run(args):
    return subprocess.run(args, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL).stdout.decode().strip()


def busy_patient(clinic):
    """The patient with most visits on the bench day, as compare.sh picks it (a tie: the
    greatest ID, as its `sort -rn` leaves it)."""
    day = os.path.join(clinic, "appointments", "2026", "11", "24")
    counts = {}
    for name in os.listdir(day):
        with open(os.path.join(day, name)) as f:
            for line in f:
                if line.startswith("patient = "):
                    p = line.split('"')[1]
                    counts[p] = counts.get(p, 0) + 1
                    break
    return max(counts, key=lambda p: (counts[p], p))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--ten-year", action="store_true")
    ap.add_argument("--own-write", action="store_true")
    ap.add_argument("--floors", metavar="STAT_FLOOR")
    ap.add_argument("rows", nargs="*", default=ROWS)
    args = ap.parse_intermixed_args()
    clinics = {
        "big": os.path.join(bench, "big-100000-1000000-s1"),
        "small": os.path.join(bench, "small-1000-10000-s1"),
    }
    if args.ten_year:
        clinics["ten"] = os.path.join(bench, "history-1000-50000-p1-s1")
    patient = {k: busy_patient(c) for k, c in clinics.items()}
    slot = {}
    for k, c in clinics.items():
        found = json.loads(run([args.b, "--records", c, "schedule", "find", "--patient",
                                patient[k], "--type", "follow-up", "--after", "2026-11-27",
                                "--format", "json"]))
        slot[k] = (found[0]["date"], found[0]["start"], found[0]["provider"])

    def prepare(row, k, writer):
        c, p = clinics[k], patient[k]
        day, start, provider = slot[k]
        fd = [writer, "--records", c]
        book = ["schedule", "book", "--patient", p, "--provider", provider, "--type",
                "follow-up", "--at", f"{day} {start}", "--force", "--quiet"]
        pay = ["pay", "collect", "--patient", p, "--amount", "1", "--method", "cash",
               "--force", "--quiet"]
        update = ["patient", "update", p, "--email",
                  f"bench-{random.randrange(10**9)}@example.org"]
        if row in ("add", "show"):
            run(fd + update)
            return (["patient", "add", "--first", "Bench", "--last", "Runner", "--dob",
                     "1990-01-01", "--sex", "F", "--force", "--quiet"]
                    if row == "add" else ["patient", "show", p])
        if row == "call":
            # A call logged with a follow-up, then the chart, which lists the open follow-ups.
            run(fd + ["comm", "log", "--patient", p, "--with", "patient", "--channel", "phone",
                      "--direction", "in", "--summary", "Bench call", "--follow-up",
                      "2026-12-10"])
            return ["patient", "show", p]
        if row in ("book", "list"):
            run(fd + book)
            # list: the patient's visits right after a booking (the visit buckets written
            # through, or told by the listing itself).
            return book if row == "book" else ["schedule", "list", "--patient", p]
        if row == "checkin":
            today = book[:-4] + ["--at", "2026-11-27 16:10", "--force", "--quiet"]
            return ["schedule", "checkin", run(fd + today)]
        run(fd + pay)
        return {"collect": pay[:4] + ["--amount", "2", "--method", "cash", "--force",
                                      "--quiet"],
                "balance": ["pay", "balance", p], "ledger": ["pay", "ledger", p]}[row]

    days = {}

    def floor(kind, k):
        """One run of the stat floor of `kind`'s day folders on clinic `k`."""
        c = clinics[k]
        if (kind, k) not in days:
            def subdirs(rel):
                top = os.path.join(c, kind, rel)
                return sorted(e.name for e in os.scandir(top) if e.is_dir())
            folders = [f"{y}/{mo}/{d}" for y in subdirs("") for mo in subdirs(y)
                       for d in subdirs(f"{y}/{mo}")]
            path = os.path.join(bench, f"floor-days-{kind}-{os.path.basename(c)}.txt")
            with open(path, "w") as f:
                f.write("".join(d + "\n" for d in folders))
            days[(kind, k)] = path
        return [args.floors, os.path.join(c, kind), days[(kind, k)]]

    builds = {"A": args.a, "B": args.b}
    for row in args.rows:
        times = {}
        kind = FLOOR_KIND.get(row) if args.floors else None
        for _ in range(args.rounds):
            for k in clinics:
                runs = [(name, binary) for name, binary in builds.items()]
                if kind:
                    runs.append(("floor", None))
                for name, binary in runs:
                    if binary:
                        cmd = [binary, "--records", clinics[k]] + prepare(
                            row, k, binary if args.own_write else args.b)
                    else:
                        cmd = floor(kind, k)
                    start = time.perf_counter_ns()
                    run(cmd)
                    times.setdefault((k, name), []).append(
                        (time.perf_counter_ns() - start) / 1e6)
        m = {key: statistics.median(v) for key, v in times.items()}
        def line(n):
            big, small = m[("big", n)], m[("small", n)]
            text = f"{n}: big {big:.1f} ms, small {small:.1f} ms, ratio {big / small:.2f}"
            if kind:
                floors = m[("big", "floor")] - m[("small", "floor")]
                text += f", less floors {(big - floors) / small:.2f}"
            if ("ten", n) in m:
                text += f", ten-year {m[('ten', n)]:.1f} ms, big / ten-year {big / m[('ten', n)]:.2f}"
            return text
        floors = (f" | floor {kind}: big {m[('big', 'floor')]:.1f} ms, small "
                  f"{m[('small', 'floor')]:.1f} ms" if kind else "")
        print(f"{row:8} " + " | ".join(line(n) for n in builds) + floors, flush=True)


if __name__ == "__main__":
    main()
