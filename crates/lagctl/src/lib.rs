//! lagctl: administer lagd aggregations (dladm-style).
#![forbid(unsafe_code)]

pub mod admin;
pub mod schema;
