//! Pinning and adopting the kernel fast path (hitless restart): programs, maps and links
//! pinned in a private bpffs keep forwarding while their owner is gone; a new owner adopts
//! them (the same maps, the program replaced atomically); unpinned and dropped, they are gone.
//! Both attach modes. Needs root (skipped otherwise).

use std::time::Duration;

use lagd_dataplane::attach::{AttachMode, force_mode};
use lagd_dataplane::netns::{TestNet, enter};
use lagd_dataplane::rx_offload::RxOffload;
use lagd_dataplane::tx_offload::{TxMode, TxOffload};

fn ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).unwrap();
    // SAFETY: a valid C string.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

/// Sends `n` Ethernet frames on `dev` with a packet socket (through its egress hook).
fn send(dev: &str, n: usize) {
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    assert!(fd >= 0);
    // SAFETY: sockaddr_ll is plain data.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_ifindex = ifindex(dev) as i32;
    // SAFETY: `sa` is valid for its length.
    let r = unsafe {
        libc::bind(
            fd,
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    assert_eq!(r, 0);
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5];
    f.extend_from_slice(&[0x5a; 50]);
    for _ in 0..n {
        // SAFETY: the frame lives for the call.
        unsafe { libc::send(fd, f.as_ptr().cast(), f.len(), 0) };
    }
    // SAFETY: our descriptor.
    unsafe { libc::close(fd) };
}

/// `tx_packets` of `dev` (in the calling thread's namespace).
fn tx_packets(dev: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let (name, rest) = l.split_once(':')?;
            (name.trim() == dev).then(|| rest.split_whitespace().nth(9)?.parse().ok())?
        })
        .unwrap_or(0)
}

fn pin_and_adopt(mode: AttachMode) {
    if !lagd_dataplane::netns::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mut net = TestNet::new();
    let ns = net.netns("pin").unwrap();
    // "agg": the aggregate the TX program sits on; "mem": the member it redirects to.
    let (agg, agg_peer) = net.veth("pa", Some(&ns), Some(&ns)).unwrap();
    let (mem, mem_peer) = net.veth("pm", Some(&ns), Some(&ns)).unwrap();
    // No IPv6 in the namespace: the kernel sends no frame of its own (router solicitations,
    // MLD reports) through the program, so its counters count only the test's frames.
    for conf in ["all", "default"] {
        let path = format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6");
        net.exec(&ns, &["sh", "-c", &format!("echo 1 > {path}")])
            .unwrap();
    }
    for d in [&agg, &agg_peer, &mem, &mem_peer] {
        net.exec(&ns, &["ip", "link", "set", d, "up"]).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("lagd-pin-{}-{}", std::process::id(), mode));
    let work = move || {
        enter(&ns).unwrap();
        force_mode(Some(mode));
        let fs = dir.join("fs");
        lagd_dataplane::pin::mount_bpffs(&fs).unwrap();
        assert!(lagd_dataplane::pin::is_bpffs(&fs));
        let pins = fs.join("lagd").join("aggr");
        let (agg_if, mem_if) = (ifindex(&agg), ifindex(&mem));

        // A fast path: every frame (active-backup) to the member; a receive program on it.
        let mut tx = TxOffload::new(TxMode::Single, 256).unwrap();
        assert_eq!(tx.attach(agg_if).unwrap(), mode);
        tx.set_bucket(0, mem_if);
        let mut rx = RxOffload::attach(mem_if).unwrap();
        rx.set_collecting(Some(agg_if)).unwrap();
        let base = tx_packets(&mem);
        send(&agg, 10);
        assert_eq!(tx.counts(0).1, 10);
        assert!(tx_packets(&mem) >= base + 10, "redirected to the member");

        // Pinned, and the owner gone: the kernel path goes on.
        tx.pin(&pins.join("tx")).unwrap();
        rx.pin(&pins.join("rx").join(&mem)).unwrap();
        tx.leave_attached();
        rx.leave_attached();
        let base = tx_packets(&mem);
        send(&agg, 20);
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            tx_packets(&mem) >= base + 20,
            "{mode}: no owner, still redirected"
        );

        // Adopted: the same maps (table, counters, Collecting state), a new program.
        let tx = TxOffload::adopt(&pins.join("tx"), TxMode::Single, 256, agg_if).unwrap();
        assert_eq!(tx.attach_mode(), Some(mode));
        assert_eq!(tx.bucket(0), mem_if, "the table survived");
        assert_eq!(tx.counts(0).1, 30, "the counters survived");
        let rx = RxOffload::adopt(&pins.join("rx").join(&mem), mem_if).unwrap();
        assert!(rx.is_collecting(), "the Collecting state survived");
        send(&agg, 5);
        assert_eq!(tx.counts(0).1, 35, "the adopted program runs");
        // Another mode's program does not adopt these maps.
        assert!(TxOffload::adopt(&pins.join("tx"), TxMode::RoundRobin, 256, agg_if).is_err());

        // Unpinned and dropped: detached.
        TxOffload::unpin(&pins.join("tx"));
        RxOffload::unpin(&pins.join("rx").join(&mem));
        drop(tx);
        drop(rx);
        let base = tx_packets(&mem);
        send(&agg, 10);
        std::thread::sleep(Duration::from_millis(50));
        assert!(tx_packets(&mem) < base + 10, "{mode}: detached");
        // SAFETY: a valid C string; unmounting our own mount.
        let c = std::ffi::CString::new(fs.as_os_str().as_encoded_bytes()).unwrap();
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        let _ = std::fs::remove_dir_all(&dir);
    };
    std::thread::spawn(work).join().unwrap();
}

/// (One test: the forced attach mode is process-wide.)
#[test]
fn pinned_fast_path_outlives_its_owner_and_is_adopted() {
    pin_and_adopt(AttachMode::Tcx);
    pin_and_adopt(AttachMode::Clsact);
}
