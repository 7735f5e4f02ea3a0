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
//! - [`bytes`]: panic-free big-endian field readers and writers for the views.
//! - [`PcapWriter`] / [`PcapReader`]: classic pcap files, to look at frames with Wireshark.
//!
//! Each `*Repr::parse` decodes through its view, so there is a single decoder per format.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bytes;
mod error;
mod ethernet;
mod frame;
mod lacpdu;
mod marker;
mod pcap;
mod tlv;

pub use error::WireError;
pub use ethernet::EthernetFrame;
pub use frame::{
    ETH_HEADER_LEN, ETHERTYPE_SLOW_PROTOCOLS, MIN_FRAME_LEN, SUBTYPE_LACP, SUBTYPE_MARKER,
    SlowFrame, SlowPdu,
};
pub use lacpdu::{LACPDU_LEN, LacpInfo, LacpTlv, LacpTlvs, LacpduPacket, LacpduRepr};
pub use marker::{MARKER_PDU_LEN, MarkerKind, MarkerPacket, MarkerRepr};
pub use pcap::{
    LINKTYPE_ETHERNET, PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS, PCAP_SNAPLEN, PcapReader, PcapWriter,
    TsResolution,
};
pub use tlv::{Tlv, TlvError, TlvLayout, Tlvs};
