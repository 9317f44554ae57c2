//! The processes: the launcher spawns the buyers, fires the starting gun, hears their events
//! on one pipe and reaps them; each buyer runs purchases against the shop. In a stepped race
//! the launcher's stepper also tells each buyer, one move at a time, when to go on.

pub mod buyer;
pub mod chaos;
pub mod clock;
pub mod interrupt;
pub mod launcher;
pub mod pipe;
pub mod stepper;

/// A buyer process after `wait`.
#[derive(Debug, Clone, Copy)]
pub struct Reaped {
    pub buyer: u32,
    pub pid: u32,
    pub status: std::process::ExitStatus,
}
