//! The parts [`Settings`](super::Settings) hands out, each to the layer that needs it: the
//! purchase's [`Rules`] and a buyer's [`BuyerSettings`] (carried in its plan, so it serializes).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::store_choice::{DbLock, Method, StoreAt};
use super::values::{DelayRange, Durability, LockScope, PerBuyer};

/// The purchase's rules: how much of it the lock covers, how a sale is decided, whether it is
/// flushed before it is confirmed, and how long to wait for the lock. One set per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Rules {
    pub scope: LockScope,
    pub method: Method,
    pub durability: Durability,
    /// `--lock-timeout`, in milliseconds (whole, as the flag takes them).
    pub lock_timeout_ms: Option<u64>,
}

impl Rules {
    pub(crate) fn lock_timeout(&self) -> Option<Duration> {
        self.lock_timeout_ms.map(Duration::from_millis)
    }
}

/// What every buyer of a run is told: where the stock is, the rules, its delays and how much
/// to buy. Its own number, the run id and the clock are the launcher's to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BuyerSettings {
    /// As bytes: a data path need not be UTF-8, and JSON strings must be.
    #[serde(with = "path_bytes")]
    pub data: PathBuf,
    /// The data file, or a database URL without its password (that comes on the buyer's stdin: a
    /// command line is readable by every user).
    pub store: StoreAt,
    pub db_lock: DbLock,
    pub rules: Rules,
    pub delay: DelayRange,
    pub seed: u64,
    pub per_buyer: PerBuyer,
    /// How many buyers race: with the seq a buyer saw at its search, it tells the buyer
    /// whether it is ahead of its fair share.
    pub buyers: u32,
}

/// A path as its raw bytes in JSON.
mod path_bytes {
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&crate::sys::path_to_bytes(path))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        let bytes = Vec::<u8>::deserialize(d)?;
        Ok(crate::sys::path_from_bytes(bytes))
    }
}
