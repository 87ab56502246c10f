"""Command-line seed runner: ``python -m rmqlite.sim --seeds 20000`` / ``--seed 1234 --trace``.

Prints one line per failing seed (with the reproduce command), progress every ``--every`` seeds and a
final summary: seeds run, failures, seeds per second, worst leader / recovery times in ticks.
Exit status 1 when any seed failed.
"""
from __future__ import annotations

import argparse
import sys
import time

from rmqlite.sim.scenario import SimFailure, run_scenario, scenario_from_seed
from rmqlite.sim.trace import repro_command


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rmqlite.sim", description=__doc__)
    ap.add_argument("--seeds", type=int, default=500, help="how many seeds to run")
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--seed", type=int, default=None, help="run only this seed")
    ap.add_argument("--nodes", type=int, choices=(3, 5), default=None, help="force the group size")
    ap.add_argument("--trace", action="store_true", help="print the full trace of a failing seed")
    ap.add_argument("--every", type=int, default=1000, help="progress line every N seeds")
    args = ap.parse_args(argv)
    seeds = [args.seed] if args.seed is not None else range(args.start, args.start + args.seeds)
    failures: list[int] = []
    worst_leader = worst_recovery = 0.0
    worst_election = {True: 0.0, False: 0.0}  # by pre_vote: time to a stable leader / election timeout
    steps = 0
    t0 = time.perf_counter()
    for k, seed in enumerate(seeds, 1):
        try:
            sc = scenario_from_seed(seed, args.nodes)
            r = run_scenario(sc, trace_keep=10**7 if args.trace else 400,
                             report_last=10**7 if args.trace else 120)
            worst_leader = max(worst_leader, r.leader_ticks)
            worst_recovery = max(worst_recovery, r.recovery_ticks)
            if r.catchup_ticks <= 1:  # no big backlog: time to a stable leader is election time
                pv = sc.group.pre_vote
                worst_election[pv] = max(worst_election[pv], r.leader_ticks / sc.group.election_tick)
            steps += r.steps
            if args.seed is not None:
                print(r)
        except SimFailure as exc:
            failures.append(seed)
            text = str(exc)
            print(text if args.trace or len(failures) <= 3 else text.splitlines()[3], flush=True)
            print(f"FAILED seed {seed}: {repro_command(seed)}", flush=True)
        if args.every and k % args.every == 0:
            dt = time.perf_counter() - t0
            print(f"... {k} seeds, {len(failures)} failures, {k / dt:.1f} seeds/s", flush=True)
    dt = time.perf_counter() - t0
    n = len(seeds)
    print(f"seeds={n} failures={len(failures)} time={dt:.1f}s seeds/s={n / dt:.1f} steps/s={steps / dt:.0f} "
          f"worst_leader_ticks={worst_leader} worst_recovery_ticks={worst_recovery} "
          f"worst_leader_without_backlog(in election timeouts): prevote={worst_election[True]:.2f} "
          f"plain={worst_election[False]:.2f}")
    if failures:
        print("failing seeds:", " ".join(map(str, failures[:100])))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
