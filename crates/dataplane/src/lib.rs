//! Linux data plane of lagd: the aggregate is a TAP device the host IP stack uses, each member a
//! real interface read and written through an `AF_PACKET` socket, and a [`Forwarder`] moves the
//! frames between them (two threads, epoll, batched system calls, virtio-net headers passed
//! through so GSO super-frames travel end to end unsegmented).
//!
//! The protocol side (LACP, Marker, distribution) is reached only through the [`Protocol`]
//! trait, so this crate depends on no protocol core (only on `lagd-wire`'s constants, such as
//! the Slow Protocols EtherType its filters test). rtnetlink is one hand-written client,
//! [`Netlink`] (links, addresses, neighbours in `netlink`, bridge ports and FDB in `bridge`,
//! `clsact` filters in `tc`). `unsafe` code is confined to the modules
//! that make system calls (`tap`, `packet`, `epoll`, `netlink`, `member`'s ethtool call,
//! `netns`'s `setns`, `process`'s `kill` and `sched_setscheduler`, `bfd_socket`, `clock`, `bpf`,
//! `durable`'s `flock`, `departure`'s `sendmsg`/`recvmsg`); each block carries a `// SAFETY:`
//! comment.
#![warn(missing_docs)]

pub mod attach;
mod bfd_socket;
pub mod bpf;
pub mod bridge;
mod clock;
mod departure;
pub mod durable;
pub mod egress_filter;
pub mod eligibility;
mod epoll;
mod error;
mod forwarder;
pub mod ingress_filter;
mod member;
mod member_original;
pub mod netlink;
pub mod netns;
mod packet;
pub mod pin;
pub mod process;
pub mod rps;
pub mod rx_offload;
pub mod sysctl;
mod tap;
pub mod tc;
pub mod tx_offload;
mod tx_program;
mod vnet;

pub use bfd_socket::BfdSocket;
pub use clock::monotonic_now;
pub use epoll::{Epoll, Event, EventFd, Events, Interest};
pub use error::{Error, Result, check_ifname};
pub use forwarder::{
    DropStats, Fault, Forwarder, ForwarderHealth, ForwarderStats, ForwarderThread, IfStats,
    POOL_SLOTS, Protocol, RX_IDLE_WAKE, Slot, ThreadHealth, TxDecision, TxWaker, beat_and_check,
};
pub use member::{LinkSpeed, Member, TakeOverOptions, gro_hold, link_speed};
pub use member_original::MemberOriginal;
pub use netlink::{IfAddr, LinkEvent, LinkInfo, LinkMonitor, Neighbour, Netlink, OperState};
pub use packet::{MAX_BATCH, MAX_FRAME, PacketOptions, PacketSocket, RecvBatch, RecvFrame};
pub use tap::Tap;
pub use vnet::{VNET_HDR_LEN, VnetHdr, with_plain_header};
