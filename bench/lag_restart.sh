#!/usr/bin/env bash
# Restarts under traffic (issue 10 item 5): two lagd over two veth links, LACP short timers, a
# 2 000 pps UDP stream A -> B; lagd A is restarted 2 s into the 6 s stream, either by a crash
# (SIGKILL, then started again at once, as systemd's Restart=on-failure does) or planned
# (SIGUSR2: `lagctl restart-daemon`), with the default configuration (offload = auto: the kernel
# fast path, pinned so that it outlives lagd) and with offload = "off"; and, as the baseline, the
# same stream with no restart. Each round is one run of the namespace test
# crates/lagd/tests/ns_restart.rs (release build; every case once, in the same order, so the
# cases are interleaved), which also checks that A's aggregate keeps its address, that B's
# members stay Collecting and Distributing in every 100 ms sample, that a planned restart loses
# nothing and that nothing stays pinned after SIGTERM; its RESTART-FIGURE lines are collected.
#
#   bench/lag_restart.sh            (ROUNDS=5; needs root)
#
# longest gap: the longest silence of the stream at B (including any silence at its end);
# missing: datagrams that never arrived within that gap (0: the gap is a pause of the sender,
# not of the data path); sender pause: the sender's own longest time between two sends (a busy
# machine stalls it); restart: from the SIGKILL (or SIGUSR2) until the restarted lagd answers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
OUT=$(mktemp /tmp/lag_restart.XXXXXX)
trap 'rm -f "$OUT"' EXIT
cargo build --release -q -p lagd --bin lagd
for _ in $(seq "$ROUNDS"); do
    LAGD_RESTART_BASELINE=1 cargo test --release -q -p lagd --test ns_restart -- --nocapture --test-threads 1 2>/dev/null |
        grep -o 'RESTART-FIGURE.*' >>"$OUT" || true
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    rows[(kv["how"], kv["offload"])].append(kv)
print("| restart | offload | rounds | longest gap, median (max) | missing in it, median (max) | sender pause, median (max) | lost, total (of sent) | restart, median | partner samples not C/D |")
print("|---|---|---|---|---|---|---|---|---|")
med = lambda v: statistics.median(v) if v else 0
for how in ("none", "planned", "crash"):
    for off in ("auto", "off"):
        r = rows.get((how, off), [])
        if not r:
            continue
        g = [float(x["longest_gap_ms"]) for x in r]
        miss = [int(x["gap_missing"]) for x in r]
        sg = [float(x["sender_gap_ms"]) for x in r]
        lost = sum(int(x["lost"]) for x in r)
        sent = sum(int(x["sent"]) for x in r)
        rs = [float(x["restart_ms"]) for x in r]
        bad = sum(int(x["partner_not_cd"]) for x in r)
        smp = sum(int(x["partner_samples"]) for x in r)
        restart = "-" if how == "none" else f"{med(rs):.0f} ms"
        print(f"| {how} | {off} | {len(r)} | {med(g):.1f} ms ({max(g):.1f}) | {med(miss):.0f} ({max(miss)}) | {med(sg):.1f} ms ({max(sg):.1f}) | {lost} ({sent}) | {restart} | {bad} of {smp} |")
PY
