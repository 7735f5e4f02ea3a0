//! The BFD Control packet (RFC 5880 §4.1), mandatory section; the optional Authentication
//! Section is recognised (the A bit) and refused, since lagd runs no BFD authentication.
//!
//! ```text
//!  0 Vers(3) Diag(5) | 1 Sta(2) P F C A D M | 2 Detect Mult | 3 Length
//!  4 My Discriminator
//!  8 Your Discriminator
//! 12 Desired Min TX Interval       (microseconds)
//! 16 Required Min RX Interval      (microseconds)
//! 20 Required Min Echo RX Interval (microseconds)
//! ```
//!
//! [`BfdPacket`] is the zero-copy view, [`BfdRepr`] the parsed form, decoded through the view.

use crate::bytes::{put_u8, put_u32, u8_at, u32_at};
use crate::{BfdWireError, Diag, SessionState};
use serde::{Deserialize, Serialize};

/// Length of a BFD Control packet without authentication.
pub const BFD_CONTROL_LEN: usize = 24;
/// The only protocol version (RFC 5880 §4.1).
pub const BFD_VERSION: u8 = 1;

/// Octet offsets of the fields.
mod field {
    pub const VERS_DIAG: usize = 0;
    pub const STA_FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: usize = 4;
    pub const YOUR_DISCR: usize = 8;
    pub const DESIRED_MIN_TX: usize = 12;
    pub const REQUIRED_MIN_RX: usize = 16;
    pub const REQUIRED_MIN_ECHO_RX: usize = 20;
    pub const AUTH_TYPE: usize = 24;
    pub const AUTH_LEN: usize = 25;
}

/// The flag bits of the second octet.
mod flag {
    pub const POLL: u8 = 0x20;
    pub const FINAL: u8 = 0x10;
    pub const CONTROL_PLANE_INDEPENDENT: u8 = 0x08;
    pub const AUTH_PRESENT: u8 = 0x04;
    pub const DEMAND: u8 = 0x02;
    pub const MULTIPOINT: u8 = 0x01;
}

