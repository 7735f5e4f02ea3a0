#!/usr/bin/env bash
# Failover and healing with two members between hosts A and B (veth, unshaped), each round from
# a fresh start, for lagd (LACP active, short timer) and for an Open vSwitch userspace bond
# (balance-tcp, lacp=active, lacp-time=fast) in lagd's place:
#
# - time to forward: from the moment both ends are started (lagd: both daemons launched; OVS:
#   both bonds added to running switches) to the first datagram of a 1 000 pps UDP stream A -> B
#   that the sender started beforehand;
# - carrier-loss gap: the longest silence in a 1 000 pps UDP stream A -> B when B's end of the
#   link carrying the stream is set down (A's end loses carrier);
# - silent failure: B's egress on the link carrying a B -> A stream is redirected (tc clsact +
#   mirred; u32 where matchall is missing) to a device that is down, carrier stays up; the stream's gap is reported, then the
#   filter is removed and the heal time is the time until both ends show both members
#   forwarding again (polled every ~20 ms).
#
#   bench/lag_failover.sh          (ROUNDS=3 IMPLS="lagd ovs" AS_UNIT=0; needs root, python3)
#
# AS_UNIT=1: lagd runs as the shipped unit runs it (bench/as_unit.py: dist/lagd.service's
# capabilities and system call filters).
#
# A failure's gap is the silence of the stream that spans the moment the failure was made (the
# stream tools run SCHED_FIFO so that their own scheduling on a loaded machine adds little);
# "noise" is the longest gap of the same stream anywhere else: what this machine alone does to a
# 1 000 pps stream.
source "$(dirname "$0")/lib.sh"
build_lagd
AS_UNIT=${AS_UNIT:-0}
if [ "$AS_UNIT" = 1 ]; then
    /usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y python3-seccomp >/dev/null
    LAGD_WRAP=(/usr/bin/python3 "$BENCH/as_unit.py" --scratch "$SCRATCH" --)
fi

mkns A a; mkns B b
veth "$A" "$P-a1" "$B" "$P-b1"
veth "$A" "$P-a2" "$B" "$P-b2"
LINKS_A="$P-a1 $P-a2" LINKS_B="$P-b1 $P-b2"
ip -n "$B" link add "$P-dn" type veth peer name "$P-dn2" # stays down: the silent failure's sink

: >"$SCRATCH/a.toml"; : >"$SCRATCH/b.toml"
lagd_conf "$SCRATCH/a.toml" "$P-lag" "$LINKS_A" 'mac = "02:00:5e:00:28:01"'
lagd_conf "$SCRATCH/b.toml" "$P-lag" "$LINKS_B" 'mac = "02:00:5e:00:28:02"'
# lagdoff: the same with the kernel fast path (offload = true) on both sides.
: >"$SCRATCH/aoff.toml"; : >"$SCRATCH/boff.toml"
lagd_conf "$SCRATCH/aoff.toml" "$P-lag" "$LINKS_A" 'mac = "02:00:5e:00:28:01"
offload = true'
lagd_conf "$SCRATCH/boff.toml" "$P-lag" "$LINKS_B" 'mac = "02:00:5e:00:28:02"
offload = true'

# ---- per-implementation start, stop, state -------------------------------------------------
up_lagd() { # up_lagd [SUFFIX]
    lagd_start LA_PID "$A" "$SCRATCH/a${1:-}.toml"
    lagd_start LB_PID "$B" "$SCRATCH/b${1:-}.toml"
    T0=$(now_ns)
    # Address the aggregates as soon as they exist.
    wait_until 30 ip -n "$A" link show "$P-lag" >/dev/null 2>&1
    ip -n "$A" addr add 198.18.40.1/24 dev "$P-lag"
    wait_until 30 ip -n "$B" link show "$P-lag" >/dev/null 2>&1
    ip -n "$B" addr add 198.18.40.2/24 dev "$P-lag"
}
down_lagd() {
    kill "$LA_PID" "$LB_PID"
    wait "$LA_PID" "$LB_PID" 2>/dev/null || true
}
fwd_lagd() {
    lagd_forwarding "$SCRATCH/a${1:-}.toml.sock" "$P-lag" 2 && lagd_forwarding "$SCRATCH/b${1:-}.toml.sock" "$P-lag" 2
}
up_lagdoff() { up_lagd off; }
down_lagdoff() { down_lagd; }
fwd_lagdoff() { fwd_lagd off; }
up_ovs() {
    ovs_start OVA "$A" 02:00:5e:00:2a:01
    ovs_start OVB "$B" 02:00:5e:00:2a:02
    ip -n "$A" addr add 198.18.40.1/24 dev br0; ip -n "$A" link set br0 up
    ip -n "$B" addr add 198.18.40.2/24 dev br0; ip -n "$B" link set br0 up
    "$@" # start the stream now that the sender's route exists
    ovs_bond "$OVA" "$A" "$LINKS_A"
    ovs_bond "$OVB" "$B" "$LINKS_B"
    T0=$(now_ns)
}
down_ovs() { ovs_stop "$OVA"; ovs_stop "$OVB"; }
fwd_ovs() { ovs_bond_forwarding "$OVA" 2 && ovs_bond_forwarding "$OVB" 2; }

