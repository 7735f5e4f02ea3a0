#!/usr/bin/env bash
# Switch-independent load balancing (issue 16): a host whose four members, each shaped to
# 1 Gbit/s (tc tbf on both ends), plug into a Linux bridge (the unconfigured switch), and 8
# peers on the bridge's other ports (unshaped). lagd runs mode adaptive-lb (offload = auto: the
# kernel fast path carries it). Measured in the same interleaved rounds:
#   - receive: 8 peers each send TCP to the host (iperf3 -c from every peer at once), summed;
#   - transmit: the host sends TCP to every peer at once, summed;
#   - reference: the same 8 peers and one host on one shaped member (plain veth on the bridge).
# The figure to compare is lagd against 4 x one link, both directions.
#
#   bench/alb_shaped.sh          (ROUNDS=3 DUR=10; needs root, iperf3)
source "$(dirname "$0")/lib.sh"
need iperf3 iperf3
build_lagd
OMIT=${OMIT:-2}
PEERS=8

mkns SW sw
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up
plug() { ip -n "$SW" link set "$1" master br0 up; }

# The peers.
PEER_NS=()
for i in $(seq 0 $((PEERS - 1))); do
    mkns PN "p$i"
    veth "$PN" "$P-p$i" "$SW" "$P-q$i"
    plug "$P-q$i"
    ip -n "$PN" addr add "198.18.40.$((10 + i))/24" dev "$P-p$i"
    PEER_NS+=("$PN")
done

# The reference host: one shaped member.
mkns R r
veth "$R" "$P-r" "$SW" "$P-rs"
plug "$P-rs"
shape "$R" "$P-r"; shape "$SW" "$P-rs"
ip -n "$R" addr add 198.18.40.2/24 dev "$P-r"

# The lagd host: four shaped members, adaptive-lb.
mkns H h
LINKS=""
for i in 1 2 3 4; do
    veth "$H" "$P-m$i" "$SW" "$P-s$i"
    plug "$P-s$i"
    shape "$H" "$P-m$i"; shape "$SW" "$P-s$i"
    LINKS+="\"$P-m$i\", "
done
printf '[[aggregation]]\nname = "%s"\nlinks = [%s]\nmode = "adaptive-lb"\n' "$P-lag" "${LINKS%, }" \
    >"$SCRATCH/h.toml"
lagd_start H_PID "$H" "$SCRATCH/h.toml"
# Up with four members forwarding (lagctl's member state "active" without LACP).
alb_forwarding() {
    "$LAGCTL" show-aggr --socket "$SCRATCH/h.toml.sock" --json "$P-lag" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(1)
# lagd/show-aggr/1 (docs/JSON.md); a list from lagctl before the schema member.
a = d["aggregations"][0] if isinstance(d, dict) and d.get("aggregations") else (d[0] if isinstance(d, list) and d else {})
ms = a.get("members", [])
sys.exit(0 if a.get("up") and len(ms) == 4 and all(m.get("state") in ("attached", "active") for m in ms) else 1)'
}
wait_until 60 alb_forwarding
ip -n "$H" addr add 198.18.40.1/24 dev "$P-lag"

for ns in "${PEER_NS[@]}"; do
    ip netns exec "$ns" ping -c 2 -W 2 198.18.40.1 >/dev/null
    ip netns exec "$ns" ping -c 2 -W 2 198.18.40.2 >/dev/null
done
# One iperf3 server per peer on the hosts (receive), and one on every peer (transmit).
for i in $(seq 0 $((PEERS - 1))); do
    ip netns exec "$H" iperf3 -s -D -B 198.18.40.1 -p $((5301 + i)) >/dev/null
    ip netns exec "$R" iperf3 -s -D -B 198.18.40.2 -p $((5301 + i)) >/dev/null
    ip netns exec "${PEER_NS[$i]}" iperf3 -s -D -B "198.18.40.$((10 + i))" -p 5301 >/dev/null
done
# The announcements' re-telling settles (2 s) before the first round.
sleep 4

