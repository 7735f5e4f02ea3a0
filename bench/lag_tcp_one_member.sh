#!/usr/bin/env bash
# TCP over one unthrottled member: two lagd (namespaces A and B, one veth member, LACP active,
# short timer) vs a direct veth pair, and the same with Open vSwitch's userspace datapath in
# lagd's place (a one-interface port with LACP; userspace TSO on), iperf3 -P 1 and -P 8, ROUNDS
# interleaved rounds of DUR seconds.
#
#   bench/lag_tcp_one_member.sh          (ROUNDS=3 DUR=10 IMPLS="lagd ovs"; needs root, iperf3)
#
# CPU s/GB: CPU seconds of iperf3 client + server + both daemons per GB moved.
source "$(dirname "$0")/lib.sh"
need iperf3 iperf3
build_lagd

mkns D1 d1; mkns D2 d2
veth "$D1" "$P-d1" "$D2" "$P-d2"
ip -n "$D1" addr add 198.18.20.1/24 dev "$P-d1"
ip -n "$D2" addr add 198.18.20.2/24 dev "$P-d2"
iperf_server "$D2" 198.18.20.2

PATHS="direct lagd"
mkns LA la; mkns LB lb
veth "$LA" "$P-la" "$LB" "$P-lb"
: >"$SCRATCH/a.toml"; : >"$SCRATCH/b.toml"
lagd_conf "$SCRATCH/a.toml" "$P-lag" "$P-la" 'mac = "02:00:5e:00:14:01"'
lagd_conf "$SCRATCH/b.toml" "$P-lag" "$P-lb" 'mac = "02:00:5e:00:14:02"'
lagd_start LA_PID "$LA" "$SCRATCH/a.toml"
lagd_start LB_PID "$LB" "$SCRATCH/b.toml"
wait_until 60 lagd_forwarding "$SCRATCH/a.toml.sock" "$P-lag" 1
wait_until 60 lagd_forwarding "$SCRATCH/b.toml.sock" "$P-lag" 1
ip -n "$LA" addr add 198.18.21.1/24 dev "$P-lag"
ip -n "$LB" addr add 198.18.21.2/24 dev "$P-lag"
iperf_server "$LB" 198.18.21.2

# lagd1: one lagd (static trunk, no LACP) on A; B is a plain veth end, as the C forwarder of
# machine-baselines.md: data passes one forwarder (A's TX thread; A's RX thread for the ACKs).
# The -offload paths are the same with `offload = true` (the kernel fast path; two lagd: on both).
one_lagd() { # one_lagd TAG NET EXTRA
    local ns_a ns_b
    mkns ns_a "$1a"; mkns ns_b "$1b"
    veth "$ns_a" "$P-$1a" "$ns_b" "$P-$1b"
    printf '[[aggregation]]\nname = "%s"\nlinks = ["%s"]\nmode = "static"\nmac = "02:00:5e:00:15:01"\n%s\n' \
        "$P-lag" "$P-$1a" "$3" >"$SCRATCH/$1.toml"
    lagd_start "${1^^}_PID" "$ns_a" "$SCRATCH/$1.toml"
    wait_until 60 lagd_forwarding "$SCRATCH/$1.toml.sock" "$P-lag" 1
    ip -n "$ns_a" addr add "198.18.$2.1/24" dev "$P-lag"
    ip -n "$ns_b" addr add "198.18.$2.2/24" dev "$P-$1b"
    iperf_server "$ns_b" "198.18.$2.2"
    ip netns exec "$ns_a" ping -c 2 -W 2 "198.18.$2.2" >/dev/null
    eval "${1^^}_NS=$ns_a"
}
PATHS+=" lagd1 lagd1-offload"
one_lagd s1 23 ""
one_lagd s2 24 "offload = true"

