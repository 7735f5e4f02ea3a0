//! Packet capture with tshark inside a namespace, and decoding of the slow-protocol frames
//! (LACP, Marker) it caught, with Wireshark's expert information.

use crate::error::{Error, Result};
use crate::wait;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Wireshark expert severity "warning" (`PI_WARN`); "error" is above it.
pub const EXPERT_WARN: u32 = 0x0060_0000;

/// A running tshark capture writing a pcapng file; stopped (SIGINT) on drop.
#[derive(Debug)]
pub struct Capture {
    file: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// One decoded slow-protocol frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowFrame {
    /// Frame number in the capture.
    pub number: u64,
    /// Source MAC, lowercase `aa:bb:..`.
    pub src: String,
    /// Wireshark's protocol stack, e.g. `eth:ethertype:slow:lacp`.
    pub protocols: String,
    /// Slow-protocol subtype (1 LACP, 2 Marker).
    pub subtype: Option<u8>,
    /// Highest expert severity on the frame (0: none).
    pub expert_severity: u32,
    /// Expert messages.
    pub expert: Vec<String>,
}

impl SlowFrame {
    /// Decoded as a LACPDU.
    pub fn is_lacp(&self) -> bool {
        self.protocols.split(':').any(|p| p == "lacp")
    }

    /// Decoded as a Marker PDU.
    pub fn is_marker(&self) -> bool {
        self.protocols.split(':').any(|p| p == "marker")
    }

    /// Carries an expert warning or error.
    pub fn has_warning(&self) -> bool {
        self.expert_severity >= EXPERT_WARN
    }
}

impl Capture {
    /// Starts `tshark -i dev... -f filter -w FILE` in namespace `ns` on every device of `devs`
    /// (file named from `tag`, in `dir`); returns once tshark captures (bounded: 20 s). Every
    /// device must be up, and stay up: a device set down ends the capture (`ENETDOWN`); losing
    /// the carrier does not.
    pub fn start(ns: &str, devs: &[&str], filter: &str, dir: &Path, tag: &str) -> Result<Capture> {
        let file = dir.join(format!("{tag}.pcapng"));
        let log = dir.join(format!("{tag}.tshark.log"));
        let logf = std::fs::File::create(&log).map_err(|e| Error::io("create tshark log", e))?;
        let mut args: Vec<&str> = vec!["netns", "exec", ns, "tshark", "-q", "-n"];
        for d in devs {
            args.extend_from_slice(&["-i", d]);
        }
        args.extend_from_slice(&["-f", filter, "-w"]);
        let child = Command::new("ip")
            .args(&args)
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .map_err(|e| Error::io("spawn tshark", e))?;
        let mut c = Capture {
            file,
            log,
            child: Some(child),
        };
        let log = c.log.clone();
        let file = c.file.clone();
        wait::until(
            "tshark to start capturing",
            Duration::from_secs(20),
            Duration::from_millis(20),
            || {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if let Some(st) = c.child.as_mut().and_then(|ch| ch.try_wait().ok().flatten()) {
                    return Err(Error::Command {
                        cmd: "tshark".into(),
                        detail: format!("exited with {st}: {text}"),
                    });
                }
                // dumpcap creates the file once every interface is open (a device that is
                // down makes it fail after "Capturing on"; it is then never created).
                Ok(if text.contains("Capturing on") && file.exists() {
                    Ok(())
                } else {
                    Err(text)
                })
            },
        )?;
        Ok(c)
    }

    /// The capture file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Stops the capture (SIGINT, bounded wait, then kill) so the file is complete.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut c) = self.child.take() else {
            return Ok(());
        };
        // Give tshark a moment to write what is in flight.
        std::thread::sleep(Duration::from_millis(300));
        let _ = crate::cmd::signal(c.id(), "INT");
        for _ in 0..250 {
            if !matches!(c.try_wait(), Ok(None)) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        Ok(())
    }

    /// Stops the capture and decodes every slow-protocol frame in it.
    pub fn slow_frames(&mut self) -> Result<Vec<SlowFrame>> {
        self.stop()?;
        decode_slow(&self.file)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Decodes the slow-protocol frames (ethertype 0x8809) of a capture file with tshark.
pub fn decode_slow(file: &Path) -> Result<Vec<SlowFrame>> {
    let f = file.to_string_lossy();
    let out = crate::cmd::run(
        "tshark",
        &[
            "-n",
            "-r",
            &f,
            "-Y",
            "eth.type == 0x8809",
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=|",
            "-e",
            "frame.number",
            "-e",
            "eth.src",
            "-e",
            "frame.protocols",
            "-e",
            "slow.subtype",
            "-e",
            "_ws.expert.severity",
            "-e",
            "_ws.expert.message",
        ],
    )?;
    parse_fields(&out)
}

fn parse_fields(out: &str) -> Result<Vec<SlowFrame>> {
    let mut frames = Vec::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let col = |i: usize| cols.get(i).copied().unwrap_or("");
        let number = col(0).trim().parse().map_err(|_| Error::Parse {
            what: "tshark fields",
            detail: format!("bad frame number in `{line}`"),
        })?;
        let subtype = col(3).split('|').next().and_then(|s| parse_num(s.trim()));
        let expert_severity = col(4)
            .split('|')
            .filter_map(|s| parse_num(s.trim()))
            .max()
            .unwrap_or(0);
        frames.push(SlowFrame {
            number,
            src: col(1).trim().to_lowercase(),
            protocols: col(2).trim().to_string(),
            subtype: subtype.and_then(|v| u8::try_from(v).ok()),
            expert_severity,
            expert: col(5)
                .split('|')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    Ok(frames)
}

fn parse_num(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_parsed() {
        let out = "1\t02:00:00:00:0b:01\teth:ethertype:slow:lacp\t1\t\t\n\
                   2\tAA:00:00:00:00:02\teth:ethertype:slow:marker\t0x02\t6291456|4194304\tbad pad|note\n";
        let f = parse_fields(out).expect("parse");
        assert_eq!(f.len(), 2);
        assert!(f[0].is_lacp() && !f[0].has_warning() && f[0].subtype == Some(1));
        assert!(f[1].is_marker() && f[1].has_warning());
        assert_eq!(f[1].src, "aa:00:00:00:00:02");
        assert_eq!(f[1].subtype, Some(2));
        assert_eq!(f[1].expert, vec!["bad pad".to_string(), "note".to_string()]);
        assert!(parse_fields("x\ty\n").is_err());
    }
}
