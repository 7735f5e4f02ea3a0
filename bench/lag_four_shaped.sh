#!/usr/bin/env bash
# Four members shaped to 1 Gbit/s each (tc tbf on both ends of every veth), 16 TCP flows
# (iperf3 -P 16) through two lagd (LACP, policy L3,L4), with rebalancing on (every 1 s) and off,
# against 4 x the goodput of one identically shaped veth carrying 4 flows, measured in the same
# interleaved rounds; and the same testbed with an Open vSwitch userspace balance-tcp bond
# (bond-rebalance-interval 1 s, userspace TSO on). lagd-offload-*: the same two lagd with the kernel
# fast path (offload = true, switched live with SIGHUP); the members' tbf shapes it all the same.
#
#   bench/lag_four_shaped.sh          (ROUNDS=3 DUR=10 IMPLS="lagd ovs"; needs root, iperf3)
#
# The first OMIT seconds (default 2) of each run are left out (iperf3 -O), so that the figure
# is the steady state. Goal: lagd >= 0.95 of 4 x one link.
source "$(dirname "$0")/lib.sh"
need iperf3 iperf3
build_lagd
OMIT=${OMIT:-2}

# Reference: one shaped link.
mkns S1 s1; mkns S2 s2
veth "$S1" "$P-s1" "$S2" "$P-s2"
shape "$S1" "$P-s1"; shape "$S2" "$P-s2"
ip -n "$S1" addr add 198.18.30.1/24 dev "$P-s1"
ip -n "$S2" addr add 198.18.30.2/24 dev "$P-s2"
iperf_server "$S2" 198.18.30.2

# lagd over four shaped links.
mkns LA la; mkns LB lb
LINKS_A="" LINKS_B=""
for i in 1 2 3 4; do
    veth "$LA" "$P-a$i" "$LB" "$P-b$i"
    shape "$LA" "$P-a$i"; shape "$LB" "$P-b$i"
    LINKS_A+="$P-a$i " LINKS_B+="$P-b$i "
done
conf() { # conf SIDE REBALANCE [OFFLOAD]
    : >"$SCRATCH/$1.toml"
    lagd_conf "$SCRATCH/$1.toml" "$P-lag" "$([ "$1" = a ] && echo "$LINKS_A" || echo "$LINKS_B")" \
        "mac = \"02:00:5e:00:1e:0$([ "$1" = a ] && echo 1 || echo 2)\"
rebalance_interval = \"$2\"
offload = ${3:-false}"
}
conf a 1s; conf b 1s
lagd_start LA_PID "$LA" "$SCRATCH/a.toml"
lagd_start LB_PID "$LB" "$SCRATCH/b.toml"
wait_until 60 lagd_forwarding "$SCRATCH/a.toml.sock" "$P-lag" 4
wait_until 60 lagd_forwarding "$SCRATCH/b.toml.sock" "$P-lag" 4
ip -n "$LA" addr add 198.18.31.1/24 dev "$P-lag"
ip -n "$LB" addr add 198.18.31.2/24 dev "$P-lag"
iperf_server "$LB" 198.18.31.2
REBAL="1s false"
set_rebalance() { # set_rebalance INTERVAL [OFFLOAD]: both sides, live (SIGHUP)
    [ "$REBAL" = "$1 ${2:-false}" ] && return
    conf a "$1" "${2:-false}"; conf b "$1" "${2:-false}"
    kill -HUP "$LA_PID" "$LB_PID"
    REBAL="$1 ${2:-false}"
    sleep 1
    wait_until 30 lagd_forwarding "$SCRATCH/a.toml.sock" "$P-lag" 4
}

