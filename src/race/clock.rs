//! One clock for every process of a run, so events from different buyers line up.

/// Nanoseconds on the system-wide monotonic clock. Unlike `std::time::Instant`, the raw value
/// means the same thing in every process on the machine, so the launcher can hand its start
/// time to the buyers and their timestamps share one axis (which clock, is `sys`'s).
pub(crate) use crate::sys::monotonic_ns;

/// Microseconds since `epoch_ns` (a value of [`monotonic_ns`], possibly from another process).
pub(crate) use crate::sys::micros_since;
