#!/usr/bin/env python3
"""Run plait's benchmarks beside their peers and print the side-by-side table with ratios.

    .venv/bin/python benches/run.py                 # everything (what `make bench` runs)
    .venv/bin/python benches/run.py --quick         # smoke run: tiny batches, few rounds
    .venv/bin/python benches/run.py --group amp-decode      # one group (repeatable)
    .venv/bin/python benches/run.py -k twisted      # pytest -k expression
    .venv/bin/python benches/run.py --list          # the groups and their targets

Throughput is the median round: units per round / median round time. Ratios are
plait / peer from this one run, same interpreter. Benchmarks never fail the build:
the exit status is 0 whatever the figures (2 on a usage error).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCHES = Path(__file__).resolve().parent
ROOT = BENCHES.parent


@dataclass(frozen=True)
class Target:
    peer: str
    minimum: float | None  # plait/peer throughput ratio to reach; None: no target, shown only
    label: str = ""
    subject: str = "plait"  # whose throughput is divided by the peer's


# group -> (what is measured, the comparisons to print in order)
GROUPS: dict[str, tuple[str, list[Target]]] = {
    "amp-encode": ("AMP box encode, 1 box of 6 keys", [Target("twisted", None)]),
    "amp-decode": ("AMP box decode, 1000 boxes in one buffer", [Target("twisted", 25.0)]),
    "amp-rtt-1": (("AMP Sum round trips, 1 outstanding (uvloop: the asyncio floor, canned bytes "
                   "and a future per call, no AMP)"), [
        Target("twisted", 8.0), Target("uvloop", None, "shown: plait/floor"),
        Target("twisted", None, "shown: floor/twisted", subject="uvloop")]),
    "amp-rtt-100": ("AMP Sum round trips, 100 outstanding", [Target("twisted", 20.0)]),
    "echo-rtt-64B": ("echo 64 B request/response", [
        Target("uvloop", 1 / 1.10, ">=0.91x (adds <=10%)"), Target("twisted", None)]),
    "echo-stream-64B": ("stream 64 B writes, 64 per loop iteration", [
        Target("twisted", 1.0), Target("uvloop", None)]),
    "axiom-insert-batch": ("Axiom: 100k objects inserted in one batch, one transaction", [
        Target("sqlite3", 0.6), Target("sqlalchemy", None), Target("peewee", None)]),
    "axiom-insert-each": ("Axiom: 100k objects created one at a time, one transaction", [
        Target("sqlite3", None), Target("sqlalchemy", None), Target("peewee", None)]),
    "axiom-load": ("Axiom: 100k objects loaded by one query (fresh connection)", [
        Target("sqlalchemy", 4.0), Target("sqlite3", 0.8), Target("peewee", None)]),
    "axiom-query-indexed": ("Axiom: 1k queries by an indexed attribute, 5 objects each", [
        Target("sqlite3", None), Target("sqlalchemy", None), Target("peewee", None)]),
    "dns-parse-response": ("DNS: parse a 10-record response (bytes -> message object)", [
        Target("twisted", 20.0), Target("dnspython", 100.0)]),
    "dns-render-response": ("DNS: render a 10-record response (message object -> bytes)", [
        Target("twisted", None), Target("dnspython", None)]),
    "dns-parse-query": ("DNS: parse a query with EDNS", [
        Target("twisted", None), Target("dnspython", None)]),
    "dns-server": ("DNS: authoritative server, dnsperf UDP queries/s (wall clock), subprocesses", [
        Target("nsd", 0.5), Target("twisted", 10.0)]),
    "dns-server-cpu": ("DNS: the same runs, queries answered per second of server CPU time", [
        Target("nsd", None), Target("twisted", None)]),
    "ssh-packet-chacha20-poly1305": ("SSH packets: encode+decode 64 x 32 KiB, chacha20-poly1305", [
        Target("cryptography", None)]),
    "ssh-packet-aes128-gcm": ("SSH packets: encode+decode 64 x 32 KiB, aes128-gcm", [
        Target("cryptography", None), Target("paramiko", None)]),
    "ssh-packet-aes256-gcm": ("SSH packets: encode+decode 64 x 32 KiB, aes256-gcm", [
        Target("cryptography", None), Target("paramiko", None)]),
    "ssh-packet-aes128-ctr-hmac-sha2-256-etm": (
        "SSH packets: encode+decode 64 x 32 KiB, aes128-ctr + hmac-sha2-256-etm", [
            Target("cryptography", None), Target("paramiko", None)]),
    "ssh-packet-aes256-ctr-hmac-sha2-512-etm": (
        "SSH packets: encode+decode 64 x 32 KiB, aes256-ctr + hmac-sha2-512-etm", [
            Target("cryptography", None), Target("paramiko", None)]),
    "ssh-packet-aes128-ctr-hmac-sha2-256": (
        "SSH packets: encode+decode 64 x 32 KiB, aes128-ctr + hmac-sha2-256", [
            Target("cryptography", None), Target("paramiko", None)]),
    "ssh-transfer-aes128-gcm": (
        ("SSH: 200 MiB through cat > /dev/null, aes128-gcm, MB/s wall clock (plait = plait<->plait;"
        " the pair targets: benches/bench_ssh_transfer.py run directly)"), [
            Target("sshd", None), Target("plaitserver", None), Target("plaitclient", None),
            Target("asyncssh", None)]),
    "ssh-transfer-chacha20-poly1305": (
        "SSH: 200 MiB through cat > /dev/null, chacha20-poly1305, MB/s wall clock (as above)", [
            Target("sshd", None), Target("plaitserver", None), Target("plaitclient", None),
            Target("asyncssh", None)]),
    "ssh-setup": (("SSH: connections/s (connect, auth, exec true, close), plait<->plait vs "
                  "asyncssh<->asyncssh, wall clock"), [Target("asyncssh", 1.5)]),
    "ptcp-bulk": (("PTCP: 100 MB one way over 127.0.0.1 (aioquic: one stream, 20 MB; kerneltcp: "
                   "plait StreamProtocol over TCP; ptcpdgram: PTCP with batch_io=False)"), [
        Target("aioquic", 20.0), Target("kerneltcp", None), Target("ptcpdgram", None)]),
    "ptcp-packets": (("PTCP: data packets/s in the 100 MB transfer vs a raw uvloop UDP blast "
                      "(1400-byte datagrams received, the ceiling)"), [Target("udpblast", 0.6)]),
    "ptcp-rtt": ("PTCP: 64 B request/response round trips vs plain UDP echo", [
        Target("udpecho", None)]),
    "vt102-plain": ("VT102 client: plain text lines, parser + 80x24 screen, 4 KiB reads", [
        Target("pyte", 300.0), Target("twisted", None)]),
    "vt102-escapes": (("VT102 client: full-screen drawing (CUP, SGR 16/256/truecolour, erase, "
                      "charsets, regions)"), [Target("pyte", 300.0), Target("twisted", None)]),
    "vt102-keys": ("VT102 input: typed keys -> keystroke callbacks (KeyParser vs ServerProtocol)",
                   [Target("twisted", None)]),
}
# columns of the table, in this order; only those with a figure in this run are printed
IMPL_ORDER = ["plait", "uvloop", "nsd", "twisted", "dnspython", "sqlite3", "sqlalchemy",
              "peewee", "cryptography", "paramiko", "sshd", "plaitserver", "plaitclient",
              "asyncssh"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="benches/run.py",
        description="Run plait's benchmarks beside their peers (Twisted, bare uvloop, raw "
                    "sqlite3, SQLAlchemy, peewee); print ratios.",
    )
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny batches and few rounds (figures are not meaningful)")
    p.add_argument("--group", action="append", default=[], metavar="GROUP",
                   choices=sorted(GROUPS), help="run only this group (repeatable): %(choices)s")
    p.add_argument("-k", dest="keyword", metavar="EXPR",
                   help="pytest -k expression over benchmark names, e.g. 'rtt and not twisted'")
    p.add_argument("--list", action="store_true", help="list groups and targets, run nothing")
    p.add_argument("--json", metavar="PATH", help="also keep pytest-benchmark's JSON here")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show pytest's own output (its per-benchmark tables)")
    return p.parse_args(argv)


def pytest_command(args: argparse.Namespace, json_path: Path) -> list[str]:
    cmd = [
        sys.executable, "-m", "pytest", str(BENCHES),
        "-p", "no:cacheprovider",
        "-o", "python_files=bench_*.py",
        "-q", "-rfEs",
        f"--benchmark-json={json_path}",
        "--benchmark-sort=name",
        "--benchmark-columns=min,median,max,rounds,iterations",
        "--benchmark-group-by=group",
        # Both ends of every pair run in this one process, so its CPU time is the cost of a
        # round; unlike wall time it does not move when other work shares the machine.
        "--benchmark-timer=time.process_time",
    ]
    if args.quick:
        cmd += ["--benchmark-max-time=0.02", "--benchmark-min-rounds=2",
                "--benchmark-warmup=off"]
    else:
        cmd += ["--benchmark-max-time=2.0", "--benchmark-min-rounds=10",
                "--benchmark-warmup=on", "--benchmark-warmup-iterations=2000"]
    for group in args.group:
        cmd += ["--bench-group", group]
    if args.keyword:
        cmd += ["-k", args.keyword]
    return cmd


def fmt_rate(value: float, unit: str) -> str:
    if unit == "MB/s":
        return f"{value:,.1f} MB/s"
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:,.2f}{suffix} {unit}"
    return f"{value:,.1f} {unit}"


def throughput(bench: dict[str, Any]) -> tuple[float, str]:
    """Units per second from the median round, and the unit's name."""
    extra = bench.get("extra_info", {})
    median = bench["stats"]["median"]
    if extra.get("bytes_per_round"):
        return extra["bytes_per_round"] / median / 1e6, "MB/s"
    unit = extra.get("unit", "ops")
    if extra.get("rate"):  # measured by an outside tool (dnsperf), not by the round timer
        return extra["rate"], f"{unit}/s"
    return extra.get("per_round", 1) / median, f"{unit}/s"


