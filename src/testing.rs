//! An embedded syslog receiver for tests and examples: [`Receiver`].
//!
//! HELPER-OWNED (transport helper).
#![cfg(feature = "testing")]
