//! Classic libpcap capture files (`.pcap`, link type `LINKTYPE_ETHERNET`), so that frames built
//! or seen by lagd can be opened in Wireshark / tshark.
//!
//! [`PcapWriter`] writes the global header once and then one record per frame; timestamps are
//! the caller's [`Instant`] (virtual time in the simulator, `CLOCK_MONOTONIC` in the daemon).
//! [`PcapReader`] reads such files back (either byte order, either timestamp resolution); it is
//! meant for tests and tools and refuses malformed files with an [`io::Error`], never a panic.
//!
//! This module does I/O only through the `Write`/`Read` the caller hands in.

use lagd_types::Instant;
use std::io::{self, Read, Write};

/// `LINKTYPE_ETHERNET`: IEEE 802.3 frames without FCS.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Snapshot length written into the header; longer frames are truncated in the file.
pub const PCAP_SNAPLEN: u32 = 65_535;
/// Magic number of a file with microsecond timestamps.
pub const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Magic number of a file with nanosecond timestamps.
pub const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Length of the pcap global header.
const GLOBAL_HEADER_LEN: usize = 24;
/// Length of a per-record header.
const RECORD_HEADER_LEN: usize = 16;
/// Largest record the reader accepts, whatever the file's snaplen claims.
const MAX_RECORD_LEN: u32 = 262_144;

/// Timestamp resolution of a pcap file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TsResolution {
    /// Microseconds (magic `0xa1b2c3d4`): readable by every tool.
    #[default]
    Micros,
    /// Nanoseconds (magic `0xa1b23c4d`): exact for virtual time.
    Nanos,
}

impl TsResolution {
    const fn magic(self) -> u32 {
        match self {
            TsResolution::Micros => PCAP_MAGIC_MICROS,
            TsResolution::Nanos => PCAP_MAGIC_NANOS,
        }
    }
    const fn units_per_sec(self) -> u64 {
        match self {
            TsResolution::Micros => 1_000_000,
            TsResolution::Nanos => 1_000_000_000,
        }
    }
}

/// Writes a classic pcap file, one record per [`write_frame`](PcapWriter::write_frame).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    w: W,
    res: TsResolution,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header (microsecond timestamps) and returns the writer.
    pub fn new(w: W) -> io::Result<Self> {
        Self::with_resolution(w, TsResolution::Micros)
    }

    /// Writes the global header with the given timestamp resolution.
    pub fn with_resolution(mut w: W, res: TsResolution) -> io::Result<Self> {
        let mut h = [0u8; GLOBAL_HEADER_LEN];
        h[0..4].copy_from_slice(&res.magic().to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes()); // version_major
        h[6..8].copy_from_slice(&4u16.to_le_bytes()); // version_minor
        // thiszone (8..12) and sigfigs (12..16) stay 0
        h[16..20].copy_from_slice(&PCAP_SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter { w, res })
    }

    /// The timestamp resolution of this file.
    pub fn resolution(&self) -> TsResolution {
        self.res
    }

    /// Appends one Ethernet frame (without FCS) captured at `at`. Frames longer than
    /// [`PCAP_SNAPLEN`] are truncated in the file, their original length recorded.
    /// Timestamps whose seconds do not fit 32 bits saturate.
    pub fn write_frame(&mut self, at: Instant, frame: &[u8]) -> io::Result<()> {
        let ns = at.as_nanos();
        let secs = u32::try_from(ns / 1_000_000_000).unwrap_or(u32::MAX);
        let frac_ns = ns % 1_000_000_000;
        let frac = match self.res {
            TsResolution::Micros => frac_ns / 1_000,
            TsResolution::Nanos => frac_ns,
        };
        // frac < 1e9 always fits 32 bits.
        let frac = u32::try_from(frac).unwrap_or(u32::MAX);
        let orig_len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame longer than 4 GiB"))?;
        let incl_len = orig_len.min(PCAP_SNAPLEN);
        let mut h = [0u8; RECORD_HEADER_LEN];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&incl_len.to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.w.write_all(&h)?;
        let incl = frame.get(..incl_len as usize).unwrap_or(frame);
        self.w.write_all(incl)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// A reference to the underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.w
    }

    /// Returns the underlying writer (not flushed).
    pub fn into_inner(self) -> W {
        self.w
    }
}

