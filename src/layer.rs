//! [`Layer`]: a `tracing_subscriber::Layer` sharing the subscriber's rendering.
//!
//! HELPER-OWNED (tracing helper).
#![cfg(feature = "layer")]
