use thiserror::Error;

/// Why a frame or PDU was refused. Each variant maps to one counter in the MIB view
/// (`illegal rx` for malformed PDUs, `unknown rx` for unknown subtypes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    /// The buffer ends before the structure does.
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes required.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// Not a slow-protocols frame (wrong EtherType).
    #[error("not a slow-protocols frame (EtherType {0:#06x})")]
    NotSlowProtocols(u16),
    /// A slow-protocols subtype other than LACP (1) or Marker (2).
    #[error("unknown slow-protocols subtype {0}")]
    UnknownSubtype(u8),
    /// A TLV whose type or length is not what the PDU requires.
    #[error("bad TLV at offset {offset}: type {tlv_type}, length {length}")]
    BadTlv {
        /// Offset of the TLV within the PDU.
        offset: usize,
        /// Its type octet.
        tlv_type: u8,
        /// Its length octet.
        length: u8,
    },
    /// Not an Ethernet/IPv4 ARP request or reply.
    #[error("not an Ethernet/IPv4 ARP request or reply")]
    NotArp,
    /// Not an IPv6 Neighbor Solicitation or Advertisement (or one that fails its checks).
    #[error("not an IPv6 neighbour solicitation or advertisement")]
    NotNdisc,
    /// The output buffer is too small to emit into.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes available.
        have: usize,
    },
}
