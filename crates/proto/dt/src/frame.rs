//! The DT Ethernet frame: EtherType 0x8952 (DRCP, IEEE 802.1AX-2014 §9.4.3.1), destination
//! the DRCP group address 01-80-C2-00-00-03, then a [`DtPduRepr`].

use crate::{DtPduRepr, DtWireError};
use lagd_types::MacAddr;
use lagd_wire::EthernetFrame;
use serde::{Deserialize, Serialize};

/// EtherType of DRCP (and of lagd's DT dialect).
pub const ETHERTYPE_DRCP: u16 = 0x8952;
/// The DRCP destination lagd uses: the Nearest non-TPMR Bridge group address.
pub const DT_GROUP_ADDR: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x03]);
/// Ethernet header length.
const ETH_HEADER_LEN: usize = 14;
/// Minimum Ethernet frame length without FCS.
const MIN_FRAME_LEN: usize = 60;

/// A parsed DT frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtFrame {
    /// Destination (normally [`DT_GROUP_ADDR`]).
    pub dst: MacAddr,
    /// Source: the sending switch's system MAC.
    pub src: MacAddr,
    /// The PDU.
    pub pdu: DtPduRepr,
}

impl DtFrame {
    /// Whether `frame` carries EtherType 0x8952, without parsing it.
    pub fn is_dt(frame: &[u8]) -> bool {
        EthernetFrame::new_checked(frame).is_ok_and(|f| f.ethertype() == ETHERTYPE_DRCP)
    }

    /// Parses a whole Ethernet frame (no FCS, no VLAN tag).
    pub fn parse(frame: &[u8]) -> Result<DtFrame, DtWireError> {
        let eth = EthernetFrame::new_checked(frame).map_err(|_| DtWireError::Truncated {
            need: ETH_HEADER_LEN,
            have: frame.len(),
        })?;
        if eth.ethertype() != ETHERTYPE_DRCP {
            return Err(DtWireError::NotDrcp(eth.ethertype()));
        }
        Ok(DtFrame {
            dst: eth.dst(),
            src: eth.src(),
            pdu: DtPduRepr::parse(eth.payload())?,
        })
    }

    /// Length of the emitted frame (at least 60 octets).
    pub fn buffer_len(&self) -> usize {
        (ETH_HEADER_LEN + self.pdu.buffer_len()).max(MIN_FRAME_LEN)
    }

    /// Writes the frame; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, DtWireError> {
        let len = self.buffer_len();
        let have = buf.len();
        let out = buf.get_mut(..len).ok_or(DtWireError::TooLarge {
            need: len,
            limit: have,
        })?;
        let mut eth = EthernetFrame::new_checked(out).map_err(|_| DtWireError::TooLarge {
            need: len,
            limit: have,
        })?;
        eth.set_dst(self.dst);
        eth.set_src(self.src);
        eth.set_ethertype(ETHERTYPE_DRCP);
        let body = eth.payload_mut();
        let n = self.pdu.emit(body)?;
        body.get_mut(n..).unwrap_or_default().fill(0);
        Ok(len)
    }

    /// Emits into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, DtWireError> {
        let mut v = vec![0u8; self.buffer_len()];
        let n = self.emit(&mut v)?;
        v.truncate(n);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_roundtrip_and_padding() {
        let f = DtFrame {
            dst: DT_GROUP_ADDR,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            pdu: DtPduRepr::default(),
        };
        let v = f.to_vec().unwrap();
        assert_eq!(v.len(), 60, "padded to the Ethernet minimum");
        assert_eq!(&v[12..14], &[0x89, 0x52]);
        assert!(DtFrame::is_dt(&v));
        assert_eq!(DtFrame::parse(&v).unwrap(), f);
        let mut w = v.clone();
        w[13] = 0x09;
        assert_eq!(DtFrame::parse(&w), Err(DtWireError::NotDrcp(0x8909)));
        assert!(DtFrame::parse(&v[..5]).is_err());
        assert!(!DtFrame::is_dt(&w));
    }
}
