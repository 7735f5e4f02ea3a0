pub mod roundtrip;
