#!/usr/bin/env python3
"""Sequence-numbered UDP stream for the failover benchmarks (bench/*.sh).

  udpstream.py send --dst IP:PORT [--sport N] [--pps 1000] [--seconds S]
  udpstream.py recv --bind IP:PORT [--seconds S] [--idle S] [--after-first]

The sender paces datagrams at --pps on an absolute schedule (a late wake-up sends the missed
datagrams at once, so the receiver sees a gap only where the network held them) and keeps trying
when the network is unreachable. Each datagram carries a stream id, a sequence number and the
CLOCK_REALTIME send time in ns.

The receiver prints one JSON object when --seconds have passed, or --idle seconds after the last
datagram: received, unique, lost (sequence holes), duplicated, reordered, the first arrival time
(CLOCK_REALTIME ns), the largest gap between consecutive arrivals (ms) with its start time, and
the second largest gap (the noise floor of this machine next to the failover gap), and every
gap of at least --list-ms (default 2) as [start_ns, length_ns] pairs, so that a caller can pick
the gap that spans a failure it caused at a known time (see `gap-at`).

  udpstream.py gap-at FILE T_NS [T2_NS]

prints the length in ms of the silence in the receiver's FILE output that spans CLOCK_REALTIME
T_NS, and the datagrams lost in the stream ("-" if no silence of --list-ms or more spans it).
With T2_NS, the longest silence that overlaps [T_NS, T2_NS]: the failure was made somewhere in
between (a command that takes longer than the stream's spacing to act, such as `ip link set`,
lets datagrams through after T_NS, so the silence can start after it).
"""
import argparse
import json
import socket
import struct
import sys
import time

MAGIC = 0x4C414744  # "LAGD"
FMT = "!IIQQ"  # magic, stream, seq, sent_ns


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def send(a):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if a.sport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", a.sport))
    dst = addr(a.dst)
    period = 1.0 / a.pps
    start = time.monotonic()
    end = start + a.seconds
    seq = 0
    errors = 0
    pad = b"\0" * max(0, a.size - struct.calcsize(FMT))
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) / period) + 1
        while seq < due:
            msg = struct.pack(FMT, MAGIC, a.stream, seq, time.time_ns()) + pad
            try:
                sock.sendto(msg, dst)
            except OSError:
                errors += 1
            seq += 1
        nxt = start + seq * period
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"sent": seq, "send_errors": errors}))


def recv(a):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(addr(a.bind))
    sock.settimeout(0.05)
    t_end = time.monotonic() + a.seconds
    seen = set()
    received = dup = reordered = 0
    max_seq = -1
    first_ns = last_ns = None
    gaps = []  # (gap_ns, start_ns, seq_before, seq_after)
    listed = []
    last_seq = None
    last_mono = None
    while True:
        now = time.monotonic()
        if now >= t_end:
            break
        if last_mono is not None and now - last_mono > a.idle:
            break
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        t = time.time_ns()
        if len(data) < struct.calcsize(FMT):
            continue
        magic, stream, seq, _sent = struct.unpack_from(FMT, data)
        if magic != MAGIC or stream != a.stream:
            continue
        last_mono = time.monotonic()
        received += 1
        if seq in seen:
            dup += 1
            continue
        seen.add(seq)
        if seq < max_seq:
            reordered += 1
        max_seq = max(max_seq, seq)
        if first_ns is None:
            first_ns = t
        else:
            gaps.append((t - last_ns, last_ns, last_seq, seq))
            if t - last_ns >= a.list_ms * 1e6 and len(listed) < 10000:
                listed.append([last_ns, t - last_ns])
        last_ns = t
        last_seq = seq
    gaps.sort(reverse=True)
    top = gaps[:2] + [(0, 0, 0, 0)] * (2 - len(gaps[:2]))
    unique = len(seen)
    out = {
        "received": received,
        "unique": unique,
        "lost": (max_seq + 1 - unique) if max_seq >= 0 else 0,
        "duplicated": dup,
        "reordered": reordered,
        "first_ns": first_ns,
        "last_ns": last_ns,
        "max_gap_ms": top[0][0] / 1e6,
        "max_gap_start_ns": top[0][1],
        "max_gap_seqs": [top[0][2], top[0][3]],
        "second_gap_ms": top[1][0] / 1e6,
        "gaps": listed,
    }
    print(json.dumps(out))


def gap_at(a):
    d = json.load(open(a.file))
    t = int(a.t_ns)
    t2 = int(a.t2_ns) if a.t2_ns is not None else t
    over = [length for start, length in d.get("gaps", []) if start <= t2 and t <= start + length]
    print("%.1f" % (max(over) / 1e6) if over else "-")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--dst", required=True)
    s.add_argument("--sport", type=int, default=0)
    s.add_argument("--pps", type=float, default=1000)
    s.add_argument("--seconds", type=float, default=10)
    s.add_argument("--size", type=int, default=64)
    s.add_argument("--stream", type=int, default=1)
    r = sub.add_parser("recv")
    r.add_argument("--bind", required=True)
    r.add_argument("--seconds", type=float, default=10)
    r.add_argument("--idle", type=float, default=1e9)
    r.add_argument("--stream", type=int, default=1)
    r.add_argument("--list-ms", type=float, default=2)
    g = sub.add_parser("gap-at")
    g.add_argument("file")
    g.add_argument("t_ns")
    g.add_argument("t2_ns", nargs="?")
    a = p.parse_args()
    if a.cmd == "send":
        send(a)
    elif a.cmd == "recv":
        recv(a)
    else:
        gap_at(a)


if __name__ == "__main__":
    sys.exit(main())
