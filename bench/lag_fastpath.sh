#!/usr/bin/env bash
# The kernel fast path with default settings (offload = auto) against a direct veth, same
# interleaved rounds: two lagd (namespaces A and B, one unthrottled veth member, LACP active,
# short timer) vs one veth pair, for
#   - TCP, iperf3 -P 1 and -P 8 (Gbit/s, CPU s/GB: iperf3 client + server + both lagd);
#   - 64-byte UDP frames (iperf3 -u -b 0 -l 18: 14 + 20 + 8 + 18 bytes + FCS), frames per second
#     received;
#   - VLAN-tagged TCP (-P 1, -P 8): every frame between the hosts carries an 802.1Q tag (VLAN
#     10) on the veth, or on lagd's member: tc programs on the hosts' devices (the veth, or the
#     aggregate) push it on egress and pop it on ingress (crates/dataplane/examples/vlan_tag.rs;
#     needs neither 8021q nor act_vlan; the tag is the kernel's out-of-band one, as from a VLAN
#     device on a NIC that inserts tags);
#   - TCP over IPv6 with a destination-options header on every segment (bench/tcp6opt.py, one
#     flow: iperf3 cannot set the option).
#
#   bench/lag_fastpath.sh          (ROUNDS=3 DUR=10; needs root, iperf3, python3)
#   LAGD_EXTRA='rx_steering = "off"' bench/lag_fastpath.sh   (settings added to both lagd)
#   PROFILE=1 bench/lag_fastpath.sh   (one -P 1 run per path under perf record; needs perf)
source "$(dirname "$0")/lib.sh"
need iperf3 iperf3
build_lagd
# The VLAN tagger (an example of the dataplane crate), built like lagd.
if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$WS" && cargo build --quiet --release -p lagd-dataplane --example vlan_tag 2>>"$SCRATCH/build.log") ||
        log "warning: vlan_tag not built (see $SCRATCH/build.log)"
fi
VLAN_TAG=$CARGO_TARGET_DIR/release/examples/vlan_tag

# pair NSVAR1 NSVAR2 TAG: two namespaces joined by a veth "$P-TAG1" - "$P-TAG2".
pair() {
    mkns "$1" "${3}1"; mkns "$2" "${3}2"
    veth "${!1}" "$P-${3}1" "${!2}" "$P-${3}2"
}

# lagd_pair TAG: lagd on both ends of pair TAG (default settings but the timer); the aggregate
# is "$P-TAGg"; PIDs in TAG_PIDS.
lagd_pair() {
    local t=$1 ns1 ns2
    ns1=${t^^}1; ns2=${t^^}2
    : >"$SCRATCH/${t}1.toml"; : >"$SCRATCH/${t}2.toml"
    lagd_conf "$SCRATCH/${t}1.toml" "$P-${t}g" "$P-${t}1" "${LAGD_EXTRA:-}"
    lagd_conf "$SCRATCH/${t}2.toml" "$P-${t}g" "$P-${t}2" "${LAGD_EXTRA:-}"
    lagd_start PID1 "${!ns1}" "$SCRATCH/${t}1.toml"
    lagd_start PID2 "${!ns2}" "$SCRATCH/${t}2.toml"
    wait_until 60 lagd_forwarding "$SCRATCH/${t}1.toml.sock" "$P-${t}g" 1
    wait_until 60 lagd_forwarding "$SCRATCH/${t}2.toml.sock" "$P-${t}g" 1
    printf -v "${t^^}_PIDS" '%s %s' "$PID1" "$PID2"
}

# vlan_host NS DEV ADDR4: the host in NS sends and receives on DEV in VLAN 10, tagged past DEV
# (vlan_tag's programs at DEV's egress and ingress, first in their hooks).
vlan_host() {
    local pid
    bg pid ip netns exec "$1" "$VLAN_TAG" "$2" 10
    ip -n "$1" addr add "$3" dev "$2"
}

# VLAN rows need the tagger's programs to load and attach; where they cannot, the rows are
# skipped, and the script says so.
VLAN=1
if [ -x "$VLAN_TAG" ]; then
    ip netns add "$P-vlanprobe"
    ip -n "$P-vlanprobe" link add "$P-vp" type veth peer name "$P-vq"
    probe=$(timeout 2 ip netns exec "$P-vlanprobe" "$VLAN_TAG" "$P-vp" 10 2>&1 || true)
    [[ $probe == *tagged* ]] || VLAN=0
    ip netns del "$P-vlanprobe"