# lagd-offload: two lagd as above, both with the kernel fast path.
PATHS+=" lagd-offload"
mkns KA ka; mkns KB kb
veth "$KA" "$P-ka" "$KB" "$P-kb"
: >"$SCRATCH/ka.toml"; : >"$SCRATCH/kb.toml"
lagd_conf "$SCRATCH/ka.toml" "$P-lag" "$P-ka" 'mac = "02:00:5e:00:17:01"
offload = true'
lagd_conf "$SCRATCH/kb.toml" "$P-lag" "$P-kb" 'mac = "02:00:5e:00:17:02"
offload = true'
lagd_start KA_PID "$KA" "$SCRATCH/ka.toml"
lagd_start KB_PID "$KB" "$SCRATCH/kb.toml"
wait_until 60 lagd_forwarding "$SCRATCH/ka.toml.sock" "$P-lag" 1
wait_until 60 lagd_forwarding "$SCRATCH/kb.toml.sock" "$P-lag" 1
ip -n "$KA" addr add 198.18.25.1/24 dev "$P-lag"
ip -n "$KB" addr add 198.18.25.2/24 dev "$P-lag"
iperf_server "$KB" 198.18.25.2

if have_ovs; then
    PATHS+=" ovs"
    mkns OA oa; mkns OB ob
    veth "$OA" "$P-oa" "$OB" "$P-ob"
    ovs_start OVA "$OA" 02:00:5e:00:16:01
    ovs_start OVB "$OB" 02:00:5e:00:16:02
    for s in "A $OA $OVA $P-oa 1" "B $OB $OVB $P-ob 2"; do
        set -- $s
        ovs_prep_member "$2" "$4"
        ovs_vsctl "$3" add-port br0 "$4" -- set port "$4" lacp=active other_config:lacp-time=fast
        ip -n "$2" addr add "198.18.22.$5/24" dev br0
        ip -n "$2" link set br0 up
    done
    wait_until 60 bash -c "OVS_RUNDIR=$OVA ovs-appctl -t $OVA/ovs-vswitchd.ctl lacp/show | grep -q 'status: active negotiated'"
    iperf_server "$OB" 198.18.22.2
    OV_PIDS="$(cat "$OVA/ovs-vswitchd.pid") $(cat "$OVB/ovs-vswitchd.pid")"
fi
sleep 1
ip netns exec "$D1" ping -c 2 -W 2 198.18.20.2 >/dev/null
ip netns exec "$LA" ping -c 2 -W 2 198.18.21.2 >/dev/null
ip netns exec "$KA" ping -c 2 -W 2 198.18.25.2 >/dev/null
have_ovs && ip netns exec "$OA" ping -c 2 -W 5 198.18.22.2 >/dev/null


declare -A G C
loads=()
for r in $(seq "$ROUNDS"); do
    for p in 1 8; do
        for path in $PATHS; do
            case $path in
            direct) out=$(iperf_cpu "$D1" 198.18.20.2 $p "") ;;
            lagd) out=$(iperf_cpu "$LA" 198.18.21.2 $p "$LA_PID $LB_PID") ;;
            lagd1) out=$(iperf_cpu "$S1_NS" 198.18.23.2 $p "$S1_PID") ;;
            lagd1-offload) out=$(iperf_cpu "$S2_NS" 198.18.24.2 $p "$S2_PID") ;;
            lagd-offload) out=$(iperf_cpu "$KA" 198.18.25.2 $p "$KA_PID $KB_PID") ;;
            ovs) out=$(iperf_cpu "$OA" 198.18.22.2 $p "$OV_PIDS") ;;
            esac
            G[$path,$p]+="${out%% *} "
            C[$path,$p]+="${out##* } "
        done
        log "round $r -P $p: $(for x in $PATHS; do printf '%s %s| ' $x "${G[$x,$p]}"; done)(load $(load_now))"
    done
    loads+=("$(load_now)")
done

echo
echo "TCP over one unthrottled member, $ROUNDS interleaved rounds of ${DUR} s, $(date -u +%FT%TZ), load after each round: ${loads[*]}"
echo
tcp_table "$PATHS"
