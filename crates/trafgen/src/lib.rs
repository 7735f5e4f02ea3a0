//! Traffic generator and checker for lagd's demo and system tests.
//!
//! - **UDP streams** ([`udp_sender`], [`udp_receiver`]): sequence-numbered datagrams sent at a
//!   fixed rate; the receiver reports received, lost, duplicated and reordered packets and the
//!   largest gap in its receive timeline (the failover gap) with the time it started.
//! - **TCP flows** ([`tcp_sender`], [`tcp_sink`]): N concurrent connections (distinct source
//!   ports, so L4 hashing spreads them) carrying a per-flow byte pattern that the sink verifies,
//!   with per-second per-flow throughput samples.
//! - **Reachability** ([`udp_echo`]): a UDP echo responder and a probe, instead of `ping`.
//! - [`netns`]: every generator and sink can run on a thread inside a named network namespace.
//!
//! Everything runs on its own threads, is bounded in packet count and time, and stops by itself.
//! No unsafe code: the namespace switch is `lagd_dataplane::netns`'s.
#![forbid(unsafe_code)]

pub mod clock;
pub mod error;
pub mod netns;
pub mod stream_packet;
pub mod stream_stats;
pub mod tcp_pattern;
pub mod tcp_sender;
pub mod tcp_sink;
pub mod udp_echo;
pub mod udp_receiver;
pub mod udp_sender;

pub use error::{Error, Result};
pub use stream_packet::StreamPacket;
pub use stream_stats::{StreamReport, StreamStats};
pub use tcp_sender::{TcpFlowReport, TcpFlows, TcpFlowsConfig, TcpFlowsReport};
pub use tcp_sink::{SinkFlowReport, TcpSink, TcpSinkConfig, TcpSinkReport};
pub use udp_receiver::{FaultHook, UdpReceiver, UdpReceiverConfig};
pub use udp_sender::{SendReport, UdpSender, UdpSenderConfig};
