#!/usr/bin/env bash
# TCP through a bare forwarder (TAP <-> one unshaped veth member) vs a direct veth pair, with the
# minimal C reference forwarder (bench/minfwd.c: one thread per direction, blocking, one frame
# per read/send, vnet headers) measured in the same interleaved rounds.
#
#   bench/forwarder_vs_veth.sh            (ROUNDS=3 DUR=10 by default; needs root, gcc, iperf3)
#
# Prints, per path, the median goodput for iperf3 -P 1 and -P 8, the ratio to the direct veth,
# and the CPU cost of the path (CPU seconds per GB moved: iperf3 client + server + forwarder),
# which does not depend on how loaded the machine is the way goodput does.
source "$(dirname "$0")/lib.sh"

need iperf3 iperf3
need gcc gcc
(cd "$WS" && cargo build --quiet --release -p lagd-dataplane --example fwd)
FWD=$CARGO_TARGET_DIR/release/examples/fwd
MINFWD=$SCRATCH/minfwd
gcc -O2 -pthread -o "$MINFWD" "$BENCH/minfwd.c"

mkns D1 d1; mkns D2 d2; mkns F1 f1; mkns F2 f2; mkns M1 m1; mkns M2 m2
# Direct path.
veth "$D1" "$P-d1" "$D2" "$P-d2"
ip -n "$D1" addr add 198.18.10.1/24 dev "$P-d1"
ip -n "$D2" addr add 198.18.10.2/24 dev "$P-d2"
# lagd's forwarder (examples/fwd.rs: the Forwarder with a trivial protocol).
veth "$F1" "$P-f1" "$F2" "$P-f2"
ip -n "$F2" addr add 198.18.11.2/24 dev "$P-f2"
bg FWD_PID ip netns exec "$F1" "$FWD" --tap "$P-ft" --mac 02:00:5e:00:0b:01 --mtu 1500 --member "$P-f1" 2>/dev/null
# Minimal C forwarder; the member gets what lagd's take-over does (no ARP, no IPv6).
veth "$M1" "$P-m1" "$M2" "$P-m2"
ip -n "$M2" addr add 198.18.12.2/24 dev "$P-m2"
ip netns exec "$M1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip -n "$M1" link set "$P-m1" arp off
bg MIN_PID ip netns exec "$M1" "$MINFWD" "$P-mt" "$P-m1"
wait_until 10 ip -n "$F1" link show "$P-ft" >/dev/null 2>&1
wait_until 10 ip -n "$M1" link show "$P-mt" >/dev/null 2>&1
ip -n "$F1" addr add 198.18.11.1/24 dev "$P-ft"
ip -n "$M1" link set "$P-mt" address 02:00:5e:00:0c:01
ip -n "$M1" addr add 198.18.12.1/24 dev "$P-mt"
iperf_server "$D2" 198.18.10.2
iperf_server "$F2" 198.18.11.2
iperf_server "$M2" 198.18.12.2
sleep 1
ip netns exec "$D1" ping -c 2 -W 2 198.18.10.2 >/dev/null
ip netns exec "$F1" ping -c 2 -W 2 198.18.11.2 >/dev/null
ip netns exec "$M1" ping -c 2 -W 2 198.18.12.2 >/dev/null


declare -A G C
loads=()
for r in $(seq "$ROUNDS"); do
    for p in 1 8; do
        for path in direct lagd-fwd minfwd; do
            case $path in
            direct) out=$(iperf_cpu "$D1" 198.18.10.2 $p "") ;;
            lagd-fwd) out=$(iperf_cpu "$F1" 198.18.11.2 $p "$FWD_PID") ;;
            minfwd) out=$(iperf_cpu "$M1" 198.18.12.2 $p "$MIN_PID") ;;
            esac
            G[$path,$p]+="${out%% *} "
            C[$path,$p]+="${out##* } "
        done
        log "round $r -P $p: direct ${G[direct,$p]}| lagd-fwd ${G[lagd-fwd,$p]}| minfwd ${G[minfwd,$p]}(load $(load_now))"
    done
    loads+=("$(load_now)")
done

echo
echo "Forwarder vs direct veth, $ROUNDS interleaved rounds of ${DUR} s, $(date -u +%FT%TZ), load at the end of each round: ${loads[*]}"
echo
tcp_table "direct lagd-fwd minfwd"