PATHS="one-link lagd-rebalance lagd-no-rebalance lagd-offload-rebalance lagd-offload-no-rebalance"
if have_ovs; then
    PATHS+=" ovs-bond"
    mkns OA oa; mkns OB ob
    OL_A="" OL_B=""
    for i in 1 2 3 4; do
        veth "$OA" "$P-oa$i" "$OB" "$P-ob$i"
        OL_A+="$P-oa$i " OL_B+="$P-ob$i "
    done
    ovs_start OVA "$OA" 02:00:5e:00:20:01
    ovs_start OVB "$OB" 02:00:5e:00:20:02
    ovs_bond "$OVA" "$OA" "$OL_A"
    ovs_bond "$OVB" "$OB" "$OL_B"
    for d in "$OVA" "$OVB"; do ovs_vsctl "$d" set port bond0 other_config:bond-rebalance-interval=1000; done
    # OVS replaces a port's root qdisc when it adds the port: shape afterwards.
    sleep 1
    for i in 1 2 3 4; do shape "$OA" "$P-oa$i"; shape "$OB" "$P-ob$i"; done
    ip -n "$OA" addr add 198.18.32.1/24 dev br0; ip -n "$OA" link set br0 up
    ip -n "$OB" addr add 198.18.32.2/24 dev br0; ip -n "$OB" link set br0 up
    wait_until 60 ovs_bond_forwarding "$OVA" 4
    iperf_server "$OB" 198.18.32.2
fi
sleep 1
# Every member must still be shaped.
for l in "$S1 $P-s1" "$S2 $P-s2" $(for i in 1 2 3 4; do echo "$LA,$P-a$i $LB,$P-b$i"; done) \
    $(have_ovs && for i in 1 2 3 4; do echo "$OA,$P-oa$i $OB,$P-ob$i"; done); do
    l=${l/,/ }
    # shellcheck disable=SC2086
    set -- $l
    [ $# -eq 2 ] || continue
    ip netns exec "$1" tc qdisc show dev "$2" | grep -q '^qdisc tbf' || { log "$2 is not shaped"; exit 1; }
done
ip netns exec "$S1" ping -c 2 -W 2 198.18.30.2 >/dev/null
ip netns exec "$LA" ping -c 2 -W 2 198.18.31.2 >/dev/null
have_ovs && ip netns exec "$OA" ping -c 2 -W 5 198.18.32.2 >/dev/null

declare -A G
loads=()
for r in $(seq "$ROUNDS"); do
    for path in $PATHS; do
        case $path in
        one-link) g=$(iperf "$S1" 198.18.30.2 -P 4 -O "$OMIT") ;;
        lagd-rebalance) set_rebalance 1s; g=$(iperf "$LA" 198.18.31.2 -P 16 -O "$OMIT") ;;
        lagd-no-rebalance) set_rebalance off; g=$(iperf "$LA" 198.18.31.2 -P 16 -O "$OMIT") ;;
        lagd-offload-rebalance) set_rebalance 1s true; g=$(iperf "$LA" 198.18.31.2 -P 16 -O "$OMIT") ;;
        lagd-offload-no-rebalance) set_rebalance off true; g=$(iperf "$LA" 198.18.31.2 -P 16 -O "$OMIT") ;;
        ovs-bond) g=$(iperf "$OA" 198.18.32.2 -P 16 -O "$OMIT") ;;
        esac
        G[$path]+="$g "
    done
    loads+=("$(load_now)")
    log "round $r: $(for x in $PATHS; do printf '%s %s| ' $x "${G[$x]}"; done)(load $(load_now))"
done

# shellcheck disable=SC2086
one=$(median ${G[one-link]})
four=$(python3 -c "print('%.3f' % (4 * $one))" 2>/dev/null || echo n/a)
echo
echo "Four members shaped to 1 Gbit/s, 16 TCP flows, $ROUNDS interleaved rounds of ${DUR} s (first ${OMIT} s omitted), $(date -u +%FT%TZ), load after each round: ${loads[*]}"
echo
echo "| path | Gbit/s median (rounds) | ratio to 4 x one link |"
echo "|---|---|---|"
for path in $PATHS; do
    # shellcheck disable=SC2086
    g=$(median ${G[$path]})
    if [ "$path" = one-link ]; then
        echo "| one shaped link, 4 flows | $g (${G[$path]% }) | 4 x = $four |"
    else
        echo "| $path, 16 flows | $g (${G[$path]% }) | $(ratio "$g" "$four") |"
    fi
done
