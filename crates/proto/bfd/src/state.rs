//! The session states and diagnostic codes of RFC 5880 §4.1, each declared once.

use core::fmt;
use serde::{Deserialize, Serialize};

/// bfd.SessionState / bfd.RemoteSessionState (RFC 5880 §4.1 "State (Sta)", §6.2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum SessionState {
    /// 0: AdminDown: the session is held down by the administrator.
    AdminDown,
    /// 1: Down: the session is down or has just been created.
    #[default]
    Down,
    /// 2: Init: the remote system is communicating and we want to bring the session up.
    Init,
    /// 3: Up: the session is established.
    Up,
}

impl SessionState {
    /// The two-bit Sta value.
    pub const fn bits(self) -> u8 {
        match self {
            SessionState::AdminDown => 0,
            SessionState::Down => 1,
            SessionState::Init => 2,
            SessionState::Up => 3,
        }
    }
    /// The state of a two-bit Sta value (only the low two bits are read).
    pub const fn from_bits(v: u8) -> SessionState {
        match v & 3 {
            0 => SessionState::AdminDown,
            1 => SessionState::Down,
            2 => SessionState::Init,
            _ => SessionState::Up,
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionState::AdminDown => "AdminDown",
            SessionState::Down => "Down",
            SessionState::Init => "Init",
            SessionState::Up => "Up",
        })
    }
}

/// bfd.LocalDiag: the Diagnostic code (RFC 5880 §4.1 "Diagnostic (Diag)"), the reason for the
/// last change of the session state. Codes lagd does not know are kept as `Other`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Diag {
    /// 0 No Diagnostic.
    #[default]
    NoDiagnostic,
    /// 1 Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2 Echo Function Failed.
    EchoFunctionFailed,
    /// 3 Neighbor Signaled Session Down.
    NeighborSignaledSessionDown,
    /// 4 Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5 Path Down.
    PathDown,
    /// 6 Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7 Administratively Down.
    AdministrativelyDown,
    /// 8 Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// Any other value (9-31).
    Other(u8),
}

impl Diag {
    /// The five-bit code.
    pub const fn code(self) -> u8 {
        match self {
            Diag::NoDiagnostic => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledSessionDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Other(c) => c & 0x1f,
        }
    }
    /// The diagnostic of a five-bit code (only the low five bits are read).
    pub const fn from_code(c: u8) -> Diag {
        match c & 0x1f {
            0 => Diag::NoDiagnostic,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            c => Diag::Other(c),
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diag::NoDiagnostic => f.write_str("No Diagnostic"),
            Diag::ControlDetectionTimeExpired => f.write_str("Control Detection Time Expired"),
            Diag::EchoFunctionFailed => f.write_str("Echo Function Failed"),
            Diag::NeighborSignaledSessionDown => f.write_str("Neighbor Signaled Session Down"),
            Diag::ForwardingPlaneReset => f.write_str("Forwarding Plane Reset"),
            Diag::PathDown => f.write_str("Path Down"),
            Diag::ConcatenatedPathDown => f.write_str("Concatenated Path Down"),
            Diag::AdministrativelyDown => f.write_str("Administratively Down"),
            Diag::ReverseConcatenatedPathDown => f.write_str("Reverse Concatenated Path Down"),
            Diag::Other(c) => write!(f, "diagnostic {c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for v in 0..4 {
            assert_eq!(SessionState::from_bits(v).bits(), v);
        }
        assert_eq!(SessionState::from_bits(7), SessionState::Up);
        for c in 0..32 {
            assert_eq!(Diag::from_code(c).code(), c);
        }
        assert_eq!(Diag::from_code(0x27), Diag::AdministrativelyDown);
        assert_eq!(Diag::Other(0xff).code(), 0x1f);
        assert_eq!(Diag::from_code(9), Diag::Other(9));
        assert_eq!(SessionState::Init.to_string(), "Init");
        assert_eq!(Diag::PathDown.to_string(), "Path Down");
        assert_eq!(Diag::Other(12).to_string(), "diagnostic 12");
    }
}
