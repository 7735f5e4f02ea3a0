//! The Link Aggregation sublayer: LACP control, distributor and collector composed into one sans-I/O aggregation.
