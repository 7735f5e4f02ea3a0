# Shared helpers for the whole-system benchmarks in bench/ (sourced, not run).
#
# Everything a script creates is registered here and removed by `bench_cleanup` (an EXIT trap):
# network namespaces (their veths go with them), daemons and helper processes (ended by pid),
# OVS instances, scratch directories. Namespace and interface names carry a per-run prefix, so
# several runs never collide. Addresses come from 198.18.0.0/15 only.
#
# Environment: ROUNDS (interleaved rounds, default 3), DUR (seconds per iperf3 run, default 10),
# CARGO_TARGET_DIR (where lagd/lagctl are built, default WS/target), IMPLS (systems to
# compare, default "lagd ovs"; OVS is skipped if not installed), BENCH_PREFIX (put before
# the per-run prefix, at most 3 characters, e.g. a session's own namespace prefix).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WS=$(cd "$BENCH/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WS/target}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10}
IMPLS=${IMPLS:-lagd ovs}
# Short per-run prefix: interface names must stay within 15 characters.
P=${BENCH_PREFIX:0:3}b$(printf '%x' $(($$ % 65536)))
SCRATCH=$(mktemp -d "/tmp/lagd-bench-$P.XXXX")
_NSES=()
_PIDS=()
_OVS=()

log() { echo "$*" >&2; }