def table(results: dict[str, Any], outcomes: dict[str, Any], quick: bool) -> str:
    by_group: dict[str, dict[str, dict[str, Any]]] = {}
    for bench in results.get("benchmarks", []):
        extra = bench.get("extra_info", {})
        if extra.get("samples"):  # implementations measured in turns: one row each
            for impl, times in extra["samples"].items():
                by_group.setdefault(bench["group"], {})[impl] = {
                    **bench, "extra_info": {**extra, "impl": impl},
                    "stats": {"median": statistics.median(times)}}
            continue
        impl = extra.get("impl") or bench["name"].rsplit("_", 1)[-1]
        by_group.setdefault(bench["group"], {})[impl] = bench
    problems: dict[str, dict[str, str]] = {}
    for entry in outcomes.values():
        if entry.get("outcome") != "passed" and entry.get("group"):
            problems.setdefault(entry["group"], {})[entry["impl"]] = (
                f"{entry['outcome']}: {entry.get('message', '')}".strip())
    groups = [g for g in GROUPS if g in by_group or g in problems]
    groups += sorted(g for g in set(by_group) | set(problems) if g not in GROUPS)

    present = {impl for g in groups for impl in (*by_group.get(g, {}), *problems.get(g, {}))}
    impls = [i for i in IMPL_ORDER if i in present or i == "plait"]
    impls += sorted(present - set(impls))

    rows: list[list[str]] = []
    notes: list[str] = []
    header = ["group", *impls, "ratio", "target", "met"]
    for group in groups:
        benches = by_group.get(group, {})
        rates = {impl: throughput(b) for impl, b in benches.items()}
        cells = []
        for impl in impls:
            if impl in rates:
                cells.append(fmt_rate(*rates[impl]))
            elif impl in problems.get(group, {}):
                cells.append(problems[group][impl].split(":")[0])
                notes.append(f"{group} [{impl}] {problems[group][impl]}")
            else:
                cells.append("")
        targets = GROUPS.get(group, ("", []))[1] or [Target(i, None) for i in rates if i != "plait"]
        first = True
        for target in targets:
            subject = target.subject
            if subject in rates and target.peer in rates:
                ratio = rates[subject][0] / rates[target.peer][0]
                ratio_s = f"{ratio:.2f}x vs {target.peer}"
                if subject != "plait":
                    ratio_s = f"{subject} {ratio_s}"
                met = "" if target.minimum is None else ("yes" if ratio >= target.minimum else "NO")
            else:
                ratio_s, met = f"n/a vs {target.peer}", ("" if target.minimum is None else "n/a")
            target_s = target.label or ("" if target.minimum is None else f">={target.minimum:g}x")
            rows.append(([group] + cells if first else [""] * (1 + len(impls)))
                        + [ratio_s, target_s, met])
            first = False

    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(header), rule] + [line(r) for r in rows] + [rule]
    machine = results.get("machine_info", {})
    out.append(
        f"ratio = plait/peer throughput by process CPU time, medians of one run; "
        f"Python {machine.get('python_version', '?')} on {machine.get('cpu', {}).get('count', '?')}"
        f" CPU(s){'; --quick: figures are NOT meaningful' if quick else ''}")
    for group in groups:
        out.append(f"  {group}: {GROUPS.get(group, ('',))[0]}")
    out += [f"  ! {n}" for n in notes]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        for group, (what, targets) in GROUPS.items():
            tgt = ", ".join(t.label or (f">={t.minimum:g}x vs {t.peer}" if t.minimum else
                                        f"vs {t.peer}") for t in targets)
            print(f"{group:20} {what}  [{tgt}]")
        return 0
    with tempfile.TemporaryDirectory(prefix="plait-bench-") as tmp:
        json_path = Path(args.json) if args.json else Path(tmp) / "bench.json"
        report_path = Path(tmp) / "outcomes.json"
        env = dict(os.environ, PLAIT_BENCH_REPORT=str(report_path))
        if args.quick:
            env["PLAIT_BENCH_QUICK"] = "1"
        else:
            env.pop("PLAIT_BENCH_QUICK", None)
        cmd = pytest_command(args, json_path)
        print("running:", " ".join(cmd[2:]), flush=True)
        if args.verbose:
            proc = subprocess.run(cmd, check=False, cwd=ROOT, env=env)
        else:
            proc = subprocess.run(cmd, check=False, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            # pytest's short summary (failures, errors, skips), not its wide tables
            lines = proc.stdout.splitlines()
            keep = False
            for text in lines:
                if "short test summary info" in text:
                    keep = True
                if keep or text.startswith(("ERROR ", "FAILED ")):
                    print(text)
        if proc.returncode not in (0, 1):
            print(f"pytest exited with status {proc.returncode}", file=sys.stderr)
            if not args.verbose and proc.stdout:
                print("\n".join(proc.stdout.splitlines()[-40:]), file=sys.stderr)
        try:
            results = json.loads(json_path.read_text())
        except (OSError, ValueError):
            results = {}
        try:
            outcomes = json.loads(report_path.read_text())
        except (OSError, ValueError):
            outcomes = {}
        if not results and not outcomes:
            print("no benchmark results", file=sys.stderr)
            return 0
        print()
        print(table(results, outcomes, args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
