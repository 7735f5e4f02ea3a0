//! Why a DT frame or PDU was refused.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A malformed or foreign DT frame. Each refusal is counted by the receiver and the frame is
/// dropped; nothing panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum DtWireError {
    /// The buffer ends before the structure does.
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes required.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// Not a DRCP frame (wrong EtherType).
    #[error("not a DT/DRCP frame (EtherType {0:#06x})")]
    NotDrcp(u16),
    /// A DRCP subtype other than 1.
    #[error("unknown DRCP subtype {0}")]
    UnknownSubtype(u8),
    /// A version other than lagd's DT dialect.
    #[error("unsupported DT version {0:#04x}")]
    UnknownVersion(u8),
    /// A TLV of a known type with a length that type cannot have.
    #[error("bad TLV at offset {offset}: type {tlv_type}, length {length}")]
    BadTlv {
        /// Offset of the TLV header within the PDU.
        offset: usize,
        /// The 6-bit TLV type.
        tlv_type: u8,
        /// The 10-bit TLV length (value octets).
        length: u16,
    },
    /// A TLV that may appear once appeared twice.
    #[error("duplicate TLV type {0}")]
    DuplicateTlv(u8),
    /// A mandatory TLV is missing.
    #[error("missing mandatory TLV type {0}")]
    MissingTlv(u8),
    /// A field value no sender may use.
    #[error("bad value {value} in TLV type {tlv_type}")]
    BadValue {
        /// The TLV type.
        tlv_type: u8,
        /// The value.
        value: u8,
    },
    /// The PDU does not fit the output buffer or the 10-bit TLV length.
    #[error("output too large: need {need} bytes, limit {limit}")]
    TooLarge {
        /// Bytes required.
        need: usize,
        /// The limit.
        limit: usize,
    },
}