# many DIR HOSTNS HOSTADDR: summed goodput (Gbit/s) of 8 simultaneous TCP flows between the
# host and every peer; DIR rx = peers send, tx = the host sends.
many() {
    local dir=$1 hns=$2 haddr=$3 i files=()
    for i in $(seq 0 $((PEERS - 1))); do
        local f="$SCRATCH/$dir-$i.json"
        files+=("$f")
        if [ "$dir" = rx ]; then
            ip netns exec "${PEER_NS[$i]}" iperf3 -c "$haddr" -p $((5301 + i)) -t "$DUR" -O "$OMIT" -J >"$f" 2>/dev/null &
        else
            ip netns exec "$hns" iperf3 -c "198.18.40.$((10 + i))" -p 5301 -t "$DUR" -O "$OMIT" -J >"$f" 2>/dev/null &
        fi
    done
    wait
    python3 -c '
import json, sys
t = 0.0
for f in sys.argv[1:]:
    try:
        t += json.load(open(f))["end"]["sum_received"]["bits_per_second"] / 1e9
    except Exception:
        print("nan"); sys.exit()
print("%.3f" % t)' "${files[@]}"
}

# Each member's share of received bytes during the last lagd rx run.
rx_bytes() { for i in 1 2 3 4; do ip -n "$H" -j -s link show dev "$P-m$i" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])'; done; }

declare -A G
loads=()
shares=""
for r in $(seq "$ROUNDS"); do
    G[one-rx]+="$(many rx "$R" 198.18.40.2) "
    before=$(rx_bytes)
    G[lagd-rx]+="$(many rx "$H" 198.18.40.1) "
    after=$(rx_bytes)
    shares=$(python3 -c '
import sys
b = [int(x) for x in sys.argv[1].split()]; a = [int(x) for x in sys.argv[2].split()]
d = [y - x for x, y in zip(b, a)]; t = sum(d) or 1
print(" ".join("%.0f%%" % (100 * x / t) for x in d))' "$before" "$after")
    G[one-tx]+="$(many tx "$R" 198.18.40.2) "
    G[lagd-tx]+="$(many tx "$H" 198.18.40.1) "
    loads+=("$(load_now)")
    log "round $r: one-rx ${G[one-rx]}| lagd-rx ${G[lagd-rx]}| one-tx ${G[one-tx]}| lagd-tx ${G[lagd-tx]}| member rx shares $shares (load $(load_now))"
done

# shellcheck disable=SC2086
one_rx=$(median ${G[one-rx]}); one_tx=$(median ${G[one-tx]})
# shellcheck disable=SC2086
lagd_rx=$(median ${G[lagd-rx]}); lagd_tx=$(median ${G[lagd-tx]})
four_rx=$(python3 -c "print('%.2f' % (4 * $one_rx))" 2>/dev/null || echo n/a)
four_tx=$(python3 -c "print('%.2f' % (4 * $one_tx))" 2>/dev/null || echo n/a)
echo
echo "adaptive-lb, 4 members shaped to 1 Gbit/s on a Linux bridge, $PEERS peers x 1 TCP flow each way, $ROUNDS interleaved rounds of ${DUR} s (first ${OMIT} s omitted), $(date -u +%FT%TZ), load after each round: ${loads[*]}"
echo
echo "| direction | one link, Gbit/s (rounds) | lagd adaptive-lb, Gbit/s (rounds) | ratio to 4 x one link |"
echo "|---|---|---|---|"
echo "| receive (peers -> host) | $one_rx (${G[one-rx]% }) | $lagd_rx (${G[lagd-rx]% }) | $(ratio "$lagd_rx" "$four_rx") |"
echo "| transmit (host -> peers) | $one_tx (${G[one-tx]% }) | $lagd_tx (${G[lagd-tx]% }) | $(ratio "$lagd_tx" "$four_tx") |"
echo
echo "Member shares of the bytes received in the last lagd receive run: $shares"
