//! The control socket: protocol types ([`proto`]) and the server (`server`).

pub use lagd_control::proto;
pub(crate) mod server;
