//! The explorer's summary as text: what was explored, the counts, the first bad schedule with
//! its picture, and the conclusion.

use std::fmt::Write as _;

use super::{Summary, legend};
use crate::lang::tr;
use crate::settings::{LockScope, Sampler};
use crate::show::schedule::tickets_line;
use crate::show::text::verdict;
use crate::show::words::{Store, lock_scope, pad, pad_left};
use crate::show::{cause, timeline};

impl Summary<'_> {
    /// The text summary.
    pub fn text(&self) -> String {
        let mut out = self.heading();
        out.push_str(&self.rows());
        if self.first_bad.is_some() {
            out.push_str(&self.first_bad_text());
        }
        let _ = writeln!(out, "\n{}", self.conclusion());
        out
    }

    /// What was explored, and how.
    fn heading(&self) -> String {
        let e = self.exploration;
        let race = tr!(
            "explore-race",
            buyers = tr!("count-buyers", n = e.buyers),
            tickets = tr!("count-tickets", n = e.tickets),
            lock = lock_scope(e.scope)
        );
        let first = match &self.sampling {
            None => tr!("explore-every", race = race),
            Some(s) => {
                let how = match s.sampler {
                    Sampler::Pct { depth } => tr!("explore-pct", steps = depth - 1, depth = depth),
                    Sampler::Uniform => tr!("explore-uniform"),
                };
                tr!(
                    "explore-sampled",
                    samples = s.samples,
                    race = race,
                    how = how,
                    seed = s.seed.to_string()
                )
            }
        };
        format!(
            "{first}\n{}\n\n",
            tr!(
                "explore-each",
                data = e.data.display().to_string(),
                moves = legend(e.scope)
            )
        )
    }

    /// The counts, one row each.
    fn rows(&self) -> String {
        let mut out = String::new();
        let mut row = |label: String, n: u64, note: String| {
            let line = format!(
                "  {}{}  {note}",
                pad(&label, 18),
                pad_left(&n.to_string(), 7)
            );
            let _ = writeln!(out, "{}", line.trim_end());
        };
        let runs = self.runs.len() as u64;
        match (self.skipped(), self.distinct) {
            (Some(skipped), _) => {
                row(tr!("explore-row-run"), runs, String::new());
                let orders = self.orders.unwrap_or(0);
                row(
                    tr!("explore-row-skipped"),
                    skipped,
                    tr!("explore-note-skipped", orders = orders),
                );
            }
            (None, distinct) => {
                row(tr!("explore-row-sampled"), runs, String::new());
                if let Some(distinct) = distinct {
                    row(
                        tr!("explore-row-distinct"),
                        distinct,
                        tr!("explore-note-distinct"),
                    );
                }
            }
        }
        if self.dead_ends > 0 {
            row(
                tr!("explore-row-dead-ends"),
                self.dead_ends,
                tr!("explore-note-dead-ends"),
            );
        }
        row(
            tr!("row-oversold"),
            self.oversold,
            tr!("explore-note-oversold"),
        );
        row(
            tr!("explore-row-lost-only"),
            self.lost_updates,
            tr!("explore-note-lost-only"),
        );
        if self.mismatch > 0 {
            row(
                tr!("explore-row-mismatched"),
                self.mismatch,
                tr!("explore-note-mismatched"),
            );
        }
        row(tr!("explore-row-ok"), self.ok, String::new());
        let took = format!("{:.2} s", self.took.as_secs_f64());
        let _ = writeln!(
            out,
            "  {}{}",
            pad(&tr!("explore-row-took"), 16),
            pad_left(&took, 9)
        );
        out
    }

    /// The first bad schedule: its picture, why, who got which ticket, and how to replay it.
    fn first_bad_text(&self) -> String {
        let Some(bad) = &self.first_bad else {
            return String::new();
        };
        let e = self.exploration;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{}",
            tr!(
                "explore-first-bad",
                index = bad.index,
                runs = self.runs.len(),
                schedule = bad.schedule.to_string()
            )
        );
        let picture = timeline::render(
            &bad.result.events,
            &bad.result.buyers,
            bad.story.gun_us,
            &timeline::Canvas::for_stdout(),
        );
        let _ = writeln!(out, "{}", picture.join("\n"));
        if let Some(why) = cause::why(self.settings, &bad.result, &bad.story) {
            let _ = writeln!(out, "  {} {why}", tr!("why-label"));
        }
        let tickets = tickets_line(&bad.story.tickets, e.buyers);
        let _ = writeln!(out, "  {}", tr!("tickets-line", tickets = tickets));
        let store = Store::of(self.settings);
        let verdict = verdict(&bad.result.tally, &bad.result.buyers, store);
        let _ = writeln!(out, "  {verdict}");
        let replay = self.replay(&bad.schedule);
        let _ = writeln!(out, "{}", tr!("replay-it", command = replay));
        out
    }

    /// The last line: how many went wrong, and what that says about the lock.
    fn conclusion(&self) -> String {
        let runs = self.runs.len() as u64;
        let bad = self.bad();
        if self.interrupted {
            return tr!("explore-interrupted", runs = runs, bad = bad);
        }
        let e = self.exploration;
        if bad == 0 {
            let why = match e.scope {
                LockScope::Whole => "lock",
                LockScope::None | LockScope::Write if e.tickets >= u64::from(e.buyers) => "enough",
                LockScope::None | LockScope::Write => "lucky",
            };
            return tr!("explore-none-bad", why = why);
        }
        let scope = match e.scope {
            LockScope::None => "none",
            LockScope::Write => "write",
            LockScope::Whole => "whole",
        };
        tr!(
            "explore-some-bad",
            bad = bad,
            runs = runs,
            sampled = if self.sampling.is_some() { "yes" } else { "no" },
            percent = format!("{:.0}", 100.0 * bad as f64 / runs.max(1) as f64),
            scope = scope
        )
    }
}
