//! Authentication of DT frames with a shared key: HMAC-SHA-256 (RFC 2104 over FIPS 180-4, the
//! RustCrypto `hmac` and `sha2` crates) carried in the Authentication TLV, the last TLV before
//! the Terminator. The ICV covers the whole frame from the destination address up to and
//! including the key id: addresses, EtherType, every TLV (the Sequence TLV's epoch and frame
//! number among them, which is what makes a replay detectable), the algorithm and the key id.
//! Ethernet padding after the Terminator is not covered, and is ignored by the parser.
//!
//! The key id is the first four octets of SHA-256("lagd-dt key id" || key): a receiver tells
//! "the peer uses another key" (a configuration error, reported with both ids) from a forgery,
//! and reveals nothing an attacker could not already test offline against a captured ICV.

use crate::pdu::{AUTH_LEN, AuthInfo, DtPduPacket, ICV_LEN, tlv_type};
use core::fmt;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Ethernet header length (destination, source, EtherType).
const ETH_HEADER_LEN: usize = 14;
/// Octets of the Authentication TLV before the ICV: algorithm and key id.
const ICV_OFFSET: usize = AUTH_LEN - ICV_LEN;
/// Shortest key accepted: 16 octets (128 bits).
pub const MIN_KEY_LEN: usize = 16;
/// Longest key accepted (a key file holds one line).
pub const MAX_KEY_LEN: usize = 1024;

/// A shared DT key. Its `Debug` shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct DtKey {
    secret: Vec<u8>,
    id: u32,
}

impl fmt::Debug for DtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DtKey(id {:08x})", self.id)
    }
}

/// A key refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DtKeyError {
    /// Shorter than [`MIN_KEY_LEN`] or longer than [`MAX_KEY_LEN`].
    #[error("the DT key must have {MIN_KEY_LEN} to {MAX_KEY_LEN} octets, not {0}")]
    Length(usize),
}

impl DtKey {
    /// A key from its octets (16 to 1024 of them).
    pub fn new(secret: &[u8]) -> Result<DtKey, DtKeyError> {
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&secret.len()) {
            return Err(DtKeyError::Length(secret.len()));
        }
        let mut h = Sha256::new();
        h.update(b"lagd-dt key id");
        h.update(secret);
        let d = h.finalize();
        let id = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
        Ok(DtKey {
            secret: secret.to_vec(),
            id,
        })
    }

    /// The key id carried in every frame (not secret).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The HMAC of `covered` (`None` never happens: HMAC takes keys of any length).
    fn icv(&self, covered: &[u8]) -> Option<Hmac<Sha256>> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).ok()?;
        m.update(covered);
        Some(m)
    }
}

/// Why a frame failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum AuthError {
    /// A key is configured and the frame carries no Authentication TLV.
    #[error("no authentication (this switch has a key)")]
    Missing,
    /// No key is configured and the frame carries an Authentication TLV.
    #[error("authenticated frame, and this switch has no key")]
    Unexpected,
    /// An algorithm other than HMAC-SHA-256.
    #[error("unknown authentication algorithm {0}")]
    Algorithm(u8),
    /// Signed with another key.
    #[error("signed with key id {theirs:08x}, this switch's key id is {ours:08x}")]
    KeyId {
        /// The frame's key id.
        theirs: u32,
        /// Ours.
        ours: u32,
    },
    /// The ICV does not match: forged or altered.
    #[error("bad ICV (forged or altered)")]
    Icv,
}

/// Where the Authentication TLV's value starts in `frame`, if the frame has one.
fn auth_value_at(frame: &[u8]) -> Option<usize> {
    let body = frame.get(ETH_HEADER_LEN..)?;
    let pkt = DtPduPacket::new_checked(body).ok()?;
    pkt.tlvs()
        .map_while(Result::ok)
        .find(|t| t.tlv_type == tlv_type::AUTH && t.value.len() == AUTH_LEN)
        .map(|t| ETH_HEADER_LEN + t.offset + crate::tlv::TLV_HEADER_LEN)
}

/// Writes the ICV of `frame` (emitted with an Authentication TLV) under `key`. Returns whether
/// there was an Authentication TLV to sign.
pub fn sign(frame: &mut [u8], key: &DtKey) -> bool {
    let Some(at) = auth_value_at(frame) else {
        return false;
    };
    let covered = at + ICV_OFFSET;
    let Some(prefix) = frame.get(..covered) else {
        return false;
    };
    let Some(m) = key.icv(prefix) else {
        return false;
    };
    let tag = m.finalize().into_bytes();
    match frame.get_mut(covered..covered + ICV_LEN) {
        Some(out) => {
            out.copy_from_slice(&tag);
            true
        }
        None => false,
    }
}

