/* minfwd: the minimal reference design lagd's forwarder is compared against in the same run.
 *
 * One TAP (IFF_VNET_HDR, offloads CSUM/TSO4/TSO6/TSO_ECN) <-> one AF_PACKET socket
 * (PACKET_VNET_HDR, promiscuous, PACKET_IGNORE_OUTGOING) on a member interface, one thread per
 * direction, blocking I/O, one frame per read/send, the virtio-net header passed through
 * unchanged. No protocol, no counters. Benchmark tool only.
 *
 *   minfwd TAPNAME MEMBER   (in the namespace that holds MEMBER; creates TAPNAME, sets it up)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (10 + 65550)
static int tap, pkt;

static void die(const char *what) { perror(what); exit(1); }

static void *tap_to_wire(void *arg) {
    (void)arg;
    static char buf[BUF];
    for (;;) {
        ssize_t n = read(tap, buf, sizeof buf);
        if (n <= 0) continue;
        if (send(pkt, buf, (size_t)n, 0) < 0) { /* drop */ }
    }
    return NULL;
}

static void *wire_to_tap(void *arg) {
    (void)arg;
    static char buf[BUF];
    for (;;) {
        ssize_t n = recv(pkt, buf, sizeof buf, 0);
        if (n <= 0) continue;
        if (write(tap, buf, (size_t)n) < 0) { /* drop */ }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: minfwd TAP MEMBER\n"); return 2; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tap < 0) die("open tun");
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
    if (ioctl(tap, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
    int hs = 10;
    if (ioctl(tap, TUNSETVNETHDRSZ, &hs) < 0) die("TUNSETVNETHDRSZ");
    if (ioctl(tap, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) < 0)
        die("TUNSETOFFLOAD");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("SIOCSIFFLAGS");
    close(s);

    unsigned idx = if_nametoindex(argv[2]);
    if (!idx) die("member");
    pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (pkt < 0) die("socket");
    int one = 1;
    if (setsockopt(pkt, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) die("VNET_HDR");
    setsockopt(pkt, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    int big = 16 << 20;
    setsockopt(pkt, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    setsockopt(pkt, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    struct sockaddr_ll sa;
    memset(&sa, 0, sizeof sa);
    sa.sll_family = AF_PACKET;
    sa.sll_protocol = htons(ETH_P_ALL);
    sa.sll_ifindex = (int)idx;
    if (bind(pkt, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = (int)idx;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(pkt, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) die("promisc");

    pthread_t a, b;
    pthread_create(&a, NULL, tap_to_wire, NULL);
    pthread_create(&b, NULL, wire_to_tap, NULL);
    pthread_join(a, NULL);
    return 0;
}
