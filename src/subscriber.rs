//! The `tracing` adapter: [`Subscriber`] implements `tracing_core::Subscriber`.
//!
//! HELPER-OWNED (tracing helper).
#![cfg(feature = "tracing")]