else
    VLAN=0
fi
[ "$VLAN" = 1 ] || log "vlan_tag unavailable (not built, or its programs do not load): VLAN-tagged rows skipped"

# Direct veth: D (IPv4, IPv6), DV (VLAN).
pair D1 D2 d
ip -n "$D1" addr add 198.18.40.1/24 dev "$P-d1"
ip -n "$D2" addr add 198.18.40.2/24 dev "$P-d2"
ip -n "$D1" addr add 2001:2:0:40::1/64 dev "$P-d1" nodad
ip -n "$D2" addr add 2001:2:0:40::2/64 dev "$P-d2" nodad
if [ "$VLAN" = 1 ]; then
    pair DV1 DV2 dv
    vlan_host "$DV1" "$P-dv1" 198.18.41.1/24
    vlan_host "$DV2" "$P-dv2" 198.18.41.2/24

fi

# Two lagd: L (IPv4, IPv6), LV (VLAN).
pair L1 L2 l
lagd_pair l
ip -n "$L1" addr add 198.18.42.1/24 dev "$P-lg"
ip -n "$L2" addr add 198.18.42.2/24 dev "$P-lg"
for n in "$L1 1" "$L2 2"; do
    set -- $n
    ip netns exec "$1" sysctl -qw "net.ipv6.conf.$P-lg.disable_ipv6=0"
    ip -n "$1" addr add "2001:2:0:42::$2/64" dev "$P-lg" nodad
done
if [ "$VLAN" = 1 ]; then
    pair LV1 LV2 lv
    lagd_pair lv
    vlan_host "$LV1" "$P-lvg" 198.18.43.1/24
    vlan_host "$LV2" "$P-lvg" 198.18.43.2/24
fi

for s in "$D2 198.18.40.2 2001:2:0:40::2" "$L2 198.18.42.2 2001:2:0:42::2"; do
    set -- $s
    iperf_server "$1" "$2"
    bg SRV ip netns exec "$1" python3 "$BENCH/tcp6opt.py" server "$3" 5201
done
reach="$D1 198.18.40.2,$L1 198.18.42.2,$L1 2001:2:0:42::2,$D1 2001:2:0:40::2"
if [ "$VLAN" = 1 ]; then
    iperf_server "$DV2" 198.18.41.2
    iperf_server "$LV2" 198.18.43.2
    reach+=",$DV1 198.18.41.2,$LV1 198.18.43.2"
fi
sleep 1
IFS=, read -r -a reach_list <<<"$reach"
for s in "${reach_list[@]}"; do
    set -- $s
    wait_until 20 ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null
done

# The tag is on lagd's member: frames of a ping seen there with VLAN 10 (tshark, if installed).
if [ "$VLAN" = 1 ] && command -v tshark >/dev/null; then
    ip netns exec "$LV2" timeout 5 tshark -l -i "$P-lv2" -c 2 -f "vlan 10 and icmp" >"$SCRATCH/vlan.txt" 2>/dev/null &
    cap=$!
    sleep 2
    ip netns exec "$LV1" ping -c 3 -i 0.2 198.18.43.2 >/dev/null || true
    wait "$cap" || true
    log "VLAN 10 frames captured on lagd's member $P-lv2: $(grep -c . "$SCRATCH/vlan.txt" || true)"
fi

# udp64 NS DST: received 64-byte frames per second (millions).
udp64() {
    ip netns exec "$1" iperf3 -c "$2" -u -b 0 -l 18 -t "$DUR" -J 2>/dev/null | python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)["end"]["sum"]
    print("%.3f" % ((s["packets"] - s["lost_packets"]) / s["seconds"] / 1e6))
except Exception:
    print("nan")'
}

