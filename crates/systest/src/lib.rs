//! Helpers for lagd system tests (namespaces, lagd and OVS instances, traffic).
