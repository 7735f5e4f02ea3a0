//! The control socket: protocol types ([`proto`]) and the server ([`server`]).

pub mod proto;
pub mod server;