declare -A R
round() { # round IMPL
    local impl=$1 link peer t1 t2
    # 1. Time to forward.
    if [ "$impl" != ovs ]; then
        stream "$A" 198.18.40.2 "$B" 8 "$SCRATCH/up.json"
        up_$impl
    else
        up_ovs stream "$A" 198.18.40.2 "$B" 12 "$SCRATCH/up.json"
    fi
    wait_until 60 fwd_$impl
    stream_wait
    R[$impl,up]+="$(ms "$(field "$SCRATCH/up.json" first_ns)" "$T0") "

    # 2. Carrier loss under a stream A -> B.
    stream "$A" 198.18.40.2 "$B" 6 "$SCRATCH/cl.json"
    sleep 1.5
    link=$(busiest "$A" "$LINKS_A" 0.5)
    peer=${link/$P-a/$P-b}
    t1=$(now_ns)
    ip -n "$B" link set "$peer" down
    t2=$(now_ns) # the cut is somewhere in [t1, t2]
    stream_wait
    R[$impl,carrier]+="$(gap_at "$SCRATCH/cl.json" "$t1" "$t2") "
    R[$impl,carrier_noise]+="$(noise "$SCRATCH/cl.json" "$t1" "$t2") "
    R[$impl,carrier_lost]+="$(field "$SCRATCH/cl.json" lost) "
    ip -n "$B" link set "$peer" up
    wait_until 60 fwd_$impl

    # 3. Silent failure under a stream B -> A, then heal.
    stream "$B" 198.18.40.1 "$A" 12 "$SCRATCH/sf.json"
    sleep 1.5
    link=$(busiest "$B" "$LINKS_B" 0.5)
    ip netns exec "$B" tc qdisc add dev "$link" clsact
    ip netns exec "$B" tc filter add dev "$link" egress matchall action mirred egress redirect dev "$P-dn" 2>/dev/null ||
        ip netns exec "$B" tc filter add dev "$link" egress u32 match u32 0 0 action mirred egress redirect dev "$P-dn"
    t1=$(now_ns) # after the filter is in place: the gap spans this moment
    stream_wait
    R[$impl,silent]+="$(gap_at "$SCRATCH/sf.json" "$t1") "
    R[$impl,silent_noise]+="$(noise "$SCRATCH/sf.json" "$t1") "
    # The member must be out of the aggregation before the filter goes.
    if fwd_$impl; then R[$impl,detected]+="no "; else R[$impl,detected]+="yes "; fi
    ip netns exec "$B" tc qdisc del dev "$link" clsact
    t1=$(now_ns)
    wait_until 90 fwd_$impl
    R[$impl,heal]+="$(ms "$(now_ns)" "$t1") "

    down_$impl
}

IMPL_LIST="lagd lagdoff"
have_ovs && IMPL_LIST+=" ovs"
loads=()
for r in $(seq "$ROUNDS"); do
    for impl in $IMPL_LIST; do
        round "$impl"
        log "round $r $impl: up ${R[$impl,up]}| carrier ${R[$impl,carrier]}| silent ${R[$impl,silent]}(member out: ${R[$impl,detected]})| heal ${R[$impl,heal]}ms (load $(load_now))"
    done
    loads+=("$(load_now)")
done

echo
echo "Failover, two members, UDP stream $PPS pps, $ROUNDS rounds, $(date -u +%FT%TZ)$([ "$AS_UNIT" = 1 ] && echo ", lagd run as the unit (bench/as_unit.py)"), load after each round: ${loads[*]}"
echo
echo "| measure (ms, median and rounds) | $(echo $IMPL_LIST | sed 's/ / | /g') |"
echo "|---|$(for _ in $IMPL_LIST; do printf -- '---|'; done)"
for m in up carrier carrier_noise carrier_lost silent silent_noise heal; do
    case $m in
    up) name="time to forward after both ends start" ;;
    carrier) name="carrier loss: gap at the cut" ;;
    carrier_noise) name="carrier loss run: longest other gap (noise)" ;;
    carrier_lost) name="carrier loss: datagrams lost (count)" ;;
    silent) name="silent failure: gap at the failure" ;;
    silent_noise) name="silent failure run: longest other gap (noise)" ;;
    heal) name="heal after the silent failure ends" ;;
    esac
    row="| $name"
    [ "$m" = heal ] && row+=" (member out before the filter went: ${R[lagd,detected]:-}/ ${R[lagdoff,detected]:-}/ ${R[ovs,detected]:-})"
    for impl in $IMPL_LIST; do
        # shellcheck disable=SC2086
        row+=" | $(median ${R[$impl,$m]}) (${R[$impl,$m]% })"
    done
    echo "$row |"
done
