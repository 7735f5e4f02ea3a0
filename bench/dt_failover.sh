#!/usr/bin/env bash
# Distributed Trunking failures under traffic: the figures of crates/lagd/tests/dt_failover.rs,
# ROUNDS times, as a table for BENCHMARKS.md.
#
#   bench/dt_failover.sh          (ROUNDS=3; needs root; builds the test with `cargo test`)
#
# The fabric (crates/lagd/tests/dt_fabric): two switches (lagd + Linux bridge) joined by a peer
# link and a keepalive veth, a server with a 4-link LACP aggregation (2 links to each switch,
# short timer), an upstream host with one link to each; DT timers tx 200 ms, peer timeout 1 s,
# keepalive 200 ms / 1 s. A 1 000 pps UDP stream goes from the server to the upstream host, and
# the switch carrying it:
#   kill:     its lagd is SIGKILLed and all its links set down;
#   back:     it is started again (pair re-forms, server gets its 4 links back);
#   freeze:   its lagd is SIGSTOPped with every link up (no carrier event anywhere);
#   resume:   SIGCONT;
#   peer link: the peer link is set down, the keepalive stays (split brain: the secondary takes
#             its links down).
# gap = the longest silence in the stream's arrivals (receiver clock), lost/duplicated counted by
# sequence number. Each round is a fresh fabric. A round whose test fails (e.g. a gap over the
# test's bound) still counts: its figures are printed before the assertion; the failures are
# listed under the table. The raw output stays in $RAW (default /tmp/dt_failover.PID.log).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}

bin=$(cargo test -p lagd --test dt_failover --no-run 2>&1 |
    sed -n 's/.*Executable tests\/dt_failover.rs (\(.*\))/\1/p' | tail -1)
[ -x "$bin" ] || { echo "test binary not found" >&2; exit 1; }
rev=$(git rev-parse --short HEAD)
out=${RAW:-/tmp/dt_failover.$$.log}
: >"$out"
loads=()
for r in $(seq "$ROUNDS"); do
    echo "==> round $r/$ROUNDS (raw output: $out)" >&2
    "$bin" --nocapture --test-threads=1 >>"$out" 2>&1 || echo "round $r: a test failed" >&2
    loads+=("$(cut -d' ' -f1-3 /proc/loadavg)")
done

python3 - "$out" "$ROUNDS" "$rev" "${loads[*]}" <<'EOF'
import re, statistics, sys, datetime
text, rounds, rev, loads = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3], sys.argv[4]
def ms(d):
    m = re.fullmatch(r"([0-9.]+)(s|ms|µs|ns)", d)
    v = float(m.group(1))
    return v * {"s": 1e3, "ms": 1.0, "µs": 1e-3, "ns": 1e-6}[m.group(2)]
rows = [("kill", r"switch (\S+) \S+ killed"), ("back after kill", r"switch back()"),
        ("freeze (SIGSTOP, links up)", r"switch (\S+) \S+ frozen"),
        ("resume (SIGCONT)", r"switch (\S+) \S+ resumed"), ("peer link down", r"split brain()")]
tail = r": sent (\d+), received (\d+), lost (\d+), duplicated (\d+), max gap (\S+)"
print(f"DT failover, 1000 pps UDP server -> upstream, {rounds} rounds, "
      f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%M:%SZ}, commit {rev}, "
      f"load after each round: {loads}\n")
print("| event | gap ms (median; rounds) | lost (rounds) | duplicated (rounds) | switch |")
print("|---|---|---|---|---|")
for name, pat in rows:
    hits = re.findall(pat + tail, text)
    if not hits:
        continue
    gaps = [ms(h[5]) for h in hits]
    print(f"| {name} | {statistics.median(gaps):.0f}; {' '.join(f'{g:.0f}' for g in gaps)} | "
          f"{' '.join(h[3] for h in hits)} | {' '.join(h[4] for h in hits)} | "
          f"{' '.join(h[0] or '-' for h in hits)} |")
for line in re.findall(r"gap started .*", text):
    print(f"\n    {line}", end="")
print()
fails = re.findall(r"panicked at ([^\n]*)\n([^\n]*)", text)
for where, what in fails:
    print(f"\ntest failed at {where} {what}", end="")
print()
EOF
