//! The range of every whole-number flag, stated once: clap's parser refuses what is not a
//! whole number (naming the range), and resolution checks the range, naming the flag and the
//! value. Each bound is written here and nowhere else.

use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{MAX_BUYERS, MAX_TICKETS};

/// Most schedules `explore --random` samples in one go.
const MAX_SAMPLES: u64 = 1_000_000;
/// PCT depths beyond this add change points no overselling needs.
const MAX_DEPTH: u32 = 10;

/// A whole-number flag's range, inclusive.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub flag: &'static str,
    pub lo: u64,
    pub hi: u64,
}

pub(super) const BUYERS: Bounds = Bounds {
    flag: "--buyers",
    lo: 1,
    hi: MAX_BUYERS as u64,
};
pub(super) const TICKETS: Bounds = Bounds {
    flag: "--tickets",
    lo: 0,
    hi: MAX_TICKETS,
};
pub(super) const SAMPLES: Bounds = Bounds {
    flag: "--random",
    lo: 1,
    hi: MAX_SAMPLES,
};
pub(super) const DEPTH: Bounds = Bounds {
    flag: "--depth",
    lo: 1,
    hi: MAX_DEPTH as u64,
};
/// Any whole number (a seed, a timeout): only its type bounds it.
pub(super) const ANY: Bounds = Bounds {
    flag: "",
    lo: 0,
    hi: u64::MAX,
};

impl Bounds {
    /// The same flag with a lower ceiling (`explore`'s buyers depend on the search).
    pub(super) fn up_to(self, hi: u64) -> Bounds {
        Bounds { hi, ..self }
    }

    /// `value` if it is in range; else the usage error that names the flag, the value and the
    /// range, followed by `hint`.
    pub(super) fn check(self, value: u64, hint: &str) -> Result<u64> {
        if (self.lo..=self.hi).contains(&value) {
            return Ok(value);
        }
        Err(Error::usage(tr!(
            "error-out-of-range",
            flag = self.flag,
            value = value.to_string(),
            lo = self.lo.to_string(),
            hi = self.hi.to_string(),
            hint = hint
        )))
    }

    /// A clap parser for the flag: a negative or non-numeric value is refused with the flag's
    /// range, instead of clap taking "-1" for an unknown flag. The range itself is
    /// [`check`](Bounds::check)ed where the settings are resolved.
    pub(super) fn parser<T: TryFrom<u64>>(
        self,
    ) -> impl Fn(&str) -> std::result::Result<T, String> + Clone {
        move |text: &str| {
            let range = if self.hi == u64::MAX {
                tr!("range-open", lo = self.lo.to_string())
            } else {
                tr!(
                    "range-closed",
                    lo = self.lo.to_string(),
                    hi = self.hi.to_string()
                )
            };
            if text.starts_with('-') {
                return Err(tr!("value-negative", range = range));
            }
            let n = text
                .parse::<u64>()
                .map_err(|_| tr!("value-not-whole", range = &range))?;
            T::try_from(n).map_err(|_| tr!("value-too-large", n = n.to_string(), range = range))
        }
    }
}
