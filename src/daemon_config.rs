//! rsyslog and syslog-ng configuration generated from a builder's routing table.
//!
//! HELPER-OWNED (daemon-config helper).
