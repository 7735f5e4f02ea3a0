//! Deterministic discrete-event simulator running lagd's protocol cores.