/// Checks `frame` (which parsed, with Authentication `auth`) against `key` (`None`: no key
/// configured). The comparison of ICVs takes constant time.
pub fn verify(frame: &[u8], auth: Option<&AuthInfo>, key: Option<&DtKey>) -> Result<(), AuthError> {
    let (a, k) = match (auth, key) {
        (None, None) => return Ok(()),
        (None, Some(_)) => return Err(AuthError::Missing),
        (Some(_), None) => return Err(AuthError::Unexpected),
        (Some(a), Some(k)) => (a, k),
    };
    if a.algorithm != AuthInfo::HMAC_SHA256 {
        return Err(AuthError::Algorithm(a.algorithm));
    }
    if a.key_id != k.id {
        return Err(AuthError::KeyId {
            theirs: a.key_id,
            ours: k.id,
        });
    }
    let at = auth_value_at(frame).ok_or(AuthError::Missing)?;
    let covered = frame.get(..at + ICV_OFFSET).ok_or(AuthError::Icv)?;
    k.icv(covered)
        .ok_or(AuthError::Icv)?
        .verify_slice(&a.icv)
        .map_err(|_| AuthError::Icv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DT_GROUP_ADDR, DtFrame, DtPduRepr};
    use lagd_types::MacAddr;

    fn frame(key: &DtKey) -> Vec<u8> {
        let f = DtFrame {
            dst: DT_GROUP_ADDR,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            pdu: DtPduRepr {
                auth: Some(AuthInfo {
                    algorithm: AuthInfo::HMAC_SHA256,
                    key_id: key.id(),
                    icv: [0; ICV_LEN],
                }),
                ..DtPduRepr::default()
            },
        };
        let mut v = f.to_vec().unwrap();
        assert!(sign(&mut v, key));
        v
    }

    fn check(v: &[u8], key: Option<&DtKey>) -> Result<(), AuthError> {
        let f = DtFrame::parse(v).unwrap();
        verify(v, f.pdu.auth.as_ref(), key)
    }

    #[test]
    fn signs_verifies_and_refuses_every_alteration() {
        let k = DtKey::new(b"0123456789abcdef-shared").unwrap();
        let other = DtKey::new(b"0123456789abcdef-other!").unwrap();
        assert_ne!(k.id(), other.id());
        assert!(!format!("{k:?}").contains("0123"), "Debug hides the secret");
        assert_eq!(format!("{k:?}"), format!("DtKey(id {:08x})", k.id()));
        let v = frame(&k);
        assert_eq!(check(&v, Some(&k)), Ok(()));
        assert_eq!(
            check(&v, Some(&other)),
            Err(AuthError::KeyId {
                theirs: k.id(),
                ours: other.id()
            })
        );
        assert_eq!(check(&v, None), Err(AuthError::Unexpected));
        // Every covered octet matters; the padding does not.
        let end = v.len() - 2;
        let padded = {
            let mut p = v.clone();
            p.extend_from_slice(&[0xee; 8]);
            p
        };
        assert_eq!(check(&padded, Some(&k)), Ok(()));
        for i in (0..end).filter(|i| !(12..14).contains(i)) {
            let mut b = v.clone();
            b[i] ^= 0x01;
            if let Ok(f) = DtFrame::parse(&b) {
                assert!(
                    verify(&b, f.pdu.auth.as_ref(), Some(&k)).is_err(),
                    "octet {i} altered and accepted"
                );
            }
        }
        // Same key, same bytes: same ICV (a replay verifies; freshness stops it).
        assert_eq!(frame(&k), v);
        // An unsigned frame with a key configured.
        let plain = DtFrame {
            dst: DT_GROUP_ADDR,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            pdu: DtPduRepr::default(),
        }
        .to_vec()
        .unwrap();
        assert_eq!(check(&plain, Some(&k)), Err(AuthError::Missing));
        assert_eq!(check(&plain, None), Ok(()));
        let mut p = plain.clone();
        assert!(!sign(&mut p, &k));
        assert_eq!(DtKey::new(b"short"), Err(DtKeyError::Length(5)));
    }
}
