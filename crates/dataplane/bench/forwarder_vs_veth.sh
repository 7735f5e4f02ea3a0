#!/usr/bin/env bash
# TCP throughput: a direct veth pair vs the lagd forwarder (TAP <-> one unshaped veth member),
# iperf3 -P 1 and -P 8, ROUNDS interleaved rounds (default 3) of DUR seconds (default 10),
# medians and the ratio, printed as a markdown table. Needs root. Addresses from 198.18.0.0/15.
set -euo pipefail
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
WS=$(cd "$HERE/../../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WS/target-dp}

command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y iperf3 >/dev/null
command -v python3 >/dev/null || { echo "python3 needed to read iperf3 JSON" >&2; exit 1; }
(cd "$WS" && cargo build --quiet --release -p lagd-dataplane --example fwd)
FWD=$CARGO_TARGET_DIR/release/examples/fwd

S=$$
D1=lbd1-$S D2=lbd2-$S F1=lbf1-$S F2=lbf2-$S
TAP=lbtap$S
FWD_PID=
cleanup() {
    [ -n "$FWD_PID" ] && kill "$FWD_PID" 2>/dev/null && wait "$FWD_PID" 2>/dev/null || true
    for ns in $D1 $D2 $F1 $F2; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap cleanup EXIT

for ns in $D1 $D2 $F1 $F2; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
# Direct path.
ip link add vd1$S netns $D1 type veth peer name vd2$S netns $D2
ip -n $D1 addr add 198.18.10.1/24 dev vd1$S; ip -n $D1 link set vd1$S up
ip -n $D2 addr add 198.18.10.2/24 dev vd2$S; ip -n $D2 link set vd2$S up
# Forwarder path: TAP in F1 <-> member vf1 <-> vf2 in F2.
ip link add vf1$S netns $F1 type veth peer name vf2$S netns $F2
ip -n $F2 addr add 198.18.11.2/24 dev vf2$S; ip -n $F2 link set vf2$S up
ip netns exec $F1 "$FWD" --tap $TAP --mac 02:00:5e:00:0b:01 --mtu 1500 --member vf1$S 2>/dev/null &
FWD_PID=$!
for _ in $(seq 50); do ip -n $F1 link show $TAP >/dev/null 2>&1 && break; sleep 0.1; done
ip -n $F1 addr add 198.18.11.1/24 dev $TAP
ip netns exec $D2 iperf3 -s -D -B 198.18.10.2 >/dev/null
ip netns exec $F2 iperf3 -s -D -B 198.18.11.2 >/dev/null
sleep 1
ip netns exec $F1 ping -c 2 -W 2 198.18.11.2 >/dev/null
ip netns exec $D1 ping -c 2 -W 2 198.18.10.2 >/dev/null

gbps() { python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'; }
ticks() { awk '{print $14+$15}' /proc/$FWD_PID/stat; }
HZ=$(getconf CLK_TCK)
declare -A R
for r in $(seq "$ROUNDS"); do
    for p in 1 8; do
        R[direct,$p]+="$(ip netns exec $D1 iperf3 -c 198.18.10.2 -t "$DUR" -P $p -J | gbps) "
        t0=$(ticks)
        R[fwd,$p]+="$(ip netns exec $F1 iperf3 -c 198.18.11.2 -t "$DUR" -P $p -J | gbps) "
        t1=$(ticks)
        R[cpu,$p]+="$(python3 -c "print('%.2f' % (($t1-$t0)/$HZ/$DUR))") "
        echo "round $r -P $p: direct ${R[direct,$p]##* } fwd ... (so far: direct ${R[direct,$p]}| fwd ${R[fwd,$p]}| fwd cores ${R[cpu,$p]})" >&2
    done
done

median() { python3 -c 'import statistics,sys; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' $1; }
echo
echo "| path | -P 1 (Gbit/s) | -P 8 (Gbit/s) |"
echo "|---|---|---|"
for path in direct fwd; do
    echo "| $path (rounds: ${R[$path,1]}/ ${R[$path,8]}) | $(median "${R[$path,1]}") | $(median "${R[$path,8]}") |"
done
r1=$(python3 -c "print('%.2f' % ($(median "${R[fwd,1]}")/$(median "${R[direct,1]}")))")
r8=$(python3 -c "print('%.2f' % ($(median "${R[fwd,8]}")/$(median "${R[direct,8]}")))")
echo "| ratio fwd/direct | $r1 | $r8 |"
echo "| forwarder CPU (cores, median) | $(median "${R[cpu,1]}") | $(median "${R[cpu,8]}") |"
