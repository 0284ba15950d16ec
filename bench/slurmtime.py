"""Timing harness of bench/slurm.sh.

slurmtime.py RESULTS RUNS N FERRY_ARGV(N words) SSH_ARGV... HAND_SCRIPT
    runs the first ferry run (cold) and one untimed hand job, then RUNS
    rounds of both, alternating which goes first; each time is from the
    command's start to the line "first line" on its stdout. Writes RESULTS/
    ferry, hand (seconds), ferry_runs ("run_id start_epoch first_line_s")
    and hand_phases ("start submitted batch_start seen arrived", epoch
    seconds), and prints the tables.
slurmtime.py --phases RESULTS
    prints where the warm ferry runs spent their time, from RESULTS/
    ferry_phases ("run_id start submitted batch_start line_written"), and
    the hand jobs' from RESULTS/hand_phases.
"""
import os
import random
import re
import statistics
import subprocess
import sys
import time

MARKER = b"first line"


PAUSE = random.Random(1)


def timed(argv):
    """Runs argv after a pause of 0 to 1 s, so that submits sample every
    phase of slurmctld's 1 s scheduling cycle rather than lock to it (the
    previous job's end, which the next command follows, is tied to it);
    returns (start epoch, seconds to MARKER, total seconds, stderr)."""
    time.sleep(PAUSE.random())
    start, t0 = time.time(), time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, bufsize=0)
    first, buf = None, b""
    while True:
        chunk = p.stdout.read(65536)
        if not chunk:
            break
        buf += chunk
        if first is None and MARKER in buf.split(b"\n")[:-1]:
            first = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    total = time.monotonic() - t0
    if p.wait() != 0 or first is None:
        sys.exit(f"{argv[0]} failed (rc {p.returncode}, first line seen: {first is not None}):\n{buf.decode()}\n{err}")
    return start, first, total, err


def ferry(argv, out):
    start, first, total, err = timed(argv)
    m = re.search(r"ferry: run (\S+) on ", err)
    out.setdefault("ferry_runs", []).append(f"{m.group(1) if m else '-'} {start:.6f} {first:.6f}")
    return first, total, err


def hand(argv, out):
    start, first, total, err = timed(argv)
    sub = re.search(r"submitted ([0-9.]+)", err)
    seen = re.search(r"seen ([0-9.]+) ([0-9.]+)", err)
    if sub and seen:
        out.setdefault("hand_phases", []).append(
            f"{start:.6f} {sub.group(1)} {seen.group(2)} {seen.group(1)} {start + first:.6f}")
    return first, total


def med(xs):
    return statistics.median(xs)


def main(results, runs, n, rest):
    fargv, hargv = rest[:n], rest[n:]
    out = {}
    first, total, err = ferry(fargv, cold := {})
    write(results, "ferry_cold", cold["ferry_runs"])
    cold = re.search(r"submitted in (\S+)", err)
    print(f"first ferry run (cold): first line {first:.3f} s, run {total:.3f} s, submitted in {cold.group(1) if cold else '?'}")
    h, _ = hand(hargv, {})
    print(f"first hand job (untimed warm-up): first line {h:.3f} s")
    f_first, h_first, f_total = [], [], []
    for i in range(runs):
        order = ("ferry", "hand") if i % 2 == 0 else ("hand", "ferry")
        for who in order:
            if who == "ferry":
                first, total, _ = ferry(fargv, out)
                f_first.append(first)
                f_total.append(total)
            else:
                h_first.append(hand(hargv, out)[0])
        print(f"round {i + 1}: ferry {f_first[-1]:.3f} s, hand {h_first[-1]:.3f} s", flush=True)
    write(results, "ferry", ["%.6f" % x for x in f_first])
    write(results, "hand", ["%.6f" % x for x in h_first])
    for name, lines in out.items():
        write(results, name, lines)
    fm, hm = med(f_first), med(h_first)
    print("\n| to rank 0's first line | median | min / max | all runs |\n|---|---|---|---|")
    for name, xs in (("ferry run (warm)", f_first), ("hand: ssh + sbatch + poll 50 ms", h_first)):
        print(f"| {name} | {med(xs):.3f} s | {min(xs):.2f} / {max(xs):.2f} s | {' '.join('%.2f' % x for x in xs)} |")
    print(f"\nferry run / hand = {fm / hm:.2f} (goal <= 1.5: {'met' if fm <= 1.5 * hm else 'MISSED'}); "
          f"ferry run to its end (Completed), median {med(f_total):.3f} s")


def write(results, name, lines):
    with open(os.path.join(results, name), "w") as f:
        f.write("\n".join(lines) + "\n")


def arrivals(path):
    """run id -> epoch seconds when its first line reached the local stdout."""
    out = {}
    for line in open(path):
        rid, start, first = line.split()
        out[rid] = float(start) + float(first)
    return out


def phases(results):
    warm, cold = arrivals(os.path.join(results, "ferry_runs")), arrivals(os.path.join(results, "ferry_cold"))
    ferry_rows, cold_rows = [], []
    for line in open(os.path.join(results, "ferry_phases")):
        f = line.split()
        if len(f) != 5:
            continue
        for rows, arrived in ((ferry_rows, warm), (cold_rows, cold)):
            if f[0] in arrived:
                rows.append([float(x) for x in f[1:]] + [arrived[f[0]]])
    hand_rows = [[float(x) for x in line.split()] for line in open(os.path.join(results, "hand_phases"))]
    names = ("start to sbatch returned", "sbatch returned to batch script start",
             "batch script start to rank 0's line (ferry: written; hand: seen by the 50 ms poll)",
             "to the line on the local stdout")
    print("\n| phase (medians; min / max) | ferry run (warm) | hand | first ferry run (cold) |\n|---|---|---|---|")
    for k, name in enumerate(names):
        cells = []
        for rows in (ferry_rows, hand_rows, cold_rows):
            xs = [(r[k + 1] - r[k]) * 1000 for r in rows]
            cells.append(f"{med(xs):.0f} ms ({min(xs):.0f} / {max(xs):.0f})" if xs else "-")
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    if sys.argv[1] == "--phases":
        phases(sys.argv[2])
    else:
        main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
