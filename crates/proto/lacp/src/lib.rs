//! IEEE 802.1AX LACP and Marker protocol state machines, with no I/O.
