//! The processes: the launcher spawns the buyers, fires the starting gun, hears their events
//! on one pipe and reaps them; each buyer runs purchases against the shop. In a stepped race
//! the launcher's stepper also tells each buyer, one move at a time, when to go on.

pub(crate) mod buyer;
pub(crate) mod chaos;
pub(crate) mod clock;
pub(crate) mod interrupt;
pub(crate) mod launcher;
pub(crate) mod pipe;
mod relay;
pub(crate) mod secret;
pub(crate) mod stepper;

/// A buyer process after `wait`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reaped {
    pub buyer: u32,
    pub pid: u32,
    pub status: std::process::ExitStatus,
}
