//! Helpers shared by the integration tests of `lagd-wire`.

pub mod roundtrip;
