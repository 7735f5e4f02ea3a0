#!/usr/bin/env python3
"""TCP over IPv6 with a destination-options extension header on every segment (iperf3 cannot
set one): the kernel adds the header (IPV6_DSTOPTS, a sticky option) to every packet of the
connection, GSO super-frames included.

  tcp6opt.py server ADDR PORT          accepts connections one after the other; for each,
                                       reads until EOF and answers with the byte count
  tcp6opt.py client ADDR PORT SECONDS  sends for SECONDS, prints "Gbit/s CPU-seconds bytes" (the
                                       server's count; the client's own CPU time)
"""
import resource
import socket
import sys
import time

IPV6_DSTOPTS = 59
# An 8-byte destination options header: next header and length are filled by the kernel
# (length 0 = 8 bytes), then a PadN option of 4 bytes.
DSTOPTS = bytes([0, 0, 1, 4, 0, 0, 0, 0])


def server(addr, port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4)
    buf = bytearray(1 << 20)
    while True:
        c, _ = s.accept()
        n = 0
        while True:
            k = c.recv_into(buf)
            if k == 0:
                break
            n += k
        c.sendall(b"%d\n" % n)
        c.close()


def client(addr, port, seconds):
    c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    c.setsockopt(socket.IPPROTO_IPV6, IPV6_DSTOPTS, DSTOPTS)
    c.connect((addr, port))
    data = b"\x5a" * (1 << 20)
    t0 = time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    n = int(c.makefile().readline())
    dt = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print("%.3f %.3f %d" % (n * 8 / dt / 1e9, ru.ru_utime + ru.ru_stime, n))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
