//! Why a frame or a BFD Control packet was refused.

use thiserror::Error;

/// Why a frame or packet was refused by the decoders (RFC 5880 §6.8.6 reception checks that
/// need nothing but the packet, and the RFC 7130 / RFC 5881 encapsulation checks). Each refusal
/// is counted in `ctrl_pkt_drop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BfdWireError {
    /// The buffer ends before the structure does.
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes required.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// The output buffer is too small to emit into.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// Version other than 1 (§6.8.6: discarded).
    #[error("BFD version {0}, only version 1 is spoken")]
    BadVersion(u8),
    /// The Length field is below the minimum (24, or 26 with authentication) or beyond the
    /// UDP payload (§6.8.6).
    #[error("BFD Length field {length} invalid for a payload of {payload} bytes")]
    BadLength {
        /// The Length field.
        length: u8,
        /// Octets the encapsulation carries.
        payload: usize,
    },
    /// Detect Mult is zero (§6.8.6).
    #[error("Detect Mult is zero")]
    ZeroDetectMult,
    /// The Multipoint (M) bit is set (§6.8.6).
    #[error("Multipoint bit set")]
    Multipoint,
    /// My Discriminator is zero (§6.8.6).
    #[error("My Discriminator is zero")]
    ZeroMyDiscriminator,
    /// The Authentication Present bit is set: lagd runs no BFD authentication, and §6.8.6
    /// discards such packets when bfd.AuthType is zero.
    #[error("authentication present, but lagd runs BFD without authentication")]
    AuthenticationPresent,
    /// Not an IPv4 frame (EtherType).
    #[error("not an IPv4 frame (EtherType {0:#06x})")]
    NotIpv4(u16),
    /// An IPv4 header that is not one (version, header length, total length, fragment).
    #[error("malformed IPv4 header: {0}")]
    BadIpv4(&'static str),
    /// The IPv4 header checksum does not verify.
    #[error("IPv4 header checksum wrong")]
    Ipv4Checksum,
    /// Not UDP.
    #[error("IP protocol {0}, not UDP")]
    NotUdp(u8),
    /// UDP length inconsistent with the IP packet.
    #[error("malformed UDP header: {0}")]
    BadUdp(&'static str),
    /// The UDP checksum does not verify.
    #[error("UDP checksum wrong")]
    UdpChecksum,
    /// UDP destination port other than 6784 (micro-BFD, RFC 7130 §2.2).
    #[error("UDP destination port {0}, not micro-BFD (6784)")]
    NotMicroBfd(u16),
    /// IP TTL other than 255 (RFC 5881 §5, required by RFC 7130 §2.2 without
    /// authentication).
    #[error("IP TTL {0}, micro-BFD requires 255")]
    Ttl(u8),
}
