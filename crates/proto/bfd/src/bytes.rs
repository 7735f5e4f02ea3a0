//! Panic-free big-endian field access for the zero-copy views (a read past the end yields
//! zero, a write past the end is dropped) and the Internet checksum: `lagd-wire`'s.

pub(crate) use lagd_wire::bytes::{
    array_at, internet_checksum, put, put_u8, put_u16, put_u32, u8_at, u16_at, u32_at,
};
