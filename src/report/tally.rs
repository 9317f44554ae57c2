//! The arithmetic of one run: stock before and after, confirmations and the log's orders, down
//! to what was oversold, what updates were lost, and the one-word [`Status`].

use serde::Serialize;

/// The reconciliation of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Tally {
    /// Stock when the race started.
    pub initial: u64,
    /// Purchases confirmed to buyers.
    pub confirmed: u64,
    /// `ticket_num` read back from the store after every buyer ended, or None when it could
    /// not be read (the data file deleted, the server gone, the stock row deleted): never a
    /// number that was not read.
    pub remaining: Option<u64>,
    /// Orders in the order log for this run (net of orders taken back), or None when the
    /// ledger could not be read back (the server gone): never a count that was not read.
    pub logged: Option<u64>,
    /// Orders in the ledger by everyone else (other runs, other programs) while this run
    /// raced, net of orders taken back.
    pub sold_by_others: u64,
    /// (confirmed + sold_by_others) − initial, when positive: tickets sold that never existed.
    pub oversold: u64,
    /// (confirmed + sold_by_others) − (initial − remaining), when positive: sales the data
    /// file forgot. None when the stock was not read back: then it is not known.
    pub lost_updates: Option<u64>,
    /// logged − confirmed, when positive: sales on disk whose buyer died before saying so.
    pub unconfirmed: u64,
    /// Unconfirmed sales of buyers that were *not* killed: nothing explains them.
    pub unexplained: u64,
    /// Entries in the run's window that break the ledger's chain (another program broke the
    /// protocol): none of the counts above includes them.
    pub forged: u64,
    /// Changes to the stock found outside the lock protocol (a hand edit of the data file or
    /// the stock row): the counts were drawn from a stock nobody sold from.
    pub changed_outside: u64,
}

/// The one-word result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// Every ticket accounted for, none sold twice.
    Ok,
    /// More sales confirmed than tickets existed.
    Oversold,
    /// Not oversold, but the file forgot some sales.
    LostUpdates,
    /// The numbers do not add up in a way neither of the above explains.
    Mismatch,
    /// The stock could not be read back after the race, so whether sales were lost or every
    /// ticket is accounted for is not known.
    StockUnknown,
    /// Another program wrote entries that break the ledger's chain during the race: the
    /// counts cannot judge the run, and nothing is called oversold on their word.
    ProtocolViolation,
    /// The stock was changed outside the lock protocol (by hand) during the race: the counts
    /// disagree because of it, so none of them judges the run either.
    ChangedOutside,
}

impl Tally {
    /// Pure arithmetic over the four numbers measured of this run (others: none yet).
    pub(crate) fn reconcile(
        initial: u64,
        confirmed: u64,
        remaining: Option<u64>,
        logged: u64,
    ) -> Tally {
        Tally {
            initial,
            confirmed,
            remaining,
            logged: Some(logged),
            sold_by_others: 0,
            oversold: 0,
            lost_updates: None,
            unconfirmed: logged.saturating_sub(confirmed),
            unexplained: 0,
            forged: 0,
            changed_outside: 0,
        }
        .with_others(0)
    }

    /// Adds the sales everyone else made in the run's window: the stock is judged as the
    /// ledger shows it, so careful outsiders do not make a correct run look wrong.
    pub(crate) fn with_others(self, sold_by_others: u64) -> Tally {
        let sold = self.confirmed + sold_by_others;
        let lost_updates = self
            .remaining
            .map(|remaining| sold.saturating_sub(self.initial.saturating_sub(remaining)));
        Tally {
            sold_by_others,
            oversold: sold.saturating_sub(self.initial),
            lost_updates,
            ..self
        }
    }

    /// The ledger could not be read back: its count is unknown, and so is how many of its
    /// sales went unconfirmed.
    pub(crate) fn ledger_unread(self) -> Tally {
        Tally {
            logged: None,
            unconfirmed: 0,
            ..self
        }
    }

    /// Records how many unconfirmed sales belong to buyers that were not killed.
    pub(crate) fn with_unexplained(self, unexplained: u64) -> Tally {
        Tally {
            unexplained,
            ..self
        }
    }

