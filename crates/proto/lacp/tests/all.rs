//! lagd-lacp's integration tests, one module per file of this directory, built as ONE test
//! binary (`autotests = false` in Cargo.toml): a mutant of the crate (scripts/mutants.sh)
//! then links one test crate instead of seventeen. Run one file's tests with
//! `cargo test -p lagd-lacp --test all formation::`.

mod common;
mod support {
    pub mod fuzz_drive;
}

mod churn;
mod corpus;
mod cross_port;
mod formation;
mod honest_sync;
mod loopback;
mod malformed;
mod marker;
mod names;
mod random_scenarios;
mod rate;
mod resume;
mod selection;
mod static_fallback;
mod steady_state;
mod timeouts;