/// Reads a classic pcap file: an iterator of `(timestamp, frame bytes)` records.
///
/// Both byte orders and both timestamp resolutions are accepted; pcapng is not.
#[derive(Debug)]
pub struct PcapReader<R: Read> {
    r: R,
    big_endian: bool,
    res: TsResolution,
    link_type: u32,
    done: bool,
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

impl<R: Read> PcapReader<R> {
    /// Reads and checks the global header.
    pub fn new(mut r: R) -> io::Result<Self> {
        let mut h = [0u8; GLOBAL_HEADER_LEN];
        r.read_exact(&mut h)?;
        let magic_le = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let magic_be = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let (big_endian, res) = match (magic_le, magic_be) {
            (PCAP_MAGIC_MICROS, _) => (false, TsResolution::Micros),
            (PCAP_MAGIC_NANOS, _) => (false, TsResolution::Nanos),
            (_, PCAP_MAGIC_MICROS) => (true, TsResolution::Micros),
            (_, PCAP_MAGIC_NANOS) => (true, TsResolution::Nanos),
            _ => return Err(invalid("not a classic pcap file (bad magic)")),
        };
        let rd = |b: [u8; 4]| {
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let link_type = rd([h[20], h[21], h[22], h[23]]);
        Ok(PcapReader {
            r,
            big_endian,
            res,
            link_type,
            done: false,
        })
    }

    /// The file's link type (1 = Ethernet).
    pub fn link_type(&self) -> u32 {
        self.link_type
    }

    /// The file's timestamp resolution.
    pub fn resolution(&self) -> TsResolution {
        self.res
    }

    fn u32_at(&self, b: &[u8; RECORD_HEADER_LEN], off: usize) -> u32 {
        let a = [
            b.get(off).copied().unwrap_or(0),
            b.get(off + 1).copied().unwrap_or(0),
            b.get(off + 2).copied().unwrap_or(0),
            b.get(off + 3).copied().unwrap_or(0),
        ];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    /// Reads the next record; `Ok(None)` at a clean end of file.
    pub fn next_frame(&mut self) -> io::Result<Option<(Instant, Vec<u8>)>> {
        let mut h = [0u8; RECORD_HEADER_LEN];
        // Distinguish a clean EOF (no byte of a new record) from a truncated record.
        let mut got = 0;
        while got < h.len() {
            let n = match h.get_mut(got..) {
                Some(rest) => self.r.read(rest),
                None => break,
            };
            match n {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(invalid("truncated pcap record header")),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let secs = u64::from(self.u32_at(&h, 0));
        let frac = u64::from(self.u32_at(&h, 4));
        let incl_len = self.u32_at(&h, 8);
        if frac >= self.res.units_per_sec() {
            return Err(invalid("pcap record timestamp fraction out of range"));
        }
        if incl_len > MAX_RECORD_LEN {
            return Err(invalid("pcap record longer than the reader accepts"));
        }
        let frac_ns = match self.res {
            TsResolution::Micros => frac * 1_000,
            TsResolution::Nanos => frac,
        };
        let at = Instant::from_nanos(secs.saturating_mul(1_000_000_000).saturating_add(frac_ns));
        let mut data = vec![0u8; incl_len as usize];
        self.r.read_exact(&mut data)?;
        Ok(Some((at, data)))
    }
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = io::Result<(Instant, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_frame() {
            Ok(Some(rec)) => Some(Ok(rec)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_classic_pcap_ethernet() {
        let w = PcapWriter::new(Vec::new()).unwrap();
        let b = w.into_inner();
        assert_eq!(b.len(), 24);
        assert_eq!(&b[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&b[4..8], &[2, 0, 4, 0]);
        assert_eq!(&b[16..20], &PCAP_SNAPLEN.to_le_bytes());
        assert_eq!(&b[20..24], &[1, 0, 0, 0]);
        let w = PcapWriter::with_resolution(Vec::new(), TsResolution::Nanos).unwrap();
        assert_eq!(&w.get_ref()[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
    }

    #[test]
    fn micro_records_roundtrip_truncating_to_micros() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_frame(Instant::from_nanos(1_500_000_999), &[1, 2, 3])
            .unwrap();
        w.write_frame(Instant::from_secs(90), &[]).unwrap();
        let bytes = w.into_inner();
        assert_eq!(bytes.len(), 24 + 16 + 3 + 16);
        // record header: secs=1, usecs=500000, incl=3, orig=3
        assert_eq!(&bytes[24..28], &1u32.to_le_bytes());
        assert_eq!(&bytes[28..32], &500_000u32.to_le_bytes());
        let recs: Vec<_> = PcapReader::new(&bytes[..])
            .unwrap()
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(
            recs,
            vec![
                (Instant::from_nanos(1_500_000_000), vec![1, 2, 3]),
                (Instant::from_secs(90), vec![]),
            ]
        );
    }

    #[test]
    fn nano_records_are_exact() {
        let mut w = PcapWriter::with_resolution(Vec::new(), TsResolution::Nanos).unwrap();
        let t = Instant::from_nanos(3_000_000_007);
        w.write_frame(t, &[9; 70]).unwrap();
        let bytes = w.into_inner();
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(r.resolution(), TsResolution::Nanos);
        assert_eq!(r.link_type(), LINKTYPE_ETHERNET);
        assert_eq!(r.next().unwrap().unwrap(), (t, vec![9; 70]));
        assert!(r.next().is_none());
    }

    #[test]
    fn oversized_frame_is_truncated_to_snaplen() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let big = vec![7u8; PCAP_SNAPLEN as usize + 10];
        w.write_frame(Instant::ZERO, &big).unwrap();
        let bytes = w.into_inner();
        assert_eq!(&bytes[32..36], &PCAP_SNAPLEN.to_le_bytes());
        assert_eq!(&bytes[36..40], &(PCAP_SNAPLEN + 10).to_le_bytes());
        let (_, f) = PcapReader::new(&bytes[..])
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(f.len(), PCAP_SNAPLEN as usize);
    }

    /// The writer says its resolution and flushes through; the reader's limits are exact: a
    /// fraction of one second less one unit and a record of `MAX_RECORD_LEN` octets are read,
    /// one more is refused.
    #[test]
    fn writer_resolution_flush_and_reader_limits() {
        let w = PcapWriter::with_resolution(Vec::new(), TsResolution::Nanos).unwrap();
        assert_eq!(w.resolution(), TsResolution::Nanos);
        let mut w = PcapWriter::new(io::BufWriter::new(Vec::new())).unwrap();
        assert_eq!(w.resolution(), TsResolution::Micros);
        assert!(w.get_ref().get_ref().is_empty(), "buffered");
        w.flush().unwrap();
        assert_eq!(w.get_ref().get_ref().len(), GLOBAL_HEADER_LEN);
        // A little-endian microsecond file with one record of the given header fields.
        let file = |frac: u32, incl: u32| {
            let mut b = PcapWriter::new(Vec::new()).unwrap().into_inner();
            for v in [1u32, frac, incl, incl] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.resize(b.len() + incl as usize, 0x5a);
            b
        };
        let first = |b: &[u8]| PcapReader::new(b).unwrap().next().unwrap();
        let (at, f) = first(&file(999_999, 2)).unwrap();
        assert_eq!((at, f.len()), (Instant::from_nanos(1_999_999_000), 2));
        assert!(first(&file(1_000_000, 2)).is_err(), "fraction out of range");
        let (_, f) = first(&file(0, MAX_RECORD_LEN)).unwrap();
        assert_eq!(f.len(), MAX_RECORD_LEN as usize);
        assert!(first(&file(0, MAX_RECORD_LEN + 1)).is_err(), "too long");
        // The link type is the header's, not assumed Ethernet (113: Linux cooked capture).
        let mut b = file(0, 2);
        b[20..24].copy_from_slice(&113u32.to_le_bytes());
        assert_eq!(PcapReader::new(&b[..]).unwrap().link_type(), 113);
    }

    /// A reader whose reads fail once with `kind` when the record header is due (after the
    /// 24-octet global header), then read on.
    struct FailOnce<'a> {
        data: &'a [u8],
        pos: usize,
        kind: Option<io::ErrorKind>,
    }

    impl Read for FailOnce<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pos == GLOBAL_HEADER_LEN
                && let Some(kind) = self.kind.take()
            {
                return Err(io::Error::new(kind, "hiccup"));
            }
            let n = (&self.data[self.pos..]).read(buf)?;
            self.pos += n;
            Ok(n)
        }
    }

    /// An interrupted read of a record header is retried; any other error is returned.
    #[test]
    fn an_interrupted_read_is_retried_another_error_returned() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_frame(Instant::from_secs(1), &[1, 2]).unwrap();
        let b = w.into_inner();
        let read = |kind| {
            let data = FailOnce {
                data: &b,
                pos: 0,
                kind: Some(kind),
            };
            PcapReader::new(data).unwrap().next_frame()
        };
        let rec = read(io::ErrorKind::Interrupted).unwrap();
        assert_eq!(rec, Some((Instant::from_secs(1), vec![1, 2])));
        let err = read(io::ErrorKind::Other).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
    }

    #[test]
    fn reader_accepts_big_endian_and_refuses_garbage() {
        // A big-endian microsecond file with one 2-byte record at t = 2.000003 s.
        let mut b = Vec::new();
        b.extend_from_slice(&PCAP_MAGIC_MICROS.to_be_bytes());
        b.extend_from_slice(&[0, 2, 0, 4]);
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&PCAP_SNAPLEN.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        for v in [2u32, 3, 2, 2] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&[0xab, 0xcd]);
        let recs: Vec<_> = PcapReader::new(&b[..]).unwrap().collect();
        assert_eq!(recs.len(), 1);
        assert_eq!(
            recs[0].as_ref().unwrap(),
            &(Instant::from_nanos(2_000_003_000), vec![0xab, 0xcd])
        );

        assert!(PcapReader::new(&[0u8; 24][..]).is_err(), "bad magic");
        assert!(PcapReader::new(&b[..10]).is_err(), "short header");
        // A record cut in the middle is an error, then the iterator ends.
        let mut r = PcapReader::new(&b[..b.len() - 1]).unwrap();
        assert!(r.next().unwrap().is_err());
        assert!(r.next().is_none());
        let mut r = PcapReader::new(&b[..30]).unwrap();
        assert!(r.next().unwrap().is_err());
        // An absurd record length is refused rather than allocated.
        let mut huge = b.clone();
        huge[32..36].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(PcapReader::new(&huge[..]).unwrap().next().unwrap().is_err());
    }
}
