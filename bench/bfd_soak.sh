#!/usr/bin/env bash
# No false detection under load: two lagd (LACP active, short timer, micro-BFD 50 ms x 3) joined
# by two veth members, two `iperf3 -P 8` through the aggregate (A -> B and B -> A at once) for
# SOAK seconds, nothing failed on purpose. Every SAMPLE seconds both ends' members are read
# (`lagctl show-aggr --json`); at the end it prints the BFD detection timeouts, sessions that
# came Up again, member flaps and samples where a member was not forwarding (all must be 0),
# with the BFD control packets sent and received, the iperf3 goodput and the load (uptime)
# before, during and after.
#
#   nice -n 10 bench/bfd_soak.sh      (SOAK=600 SAMPLE=5 OFFLOAD=auto AS_UNIT=0; needs root,
#                                      iperf3, python3)
#
# OFFLOAD: the aggregations' offload setting (auto: the kernel fast path carries the iperf3
# frames, BFD goes to lagd's sockets; off: everything through lagd's user-space path).
# AS_UNIT=1: both lagd run as the shipped unit (dist/lagd.service) runs them, by
# bench/as_unit.py: only the unit's capabilities (no CAP_SYS_NICE, so the BFD thread is not
# real-time), its syscall filters (python3-seccomp), nice 0; the load keeps the script's
# niceness. AS_UNIT=0 (default): lagd as root, the BFD thread at SCHED_FIFO 10.
# The table says how each lagd's BFD thread was scheduled (policy and nice, from /proc).
# Exit status 1 if any false detection or flap was seen.
source "$(dirname "$0")/lib.sh"
need iperf3 iperf3
build_lagd
SOAK=${SOAK:-600}
SAMPLE=${SAMPLE:-5}
OFFLOAD=${OFFLOAD:-auto}
AS_UNIT=${AS_UNIT:-0}
if [ "$AS_UNIT" = 1 ]; then
    /usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y python3-seccomp >/dev/null
    LAGD_WRAP=(/usr/bin/python3 "$BENCH/as_unit.py" --scratch "$SCRATCH" --)
fi
commit=$(git -C "$WS" describe --always --dirty 2>/dev/null || echo "?")
t0=$(date -u +%FT%TZ)

mkns A a; mkns B b
veth "$A" "$P-a1" "$B" "$P-b1"
veth "$A" "$P-a2" "$B" "$P-b2"
for s in a b; do
    : >"$SCRATCH/$s.toml"
    lagd_conf "$SCRATCH/$s.toml" "$P-lag" "$P-${s}1 $P-${s}2" "mac = \"02:00:5e:00:29:1$([ $s = a ] && echo 1 || echo 2)\"