# tcp6opt NS DST "PIDS" SERVER_NS: "Gbit/s CPU_s/GB" of one tcp6opt.py flow (CPU: the client,
# the server, PIDS).
tcp6opt() {
    local pid t0=0 t1=0 out srv
    srv=$(ip netns pids "$4" 2>/dev/null | while read -r p; do grep -q tcp6opt "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | head -1)
    for pid in $3 $srv; do t0=$((t0 + $(cpu_ticks "$pid"))); done
    out=$(ip netns exec "$1" python3 "$BENCH/tcp6opt.py" client "$2" 5201 "$DUR" 2>/dev/null || echo "nan 0 0")
    for pid in $3 $srv; do t1=$((t1 + $(cpu_ticks "$pid"))); done
    python3 -c '
import sys
g, cc, n = sys.argv[1].split()
try:
    cpu = float(cc) + float(sys.argv[2]) / float(sys.argv[3])
    print("%s %.3f" % (g, cpu / (int(n) / 1e9)))
except Exception:
    print("nan nan")' "$out" "$((t1 - t0))" "$(getconf CLK_TCK)"
}

# PROFILE=1: instead of the rounds, one TCP -P 1 run of each path under `perf record -a`
# (cpu-clock samples on every CPU: this machine's VM has no hardware counters) and the symbols
# above 0.5 % of each profile.
if [ "${PROFILE:-0}" = 1 ]; then
    for path in direct lagd; do
        case $path in
        direct) ns=$D1 dst=198.18.40.2 ;;
        lagd) ns=$L1 dst=198.18.42.2 ;;
        esac
        perf record -q -e cpu-clock -a -o "$SCRATCH/$path.perf" -- \
            ip netns exec "$ns" iperf3 -c "$dst" -t "$DUR" -P 1 >"$SCRATCH/$path.iperf" 2>&1
        echo "== $path: $(grep receiver "$SCRATCH/$path.iperf" | tail -1) (load $(load_now))"
        perf report -q -i "$SCRATCH/$path.perf" --sort sym --percent-limit 0.5 --stdio 2>/dev/null |
            grep -v '^$' | head -45
    done
    exit 0
fi

declare -A G C U X XC
loads=()
PATHS="direct lagd"
for r in $(seq "$ROUNDS"); do
    for p in 1 8; do
        for path in $PATHS; do
            case $path in
            direct) out=$(iperf_cpu "$D1" 198.18.40.2 $p "") ;;
            lagd) out=$(iperf_cpu "$L1" 198.18.42.2 $p "$L_PIDS") ;;
            esac
            G[$path,$p]+="${out%% *} "; C[$path,$p]+="${out##* } "
            [ "$VLAN" = 1 ] || continue
            case $path in
            direct) out=$(iperf_cpu "$DV1" 198.18.41.2 $p "") ;;
            lagd) out=$(iperf_cpu "$LV1" 198.18.43.2 $p "$LV_PIDS") ;;
            esac
            G[vlan-$path,$p]+="${out%% *} "; C[vlan-$path,$p]+="${out##* } "
        done
    done
    for path in $PATHS; do
        case $path in
        direct) U[$path]+="$(udp64 "$D1" 198.18.40.2) " ;;
        lagd) U[$path]+="$(udp64 "$L1" 198.18.42.2) " ;;
        esac
        case $path in
        direct) out=$(tcp6opt "$D1" 2001:2:0:40::2 "" "$D2") ;;
        lagd) out=$(tcp6opt "$L1" 2001:2:0:42::2 "$L_PIDS" "$L2") ;;
        esac
        X[$path]+="${out%% *} "; XC[$path]+="${out##* } "
    done
    log "round $r: tcp ${G[direct,1]}/${G[lagd,1]} vlan ${G[vlan-direct,1]:-}/${G[vlan-lagd,1]:-} udp64 ${U[direct]}/${U[lagd]} ipv6-ext ${X[direct]}/${X[lagd]} (load $(load_now))"
    loads+=("$(load_now)")
done

echo
echo "Kernel fast path, ${LAGD_EXTRA:-default settings}, $ROUNDS interleaved rounds of ${DUR} s, $(date -u +%FT%TZ), load after each round: ${loads[*]}"
echo
echo "TCP over one unthrottled member (two lagd) and VLAN-tagged TCP:"
echo
tcp_table "direct lagd"
if [ "$VLAN" = 1 ]; then
    for p in 1 8; do
        G[direct,$p]=${G[vlan-direct,$p]}
    done
    echo
    tcp_table "vlan-direct vlan-lagd"
else
    echo
    echo "(VLAN-tagged rows skipped: the VLAN tagger's programs are unavailable)"
fi
echo
echo "| path | 64-byte UDP, Mframes/s received, median (rounds) | ratio to direct | IPv6 + destination options TCP, Gbit/s median (rounds) | ratio to direct | CPU s/GB |"
echo "|---|---|---|---|---|---|"
ud=$(median ${U[direct]}); xd=$(median ${X[direct]})
for path in $PATHS; do
    u=$(median ${U[$path]}); x=$(median ${X[$path]})
    echo "| $path | $u (${U[$path]% }) | $(ratio "$u" "$ud") | $x (${X[$path]% }) | $(ratio "$x" "$xd") | $(median ${XC[$path]}) |"
done
