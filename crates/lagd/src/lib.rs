//! The lagd daemon.
