//! One clock for every process of a run, so events from different buyers line up.

/// Nanoseconds on the system-wide monotonic clock. Unlike `std::time::Instant`, the raw value
/// means the same thing in every process on the machine, so the launcher can hand its start
/// time to the buyers and their timestamps share one axis.
pub fn monotonic_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Microseconds since `epoch_ns` (a value of [`monotonic_ns`], possibly from another process).
pub fn micros_since(epoch_ns: u64) -> u64 {
    monotonic_ns().saturating_sub(epoch_ns) / 1_000
}