bench_cleanup() {
    set +e
    for d in "${_OVS[@]}"; do
        OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d \
            ovs-appctl --timeout=10 -t "$d/ovs-vswitchd.ctl" exit --cleanup >/dev/null 2>&1
        for f in ovs-vswitchd.pid ovsdb-server.pid; do
            [ -f "$d/$f" ] && kill "$(cat "$d/$f")" 2>/dev/null
        done
    done
    for p in "${_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    for ns in "${_NSES[@]}"; do
        # Whatever still runs in our namespaces (e.g. iperf3 -D servers) was started by us.
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
    done
    sleep 0.2
    for ns in "${_NSES[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$SCRATCH"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# mkns VAR SUFFIX: creates namespace $P-SUFFIX with lo up, stores its name in VAR.
mkns() {
    local n="$P-$2"
    ip netns add "$n"
    _NSES+=("$n")
    ip -n "$n" link set lo up
    printf -v "$1" '%s' "$n"
}

# veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
veth() {
    ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
    ip -n "$1" link set "$2" up
    ip -n "$3" link set "$4" up
}

# shape NS IF: 1 Gbit/s token bucket on IF's egress.
shape() { ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate 1gbit burst 500kb latency 20ms; }

# bg VAR CMD...: runs CMD in the background, registers its pid, stores it in VAR.
bg() {
    local v=$1
    shift
    "$@" &
    _PIDS+=($!)
    printf -v "$v" '%s' $!
}

need() { command -v "$1" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y "$2" >/dev/null; }

# build_lagd: builds lagd and lagctl (release); NO_BUILD=1 uses what is already built, and so
# does a failed build when binaries exist (another crate may be mid-edit), with a warning.
build_lagd() {
    if [ "${NO_BUILD:-0}" != 1 ] && ! (cd "$WS" && cargo build --quiet --release -p lagd -p lagctl 2>"$SCRATCH/build.log"); then
        [ -x "$CARGO_TARGET_DIR/release/lagd" ] && [ -x "$CARGO_TARGET_DIR/release/lagctl" ] ||
            { cat "$SCRATCH/build.log" >&2; exit 1; }
        log "warning: build failed (see below); using the binaries already in $CARGO_TARGET_DIR/release"
        tail -3 "$SCRATCH/build.log" >&2
    fi
    LAGD=$CARGO_TARGET_DIR/release/lagd
    LAGCTL=$CARGO_TARGET_DIR/release/lagctl
}

have_ovs() { [[ " $IMPLS " == *" ovs "* ]] && command -v ovs-vswitchd >/dev/null; }

# ---- lagd -----------------------------------------------------------------------------------

# lagd_conf FILE AGGR "LINKS..." [EXTRA TOML LINES]: appends one LACP aggregation (active,
# short timer) to FILE.
lagd_conf() {
    local list
    list=$(printf '"%s", ' $3)
    printf '[[aggregation]]\nname = "%s"\nlinks = [%s]\nmode = "lacp"\nlacp = "active"\ntimer = "short"\n%s\n\n' \
        "$2" "${list%, }" "${4:-}" >>"$1"
}

# lagd_start VAR NS CONFIG: starts lagd in NS; VAR gets its pid, the socket is CONFIG.sock.
# The array LAGD_WRAP, if set, is the command prefix lagd runs under (e.g. bench/as_unit.py:
# the systemd unit's capabilities and syscall filters).
LAGD_WRAP=()
lagd_start() {
    bg "$1" ip netns exec "$2" "${LAGD_WRAP[@]}" "$LAGD" --config "$3" --socket "$3.sock" \
        --log-level info --foreground 2>"$3.log"
}

# lagd_forwarding SOCK AGGR N: true if AGGR is up with N members Collecting and Distributing
# (lagctl's member state "active"; "attached" before issue 17 named the states).
lagd_forwarding() {
    "$LAGCTL" show-aggr --socket "$1" --json "$2" 2>/dev/null | python3 -c '
import json, sys
n = int(sys.argv[1])
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(1)
# lagd/show-aggr/1 (docs/JSON.md); a list from lagctl before the schema member.
a = d["aggregations"][0] if isinstance(d, dict) and d.get("aggregations") else (d[0] if isinstance(d, list) and d else {})
ms = a.get("members", [])
ok = a.get("up") and len(ms) == n and all(m.get("state") in ("active", "attached") for m in ms)
sys.exit(0 if ok else 1)' "$3"
}

# lagd_members SOCK AGGR: one line per member of AGGR, straight from lagd's control socket
# (lagd/src/control/proto.rs; lagctl's --json does not carry the BFD session):
# NAME STATE BFD_STATE DETECTION_TIMEOUTS SESS_UP_COUNT FLAPS CTRL_IN CTRL_OUT CTRL_DROP
# (BFD_STATE "-" and zero counters for a member without a BFD session).
lagd_members() {
    python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall((json.dumps({"request": "ShowAggr", "name": sys.argv[2]}) + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    buf += chunk
for a in json.loads(buf)["ok"]["aggregations"]:
    for m in a["members"]:
        b = m.get("bfd") or {}
        print(m["name"], m.get("state") or "?", b.get("state", "-"),
              *(b.get(k, 0) for k in ("detection_timeouts", "sess_up_count")), m.get("flaps", 0),
              *(b.get(k, 0) for k in ("ctrl_pkt_in", "ctrl_pkt_out", "ctrl_pkt_drop")))' "$1" "$2"
}

# wait_until SECONDS CMD...: polls CMD every 20 ms; fails after SECONDS.
wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || { log "timeout waiting for: $*"; return 1; }
        sleep 0.02
    done
}

# ---- Open vSwitch (userspace datapath), one private instance per namespace ------------------

# ovs_start VAR NS HWADDR: starts ovsdb-server and ovs-vswitchd in NS with their own directory,
# creates bridge br0 (netdev datapath, userspace TSO on); VAR gets the directory.
ovs_start() {
    local d
    d=$(mktemp -d "$SCRATCH/ovs-$2.XXXX")
    _OVS+=("$d")
    export OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d
    ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema 2>>"$d/stderr.log"
    ip netns exec "$2" ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" \
        --unixctl="$d/ovsdb-server.ctl" --pidfile="$d/ovsdb-server.pid" \
        --log-file="$d/ovsdb-server.log" --detach 2>>"$d/stderr.log"
    ovs-vsctl --db="unix:$d/db.sock" --no-wait init
    ovs-vsctl --db="unix:$d/db.sock" --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
    ip netns exec "$2" ovs-vswitchd "unix:$d/db.sock" --disable-system \
        --unixctl="$d/ovs-vswitchd.ctl" --pidfile="$d/ovs-vswitchd.pid" \
        --log-file="$d/ovs-vswitchd.log" --detach 2>>"$d/stderr.log"
    ovs-vsctl --db="unix:$d/db.sock" add-br br0 -- set bridge br0 datapath_type=netdev \
        "other_config:hwaddr=$3"
    unset OVS_RUNDIR OVS_LOGDIR OVS_DBDIR OVS_SYSCONFDIR
    printf -v "$1" '%s' "$d"
}

# ovs_stop DIR: ends one instance started by ovs_start.
ovs_stop() {
    local f
    ovs_appctl "$1" exit --cleanup >/dev/null 2>&1 || true
    for f in ovs-vswitchd.pid ovsdb-server.pid; do
        [ -f "$1/$f" ] && kill "$(cat "$1/$f")" 2>/dev/null || true
    done
    sleep 0.2
}

ovs_vsctl() {
    local d=$1
    shift
    ovs-vsctl --timeout=30 --db="unix:$d/db.sock" "$@"
}

ovs_appctl() {
    local d=$1
    shift
    OVS_RUNDIR=$d ovs-appctl --timeout=30 -t "$d/ovs-vswitchd.ctl" "$@"
}

# ovs_prep_member NS IF: what OVS needs on a member (it does not do it itself).
ovs_prep_member() {
    ip -n "$1" link set "$2" up
    ip netns exec "$1" sysctl -qw "net.ipv4.conf.$2.arp_ignore=1" "net.ipv6.conf.$2.disable_ipv6=1"
    ip -n "$1" neigh flush dev "$2" 2>/dev/null || true
}

# ovs_bond DIR NS "LINKS...": balance-tcp bond0 with LACP active/fast.
ovs_bond() {
    local l
    for l in $3; do ovs_prep_member "$2" "$l"; done
    # shellcheck disable=SC2086
    ovs_vsctl "$1" add-bond br0 bond0 $3 bond_mode=balance-tcp lacp=active \
        other_config:lacp-time=fast other_config:lacp-fallback-ab=false
}

# ovs_bond_forwarding DIR N: LACP negotiated and N members enabled in bond0.
ovs_bond_forwarding() {
    local out
    out=$(ovs_appctl "$1" bond/show bond0 2>/dev/null) || return 1
    grep -q 'lacp_status: negotiated' <<<"$out" || return 1
    [ "$(grep -cE '^member .*: enabled' <<<"$out")" -eq "$2" ]
}

# tx_packets NS IF: frames sent on IF.
tx_packets() { ip -n "$1" -j -s link show dev "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])'; }

# busiest NS "LINKS..." SECONDS: the link of LINKS that sent the most frames over SECONDS.
busiest() {
    local l best="" bestn=-1 n
    declare -A a
    for l in $2; do a[$l]=$(tx_packets "$1" "$l"); done
    sleep "$3"
    for l in $2; do
        n=$(($(tx_packets "$1" "$l") - a[$l]))
        if [ "$n" -gt "$bestn" ]; then best=$l bestn=$n; fi
    done
    echo "$best"
}

now_ns() { date +%s%N; }

# ---- measurement ----------------------------------------------------------------------------

# The failover scripts' 1 000 pps UDP stream (bench/udpstream.py), PPS datagrams/s.
PPS=${PPS:-1000}
UDP="$BENCH/udpstream.py"

# stream SENDER_NS DST RECEIVER_NS SECONDS OUTFILE: receiver + sender in the background.
stream() {
    bg RX_PID ip netns exec "$3" chrt -f 20 python3 "$UDP" recv --bind 0.0.0.0:5600 --seconds "$4" --idle 30 >"$5"
    sleep 0.3
    bg TX_PID ip netns exec "$1" chrt -f 20 python3 "$UDP" send --dst "$2:5600" --sport 5601 --pps $PPS --seconds "$4" >/dev/null
}
stream_wait() { wait "$TX_PID" "$RX_PID" 2>/dev/null || true; }
gap_at() { python3 "$UDP" gap-at "$@" | sed "s/^-$/<2/"; } # gap_at FILE T_NS [T2_NS]
# noise FILE T_NS [T2_NS]: the longest gap not overlapping [T_NS, T2_NS].
noise() { python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); t = int(sys.argv[2]); t2 = int(sys.argv[3])
g = [l for s, l in d.get("gaps", []) if not (s <= t2 and t <= s + l)]
print("%.1f" % (max(g) / 1e6) if g else "<2")' "$1" "$2" "${3:-$2}"; }
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$1" "$2"; }
ms() { python3 -c 'import sys; print("%.1f" % ((int(sys.argv[1]) - int(sys.argv[2])) / 1e6))' "$1" "$2"; }


# iperf NS DST [ARGS...]: goodput of one iperf3 run in Gbit/s (receiver side).
iperf() {
    local ns=$1 dst=$2
    shift 2
    ip netns exec "$ns" iperf3 -c "$dst" -t "$DUR" -J "$@" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    print("%.3f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("nan")'
}

iperf_server() { ip netns exec "$1" iperf3 -s -D -B "$2" >/dev/null; }

median() { python3 -c '
import statistics, sys
v = []
for x in sys.argv[1:]:
    try:
        f = float(x)
    except ValueError:
        continue
    if f == f:
        v.append(f)
print("%.2f" % statistics.median(v) if v else (sys.argv[1] if len(sys.argv) > 1 else "n/a"))' "$@"; }
ratio() { python3 -c 'import sys; a,b=sys.argv[1:]; print("%.2f" % (float(a)/float(b)) if a!="n/a" and b!="n/a" and float(b) else "n/a")' "$1" "$2"; }

load_now() { cut -d' ' -f1-3 /proc/loadavg; }

# mem_cpu PID: "utime+stime ticks" for a process.
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# iperf_cpu NS DST P "PIDS": iperf3 -P P from NS to DST for DUR s; prints "goodput_gbps
# cpu_s_per_GB", the CPU being iperf3's client and server plus the processes PIDS (a forwarder,
# daemons) per GB received ("nan nan" when iperf3 gave no result).
iperf_cpu() {
    local pid t0=0 t1=0 j
    for pid in $4; do t0=$((t0 + $(cpu_ticks "$pid"))); done
    j=$(ip netns exec "$1" iperf3 -c "$2" -t "$DUR" -P "$3" -J 2>/dev/null)
    for pid in $4; do t1=$((t1 + $(cpu_ticks "$pid"))); done
    python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1]); e = d["end"]; c = e["cpu_utilization_percent"]
except Exception:
    print("nan nan"); sys.exit()
dur = float(sys.argv[2]); extra = float(sys.argv[3]) / float(sys.argv[4])
cpu = (c["host_total"] + c["remote_total"]) / 100 * dur + extra
b = e["sum_received"]["bytes"]
print("%.3f %.3f" % (e["sum_received"]["bits_per_second"] / 1e9, cpu / (b / 1e9)))' \
        "$j" "$DUR" "$((t1 - t0))" "$(getconf CLK_TCK)"
}

# tcp_table "PATHS": the markdown table of the associative arrays G[path,P] (Gbit/s per round)
# and C[path,P] (CPU s/GB per round) for P = 1 and 8, medians and ratios to the path "direct".
tcp_table() {
    local path p row g gd
    echo "| path | -P 1 Gbit/s median (rounds) | ratio to direct | CPU s/GB | -P 8 Gbit/s median (rounds) | ratio to direct | CPU s/GB |"
    echo "|---|---|---|---|---|---|---|"
    for path in $1; do
        row="| $path"
        for p in 1 8; do
            # shellcheck disable=SC2086
            g=$(median ${G[$path,$p]})
            # shellcheck disable=SC2086
            gd=$(median ${G[direct,$p]})
            # shellcheck disable=SC2086
            row+=" | $g (${G[$path,$p]% }) | $(ratio "$g" "$gd") | $(median ${C[$path,$p]})"
        done
        echo "$row |"
    done
}