    /// Records how many entries of the window broke the chain.
    pub(crate) fn with_forged(self, forged: u64) -> Tally {
        Tally { forged, ..self }
    }

    /// Records the changes to the stock found outside the lock protocol.
    pub(crate) fn with_changed_outside(self, changed_outside: u64) -> Tally {
        Tally {
            changed_outside,
            ..self
        }
    }

    pub(crate) fn status(&self) -> Status {
        // Forged history comes first: every other status would be drawn from it.
        if self.forged > 0 {
            return Status::ProtocolViolation;
        }
        if self.changed_outside > 0 {
            return Status::ChangedOutside;
        }
        // Without the stock read back no verdict can be drawn, and no other status may
        // pretend to one: oversold is still counted (from confirmations alone) in the tally.
        let (Some(remaining), Some(logged)) = (self.remaining, self.logged) else {
            return Status::StockUnknown;
        };
        if self.oversold > 0 {
            Status::Oversold
        } else if self.lost_updates > Some(0) {
            Status::LostUpdates
        } else if remaining + logged + self.sold_by_others != self.initial
            || self.confirmed + self.unconfirmed != logged
            || self.unexplained > 0
        {
            // Every ticket must be either still in stock or in the ledger, and every sale
            // this run logged either confirmed or explained as unconfirmed.
            Status::Mismatch
        } else {
            Status::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_correct_locked_run_is_ok() {
        let t = Tally::reconcile(3, 3, Some(0), 3);
        assert_eq!((t.oversold, t.lost_updates, t.unconfirmed), (0, Some(0), 0));
        assert_eq!(t.status(), Status::Ok);
    }

    #[test]
    fn ten_confirmations_of_three_tickets_are_seven_oversold() {
        // The lesson's race: everyone read 3, everyone wrote 2.
        let t = Tally::reconcile(3, 10, Some(2), 10);
        assert_eq!(t.oversold, 7);
        assert_eq!(t.lost_updates, Some(9));
        assert_eq!(t.status(), Status::Oversold);
    }

    #[test]
    fn lost_updates_without_overselling() {
        let t = Tally::reconcile(20, 10, Some(19), 10);
        assert_eq!((t.oversold, t.lost_updates), (0, Some(9)));
        assert_eq!(t.status(), Status::LostUpdates);
    }

    #[test]
    fn a_sale_logged_by_a_killed_buyer_is_accounted_for() {
        let t = Tally::reconcile(3, 2, Some(0), 3);
        assert_eq!(t.unconfirmed, 1);
        assert_eq!(t.status(), Status::Ok);
    }

    #[test]
    fn sales_by_others_in_the_window_keep_a_correct_run_ok() {
        // 200 tickets: this run confirmed 59, a careful outsider sold 141.
        let t = Tally::reconcile(200, 59, Some(0), 59).with_others(141);
        assert_eq!((t.oversold, t.lost_updates), (0, Some(0)));
        assert_eq!(t.status(), Status::Ok);
        let alone = Tally::reconcile(200, 59, Some(0), 59);
        assert_eq!(alone.status(), Status::Mismatch);
    }

    #[test]
    fn others_overselling_with_this_run_is_oversold() {
        let t = Tally::reconcile(3, 3, Some(0), 3).with_others(2);
        assert_eq!(t.oversold, 2);
        assert_eq!(t.status(), Status::Oversold);
    }

    #[test]
    fn a_stock_not_read_back_is_unknown_not_lost_updates() {
        let t = Tally::reconcile(400, 3, None, 3);
        assert_eq!(t.lost_updates, None);
        assert_eq!(t.status(), Status::StockUnknown);
    }

    #[test]
    fn forged_history_is_a_protocol_violation_never_oversold() {
        // A forger's entry is left out of every count, so what it took from the stock does
        // not add up; the status names the violation instead.
        let t = Tally::reconcile(3, 3, Some(0), 3)
            .with_others(1)
            .with_forged(1);
        assert_eq!(t.status(), Status::ProtocolViolation);
    }

    #[test]
    fn a_ticket_neither_in_stock_nor_logged_is_a_mismatch() {
        let t = Tally::reconcile(3, 2, Some(0), 2);
        assert_eq!(t.status(), Status::Mismatch);
    }
}
