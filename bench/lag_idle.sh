#!/usr/bin/env bash
# Idle cost: one lagd with 16 aggregations of 4 members (64 veth pairs, LACP active, short
# timer: one LACPDU per member per second each way), its partner another lagd with the same 16
# aggregations. Once all 64 members are Collecting and Distributing on both sides, lagd A's
# resident memory and CPU are sampled over WINDOW seconds (default 30) without data traffic.
#
#   bench/lag_idle.sh          (WINDOW=30; needs root)
#
# CARRIER_POLL_A, CARRIER_POLL_B: `[daemon] carrier_poll` of lagd A and B (default: unset, the
# daemon's default), e.g. CARRIER_POLL_B=off to compare the cost of reading every member's
# carrier in the same window.
source "$(dirname "$0")/lib.sh"
build_lagd
WINDOW=${WINDOW:-30}
N_AGG=${N_AGG:-16}
N_MEM=${N_MEM:-4}

mkns A a; mkns B b
: >"$SCRATCH/a.toml"; : >"$SCRATCH/b.toml"
[ -n "${CARRIER_POLL_A:-}" ] && printf '[daemon]\ncarrier_poll = "%s"\n\n' "$CARRIER_POLL_A" >"$SCRATCH/a.toml"
[ -n "${CARRIER_POLL_B:-}" ] && printf '[daemon]\ncarrier_poll = "%s"\n\n' "$CARRIER_POLL_B" >"$SCRATCH/b.toml"
for g in $(seq "$N_AGG"); do
    la="" lb=""
    for m in $(seq "$N_MEM"); do
        veth "$A" "$P-a${g}x$m" "$B" "$P-b${g}x$m"
        la+="$P-a${g}x$m " lb+="$P-b${g}x$m "
    done
    lagd_conf "$SCRATCH/a.toml" "$P-g$g" "$la"
    lagd_conf "$SCRATCH/b.toml" "$P-g$g" "$lb"
done
t_start=$(now_ns)
lagd_start LA_PID "$A" "$SCRATCH/a.toml"
lagd_start LB_PID "$B" "$SCRATCH/b.toml"
all_fwd() {
    local g
    for g in $(seq "$N_AGG"); do
        lagd_forwarding "$SCRATCH/a.toml.sock" "$P-g$g" "$N_MEM" || return 1
        lagd_forwarding "$SCRATCH/b.toml.sock" "$P-g$g" "$N_MEM" || return 1
    done
}
wait_until 180 all_fwd
t_fwd=$(now_ns)
sleep 2
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
c0=$(cpu_ticks "$LA_PID"); b0=$(cpu_ticks "$LB_PID"); r0=$(rss "$LA_PID")
sleep "$WINDOW"
c1=$(cpu_ticks "$LA_PID"); b1=$(cpu_ticks "$LB_PID"); r1=$(rss "$LA_PID")
hz=$(getconf CLK_TCK)
threads=$(ls "/proc/$LA_PID/task" | wc -l)
fds=$(ls "/proc/$LA_PID/fd" | wc -l)
load=$(load_now)
pct() { python3 -c "print('%.2f' % (($2 - $1) / $hz / $WINDOW * 100))"; }

echo
echo "lagd idle, $N_AGG aggregations x $N_MEM members ($((N_AGG * N_MEM)) veth pairs), partner: a second lagd, window ${WINDOW} s, $(date -u +%FT%TZ), load $load, carrier_poll A ${CARRIER_POLL_A:-default} B ${CARRIER_POLL_B:-default}"
echo
echo "| measure | lagd A |"
echo "|---|---|"
echo "| all $((N_AGG * N_MEM)) members forwarding on both sides after start | $(python3 -c "print('%.2f s' % (($t_fwd - $t_start) / 1e9))") |"
echo "| RSS at start / end of window | $((r0 / 1024)) MiB / $((r1 / 1024)) MiB |"
echo "| peak RSS (VmHWM) | $(($(hwm "$LA_PID") / 1024)) MiB |"
echo "| CPU over the window (% of one core) | $(pct "$c0" "$c1") % (partner lagd B: $(pct "$b0" "$b1") %) |"
echo "| threads / open file descriptors | $threads / $fds |"
