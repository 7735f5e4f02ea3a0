//! Wire formats of IEEE 802.1AX link aggregation, in the style of smoltcp's `wire` module: a
//! parsed representation (`*Repr`) with `parse` and `emit`, beside zero-copy views.
//!
//! Every decoder returns a typed [`WireError`] on malformed input and never panics.
//!
//! - [`SlowFrame`] / [`SlowPdu`]: a whole slow-protocols Ethernet frame, over the
//!   [`EthernetFrame`] view.
//! - [`LacpduRepr`] over the [`LacpduPacket`] view (LACPDU, §6.4.2), versions 1 and 2.
//! - [`MarkerRepr`] over the [`MarkerPacket`] view (Marker PDU, §6.5.3).
//! - [`Tlvs`]: the TLV walk shared by every TLV-based PDU (LACPDU, lagd's DT PDU), over a
//!   [`TlvLayout`].
//! - [`ArpRepr`] over the [`ArpPacket`] view, [`ArpFrame`] (with [`L2Header`], one optional
//!   802.1Q tag) and [`NdRepr`] / [`NdFrame`] (IPv6 Neighbor Solicitation and Advertisement):
//!   what switch-independent load balancing reads and writes.
//! - [`bytes`]: panic-free big-endian field readers and writers for the views.
//! - [`PcapWriter`] / [`PcapReader`]: classic pcap files, to look at frames with Wireshark.
//!
//! Each `*Repr::parse` decodes through its view, so there is a single decoder per format.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod arp;
pub mod bytes;
mod error;
mod ethernet;
mod frame;
mod lacpdu;
mod marker;
mod ndisc;
mod pcap;
mod tlv;

pub use arp::{
    ARP_LEN, ArpFrame, ArpOp, ArpPacket, ArpRepr, ETHERTYPE_ARP, ETHERTYPE_VLAN, L2Header,
    rewrite_arp_sender,
};
pub use error::WireError;
pub use ethernet::EthernetFrame;
pub use frame::{
    ETH_HEADER_LEN, ETHERTYPE_SLOW_PROTOCOLS, MIN_FRAME_LEN, SUBTYPE_LACP, SUBTYPE_MARKER,
    SlowFrame, SlowPdu,
};
pub use lacpdu::{
    LACPDU_LEN, LacpInfo, LacpTlv, LacpTlvLayout, LacpTlvs, LacpduPacket, LacpduRepr,
};
pub use marker::{MARKER_PDU_LEN, MarkerKind, MarkerPacket, MarkerRepr};
pub use ndisc::{ALL_NODES, ETHERTYPE_IPV6, NdFrame, NdMessage, NdRepr, multicast_mac};
pub use pcap::{
    LINKTYPE_ETHERNET, PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS, PCAP_SNAPLEN, PcapReader, PcapWriter,
    TsResolution,
};
pub use tlv::{Tlv, TlvError, TlvLayout, Tlvs};