offload = \"$OFFLOAD\"
bfd = { interval = \"50ms\", multiplier = 3 }"
done
lagd_start LA_PID "$A" "$SCRATCH/a.toml"
lagd_start LB_PID "$B" "$SCRATCH/b.toml"
wait_until 30 ip -n "$A" link show "$P-lag" >/dev/null 2>&1
ip -n "$A" addr add 198.18.42.1/24 dev "$P-lag"
wait_until 30 ip -n "$B" link show "$P-lag" >/dev/null 2>&1
ip -n "$B" addr add 198.18.42.2/24 dev "$P-lag"
fwd() { lagd_forwarding "$SCRATCH/a.toml.sock" "$P-lag" 2 && lagd_forwarding "$SCRATCH/b.toml.sock" "$P-lag" 2; }
wait_until 60 fwd

# snapshot: one line per member of both ends:
# END MEMBER STATE BFD_STATE DETECTION_TIMEOUTS SESS_UP_COUNT FLAPS CTRL_IN CTRL_OUT CTRL_DROP
snapshot() { local s; for s in a b; do lagd_members "$SCRATCH/$s.toml.sock" "$P-lag" | sed "s/^/$s /"; done; }
# Wait until every session is Up (the stream of BFD packets has settled at 50 ms).
bfd_up() { ! snapshot | awk '$4 != "Up" { bad = 1 } END { exit !bad }'; }
wait_until 30 bfd_up
snapshot >"$SCRATCH/before"
# sched PID: how the BFD thread of lagd PID is scheduled ("SCHED_FIFO 10" or "SCHED_OTHER nice
# N"), and the process's effective capabilities.
sched() {
    local t pol
    for t in /proc/"$1"/task/*; do
        [ "$(cat "$t/comm")" = lagd-bfd ] || continue
        pol=$(awk '{ print $41, $19, $18 }' "$t/stat")
        set -- $pol "$(awk '/^CapEff/ { print $2 }' /proc/"$1"/status)"
        case $1 in
        0) echo "SCHED_OTHER nice $2, CapEff $4" ;;
        1) echo "SCHED_FIFO $((-$3 - 1)), CapEff $4" ;;
        *) echo "policy $1, CapEff $4" ;;
        esac
        return
    done
    echo "no lagd-bfd thread"
}
sched_a=$(sched "$LA_PID") sched_b=$(sched "$LB_PID")
log "BFD threads: A $sched_a; B $sched_b"

ip netns exec "$A" iperf3 -s -D -p 5211 -B 198.18.42.1 >/dev/null
ip netns exec "$B" iperf3 -s -D -p 5212 -B 198.18.42.2 >/dev/null
sleep 0.5
load0=$(load_now)
bg I1 sh -c "ip netns exec $A iperf3 -c 198.18.42.2 -p 5212 -P 8 -t $SOAK -J >$SCRATCH/ab.json 2>&1"
bg I2 sh -c "ip netns exec $B iperf3 -c 198.18.42.1 -p 5211 -P 8 -t $SOAK -J >$SCRATCH/ba.json 2>&1"

bad_samples=0 samples=0 loads=()
start=$SECONDS end=$((SECONDS + SOAK)) next_min=$((SECONDS + 60))
while [ $SECONDS -lt "$end" ]; do
    sleep "$SAMPLE"
    snap=$(snapshot)
    samples=$((samples + 1))
    if awk '$3 != "active" || $4 != "Up" { bad = 1 } END { exit !bad }' <<<"$snap"; then
        bad_samples=$((bad_samples + 1))
        log "$(date -u +%T) not all forwarding: $(awk '$3 != "active" || $4 != "Up"' <<<"$snap" | tr '\n' ';')"
    fi
    if [ $SECONDS -ge $next_min ]; then
        next_min=$((next_min + 60))
        loads+=("$(load_now)")
        log "$(date -u +%T) $((SECONDS - start)) s, load ${loads[-1]}, bad samples $bad_samples"
    fi
done
wait "$I1" "$I2" 2>/dev/null || true
snapshot >"$SCRATCH/after"
load1=$(load_now)

gbps() { python3 -c '
import json, sys
try:
    print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("nan")' "$1"; }
# delta COLUMN: sum over members of after - before.
delta() { paste -d' ' "$SCRATCH/before" "$SCRATCH/after" | awk -v c="$1" '{ t += $(c + 10) - $c } END { print t }'; }
timeouts=$(delta 5) ups=$(delta 6) flaps=$(delta 7) cin=$(delta 8) cout=$(delta 9) cdrop=$(delta 10)

echo
echo "BFD soak, $t0 - $(date -u +%FT%TZ), commit $commit: micro-BFD 50 ms x 3 on two members (LACP short timer, offload = $OFFLOAD), two iperf3 -P 8 (A -> B, B -> A) for $SOAK s"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| lagd run as | $([ "$AS_UNIT" = 1 ] && echo "the unit (bench/as_unit.py: dist/lagd.service's capabilities and syscall filters, nice 0)" || echo "root") |"
echo "| BFD thread A, B | $sched_a; $sched_b |"
echo "| load's niceness (iperf3) | $(nice) |"
echo "| BFD detection timeouts (both ends, all members) | $timeouts |"
echo "| BFD sessions that came Up again | $ups |"
echo "| member flaps (stopped carrying traffic) | $flaps |"
echo "| samples (every $SAMPLE s + the time to read both daemons) with a member not forwarding or BFD not Up | $bad_samples of $samples |"
echo "| BFD control packets received / sent / dropped (both ends) | $cin / $cout / $cdrop |"
echo "| iperf3 goodput A -> B, B -> A (Gbit/s) | $(gbps "$SCRATCH/ab.json"), $(gbps "$SCRATCH/ba.json") |"
echo "| load before, every minute, after | $load0; ${loads[*]}; $load1 |"
[ "$timeouts" = 0 ] && [ "$ups" = 0 ] && [ "$flaps" = 0 ] && [ "$bad_samples" = 0 ]