/// A zero-copy view of a BFD Control packet (the UDP payload).
///
/// [`new_checked`](Self::new_checked) only checks that the 24 mandatory octets are present;
/// [`BfdRepr::parse`] applies the reception checks of §6.8.6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> BfdPacket<T> {
    /// Wraps `buffer` after checking it holds at least [`BFD_CONTROL_LEN`] octets.
    pub fn new_checked(buffer: T) -> Result<Self, BfdWireError> {
        let have = buffer.as_ref().len();
        if have < BFD_CONTROL_LEN {
            return Err(BfdWireError::Truncated {
                need: BFD_CONTROL_LEN,
                have,
            });
        }
        Ok(BfdPacket { buffer })
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    fn flags(&self) -> u8 {
        u8_at(self.b(), field::STA_FLAGS)
    }

    /// Version (Vers).
    pub fn version(&self) -> u8 {
        u8_at(self.b(), field::VERS_DIAG) >> 5
    }
    /// Diagnostic (Diag).
    pub fn diag(&self) -> Diag {
        Diag::from_code(u8_at(self.b(), field::VERS_DIAG))
    }
    /// State (Sta).
    pub fn state(&self) -> SessionState {
        SessionState::from_bits(self.flags() >> 6)
    }
    /// Poll (P).
    pub fn poll(&self) -> bool {
        self.flags() & flag::POLL != 0
    }
    /// Final (F).
    pub fn final_bit(&self) -> bool {
        self.flags() & flag::FINAL != 0
    }
    /// Control Plane Independent (C).
    pub fn control_plane_independent(&self) -> bool {
        self.flags() & flag::CONTROL_PLANE_INDEPENDENT != 0
    }
    /// Authentication Present (A).
    pub fn auth_present(&self) -> bool {
        self.flags() & flag::AUTH_PRESENT != 0
    }
    /// Demand (D).
    pub fn demand(&self) -> bool {
        self.flags() & flag::DEMAND != 0
    }
    /// Multipoint (M).
    pub fn multipoint(&self) -> bool {
        self.flags() & flag::MULTIPOINT != 0
    }
    /// Detect Mult.
    pub fn detect_mult(&self) -> u8 {
        u8_at(self.b(), field::DETECT_MULT)
    }
    /// Length, in octets.
    pub fn length(&self) -> u8 {
        u8_at(self.b(), field::LENGTH)
    }
    /// My Discriminator.
    pub fn my_discriminator(&self) -> u32 {
        u32_at(self.b(), field::MY_DISCR)
    }
    /// Your Discriminator.
    pub fn your_discriminator(&self) -> u32 {
        u32_at(self.b(), field::YOUR_DISCR)
    }
    /// Desired Min TX Interval, in microseconds.
    pub fn desired_min_tx_interval(&self) -> u32 {
        u32_at(self.b(), field::DESIRED_MIN_TX)
    }
    /// Required Min RX Interval, in microseconds.
    pub fn required_min_rx_interval(&self) -> u32 {
        u32_at(self.b(), field::REQUIRED_MIN_RX)
    }
    /// Required Min Echo RX Interval, in microseconds.
    pub fn required_min_echo_rx_interval(&self) -> u32 {
        u32_at(self.b(), field::REQUIRED_MIN_ECHO_RX)
    }
    /// Auth Type of the Authentication Section (0 when absent from the buffer).
    pub fn auth_type(&self) -> u8 {
        u8_at(self.b(), field::AUTH_TYPE)
    }
    /// Auth Len of the Authentication Section (0 when absent from the buffer).
    pub fn auth_len(&self) -> u8 {
        u8_at(self.b(), field::AUTH_LEN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> BfdPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    fn set_flag(&mut self, bit: u8, on: bool) {
        let f = u8_at(self.bm(), field::STA_FLAGS);
        put_u8(
            self.bm(),
            field::STA_FLAGS,
            if on { f | bit } else { f & !bit },
        );
    }
    /// Sets Vers and Diag.
    pub fn set_version_diag(&mut self, version: u8, diag: Diag) {
        put_u8(self.bm(), field::VERS_DIAG, (version << 5) | diag.code());
    }
    /// Sets Sta, keeping the flags.
    pub fn set_state(&mut self, s: SessionState) {
        let f = u8_at(self.bm(), field::STA_FLAGS) & 0x3f;
        put_u8(self.bm(), field::STA_FLAGS, (s.bits() << 6) | f);
    }
    /// Sets P.
    pub fn set_poll(&mut self, v: bool) {
        self.set_flag(flag::POLL, v)
    }
    /// Sets F.
    pub fn set_final_bit(&mut self, v: bool) {
        self.set_flag(flag::FINAL, v)
    }
    /// Sets C.
    pub fn set_control_plane_independent(&mut self, v: bool) {
        self.set_flag(flag::CONTROL_PLANE_INDEPENDENT, v)
    }
    /// Sets A.
    pub fn set_auth_present(&mut self, v: bool) {
        self.set_flag(flag::AUTH_PRESENT, v)
    }
    /// Sets D.
    pub fn set_demand(&mut self, v: bool) {
        self.set_flag(flag::DEMAND, v)
    }
    /// Sets M.
    pub fn set_multipoint(&mut self, v: bool) {
        self.set_flag(flag::MULTIPOINT, v)
    }
    /// Sets Detect Mult.
    pub fn set_detect_mult(&mut self, v: u8) {
        put_u8(self.bm(), field::DETECT_MULT, v)
    }
    /// Sets Length.
    pub fn set_length(&mut self, v: u8) {
        put_u8(self.bm(), field::LENGTH, v)
    }
    /// Sets My Discriminator.
    pub fn set_my_discriminator(&mut self, v: u32) {
        put_u32(self.bm(), field::MY_DISCR, v)
    }
    /// Sets Your Discriminator.
    pub fn set_your_discriminator(&mut self, v: u32) {
        put_u32(self.bm(), field::YOUR_DISCR, v)
    }
    /// Sets Desired Min TX Interval (microseconds).
    pub fn set_desired_min_tx_interval(&mut self, v: u32) {
        put_u32(self.bm(), field::DESIRED_MIN_TX, v)
    }
    /// Sets Required Min RX Interval (microseconds).
    pub fn set_required_min_rx_interval(&mut self, v: u32) {
        put_u32(self.bm(), field::REQUIRED_MIN_RX, v)
    }
    /// Sets Required Min Echo RX Interval (microseconds).
    pub fn set_required_min_echo_rx_interval(&mut self, v: u32) {
        put_u32(self.bm(), field::REQUIRED_MIN_ECHO_RX, v)
    }
}

/// A parsed BFD Control packet (version 1, no authentication, Multipoint clear).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BfdRepr {
    /// Diag.
    pub diag: Diag,
    /// Sta.
    pub state: SessionState,
    /// Poll (P).
    pub poll: bool,
    /// Final (F).
    pub final_bit: bool,
    /// Control Plane Independent (C).
    pub control_plane_independent: bool,
    /// Demand (D).
    pub demand: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_discriminator: u32,
    /// Your Discriminator.
    pub your_discriminator: u32,
    /// Desired Min TX Interval, microseconds.
    pub desired_min_tx_interval: u32,
    /// Required Min RX Interval, microseconds.
    pub required_min_rx_interval: u32,
    /// Required Min Echo RX Interval, microseconds (lagd sends 0: no Echo function).
    pub required_min_echo_rx_interval: u32,
}

impl BfdRepr {
    /// Parses a BFD Control packet: `payload` is the whole UDP payload. Applies the checks
    /// of RFC 5880 §6.8.6 that need only the packet: version 1, Length at least 24 and within
    /// the payload, Detect Mult non-zero, Multipoint clear, My Discriminator non-zero, and (as
    /// lagd runs no authentication) the A bit clear. Octets past Length are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, BfdWireError> {
        let p = BfdPacket::new_checked(payload)?;
        if p.version() != BFD_VERSION {
            return Err(BfdWireError::BadVersion(p.version()));
        }
        let length = p.length();
        let min = if p.auth_present() {
            BFD_CONTROL_LEN + 2
        } else {
            BFD_CONTROL_LEN
        };
        if usize::from(length) < min || usize::from(length) > payload.len() {
            return Err(BfdWireError::BadLength {
                length,
                payload: payload.len(),
            });
        }
        if p.detect_mult() == 0 {
            return Err(BfdWireError::ZeroDetectMult);
        }
        if p.multipoint() {
            return Err(BfdWireError::Multipoint);
        }
        if p.my_discriminator() == 0 {
            return Err(BfdWireError::ZeroMyDiscriminator);
        }
        if p.auth_present() {
            return Err(BfdWireError::AuthenticationPresent);
        }
        Ok(BfdRepr {
            diag: p.diag(),
            state: p.state(),
            poll: p.poll(),
            final_bit: p.final_bit(),
            control_plane_independent: p.control_plane_independent(),
            demand: p.demand(),
            detect_mult: p.detect_mult(),
            my_discriminator: p.my_discriminator(),
            your_discriminator: p.your_discriminator(),
            desired_min_tx_interval: p.desired_min_tx_interval(),
            required_min_rx_interval: p.required_min_rx_interval(),
            required_min_echo_rx_interval: p.required_min_echo_rx_interval(),
        })
    }

    /// Length this packet occupies when emitted.
    pub const fn buffer_len(&self) -> usize {
        BFD_CONTROL_LEN
    }

    /// Writes the packet; returns the bytes written ([`BFD_CONTROL_LEN`]).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BfdWireError> {
        let have = buf.len();
        let b = buf
            .get_mut(..BFD_CONTROL_LEN)
            .ok_or(BfdWireError::BufferTooSmall {
                need: BFD_CONTROL_LEN,
                have,
            })?;
        b.fill(0);
        let mut p = BfdPacket::new_checked(b)?;
        p.set_version_diag(BFD_VERSION, self.diag);
        p.set_state(self.state);
        p.set_poll(self.poll);
        p.set_final_bit(self.final_bit);
        p.set_control_plane_independent(self.control_plane_independent);
        p.set_demand(self.demand);
        p.set_detect_mult(self.detect_mult);
        p.set_length(BFD_CONTROL_LEN as u8);
        p.set_my_discriminator(self.my_discriminator);
        p.set_your_discriminator(self.your_discriminator);
        p.set_desired_min_tx_interval(self.desired_min_tx_interval);
        p.set_required_min_rx_interval(self.required_min_rx_interval);
        p.set_required_min_echo_rx_interval(self.required_min_echo_rx_interval);
        Ok(BFD_CONTROL_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BfdRepr {
        BfdRepr {
            diag: Diag::ControlDetectionTimeExpired,
            state: SessionState::Init,
            poll: true,
            final_bit: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: 3,
            my_discriminator: 0x0102_0304,
            your_discriminator: 0x0a0b_0c0d,
            desired_min_tx_interval: 50_000,
            required_min_rx_interval: 60_000,
            required_min_echo_rx_interval: 0,
        }
    }

    #[test]
    fn layout_matches_rfc_5880_figure() {
        let mut b = [0u8; 24];
        sample().emit(&mut b).unwrap();
        assert_eq!(
            b,
            [
                0x21, 0xa0, 3, 24, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0xc3, 0x50, 0, 0,
                0xea, 0x60, 0, 0, 0, 0
            ]
        );
        assert_eq!(BfdRepr::parse(&b).unwrap(), sample());
    }

    #[test]
    fn view_reads_and_writes_every_flag() {
        type Set = fn(&mut BfdPacket<Vec<u8>>, bool);
        type Get = fn(&BfdPacket<Vec<u8>>) -> bool;
        let mut p = BfdPacket::new_checked(vec![0u8; 26]).unwrap();
        let flags: [(Set, Get); 6] = [
            (BfdPacket::set_poll, BfdPacket::poll),
            (BfdPacket::set_final_bit, BfdPacket::final_bit),
            (
                BfdPacket::set_control_plane_independent,
                BfdPacket::control_plane_independent,
            ),
            (BfdPacket::set_auth_present, BfdPacket::auth_present),
            (BfdPacket::set_demand, BfdPacket::demand),
            (BfdPacket::set_multipoint, BfdPacket::multipoint),
        ];
        for (set, get) in flags {
            set(&mut p, true);
            assert!(get(&p));
            assert_eq!(p.flags().count_ones(), 1);
            set(&mut p, false);
            assert!(!get(&p));
        }
        p.set_state(SessionState::Up);
        p.set_poll(true);
        p.set_state(SessionState::Init);
        assert!(p.poll(), "setting Sta keeps the flags");
        assert_eq!(p.state(), SessionState::Init);
        assert_eq!(p.auth_type(), 0);
        assert_eq!(p.into_inner().len(), 26);
        assert!(BfdPacket::new_checked(&[0u8; 23][..]).is_err());
    }

    #[test]
    fn reception_checks_of_6_8_6() {
        let mut b = [0u8; 30];
        sample().emit(&mut b).unwrap();
        assert_eq!(
            BfdRepr::parse(&b).unwrap(),
            sample(),
            "octets past Length ignored"
        );
        let bad = |f: &dyn Fn(&mut [u8; 30])| {
            let mut c = b;
            f(&mut c);
            BfdRepr::parse(&c)
        };
        assert_eq!(bad(&|c| c[0] = 0x01), Err(BfdWireError::BadVersion(0)));
        assert_eq!(bad(&|c| c[0] = 0x41), Err(BfdWireError::BadVersion(2)));
        assert!(matches!(
            bad(&|c| c[3] = 23),
            Err(BfdWireError::BadLength { .. })
        ));
        assert!(matches!(
            bad(&|c| c[3] = 31),
            Err(BfdWireError::BadLength { .. })
        ));
        assert!(bad(&|c| c[3] = 30).is_ok());
        assert_eq!(bad(&|c| c[2] = 0), Err(BfdWireError::ZeroDetectMult));
        assert_eq!(bad(&|c| c[1] |= 1), Err(BfdWireError::Multipoint));
        assert_eq!(
            bad(&|c| c[4..8].fill(0)),
            Err(BfdWireError::ZeroMyDiscriminator)
        );
        assert_eq!(
            bad(&|c| c[1] |= 4),
            Err(BfdWireError::BadLength {
                length: 24,
                payload: 30
            })
        );
        assert_eq!(
            bad(&|c| {
                c[1] |= 4;
                c[3] = 26
            }),
            Err(BfdWireError::AuthenticationPresent)
        );
        assert!(matches!(
            BfdRepr::parse(&b[..20]),
            Err(BfdWireError::Truncated { need: 24, have: 20 })
        ));
        let mut short = [0u8; 10];
        assert!(matches!(
            sample().emit(&mut short),
            Err(BfdWireError::BufferTooSmall { need: 24, have: 10 })
        ));
    }
}
