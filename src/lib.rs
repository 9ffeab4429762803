// The crate docs are the README, so the two cannot drift apart and its examples run as doc tests.
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without an adapter (`log` or `tracing`) nothing calls the pipeline; the types, the builder and the
// daemon-config generator still build, so this is not an error.
#![cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]

mod builder;
mod clock;
mod daemon_config;
mod error;
mod facility;
mod format;
mod ident;
#[cfg(feature = "layer")]
#[cfg_attr(docsrs, doc(cfg(feature = "layer")))]
pub mod layer;
mod logger;
mod pipeline;
mod route;
mod severity;
mod stats;
mod subscriber;
mod sys;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod transport;
mod worker;

pub use crate::builder::{
    Builder, Mode, DEFAULT_FILTER, DEFAULT_FLUSH_TIMEOUT, DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_SEND_TIMEOUT, MESSAGE_SIZE_MAX, MESSAGE_SIZE_MIN,
};
pub use crate::daemon_config::DaemonConfig;
pub use crate::error::{Error, ErrorKind, ParseFacilityError, ParseModeError, ParseSeverityError};
pub use crate::facility::Facility;
pub use crate::format::{Format, Header};
pub use crate::ident::MAX_IDENT_LEN;
#[cfg(feature = "layer")]
#[cfg_attr(docsrs, doc(cfg(feature = "layer")))]
pub use crate::layer::Layer;
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub use crate::logger::{init, try_init, Logger};
pub use crate::pipeline::{stats, WorkerGuard};
pub use crate::route::{Match, Rule};
pub use crate::severity::{Severity, SeverityMapping};
pub use crate::stats::{DropReason, Lane, Stats};
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use crate::subscriber::{init_tracing, Subscriber};
pub use crate::transport::DEFAULT_SOCKET;
#[cfg(feature = "background")]
#[cfg_attr(docsrs, doc(cfg(feature = "background")))]
pub use crate::worker::{
    Overflow, DEEP_SLEEP_AFTER, DEEP_SLEEP_POLL, DEFAULT_BULK_OVERFLOW,
    DEFAULT_BULK_QUEUE_CAPACITY, DEFAULT_ERROR_OVERFLOW, DEFAULT_ERROR_QUEUE_CAPACITY,
    MAX_IDLE_SLEEP, MIN_IDLE_SLEEP,
};
