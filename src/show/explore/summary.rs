//! The explorer's summary as text: what was explored, the counts, the first bad schedule with
//! its picture, and the conclusion.

use crate::safe_text::OneLine;
use std::fmt::Write as _;

use super::{Counts, Summary, legend};
use crate::lang::tr;
use crate::settings::{LockScope, Sampler};
use crate::show::schedule::tickets_line;
use crate::show::text::verdict;
use crate::show::words::{Store, lock_scope, pad, pad_left};
use crate::show::{cause, timeline};

impl Summary<'_> {
    /// The text summary.
    pub(crate) fn text(&self) -> String {
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
                data = e.data.one_line(),
                moves = legend(e.scope)
            )
        )
    }

    /// The counts, one row each: for every schedule, the interleavings and then the distinct
    /// schedules run; for a sample, the schedules drawn.
    fn rows(&self) -> String {
        let mut out = String::new();
        let mut row = |label: String, n: u64, note: String| {
            let line = format!(
                "  {}{}  {note}",
                pad(&label, 20),
                pad_left(&n.to_string(), 7)
            );
            let _ = writeln!(out, "{}", line.trim_end());
        };
        let runs = self.runs.len() as u64;
        match (self.interleavings, self.distinct) {
            (Some(all), _) => {
                row(
                    tr!("explore-row-interleavings"),
                    all.total,
                    tr!("explore-note-interleavings"),
                );
                outcome_rows(&mut row, &all, Notes::Shown);
                row(
                    tr!("explore-row-distinct-run"),
                    runs,
                    tr!("explore-note-distinct-run"),
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
        // Under the interleavings, whose rows already say what each outcome means.
        let notes = match self.interleavings {
            Some(_) => Notes::Omitted,
            None => Notes::Shown,
        };
        outcome_rows(&mut row, &self.schedules, notes);
        if self.dead_ends > 0 {
            row(
                tr!("explore-row-dead-ends"),
                self.dead_ends,
                tr!("explore-note-dead-ends"),
            );
        }
        let took = format!("{:.2} s", self.took.as_secs_f64());
        let _ = writeln!(
            out,
            "  {}{}",
            pad(&tr!("explore-row-took"), 18),
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
            let _ = writeln!(out, "  {}{why}", tr!("why-label"));
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

    /// The last line: how many went wrong, and what that says about the lock. Every schedule
    /// names both figures: the interleavings people count by hand, and the distinct schedules
    /// the explorer ran for them.
    fn conclusion(&self) -> String {
        let runs = self.runs.len() as u64;
        let bad = self.schedules.bad;
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
            let none_bad = tr!("explore-none-bad", why = why);
            return match self.interleavings {
                // The catalog joins the two sentences: a space in English, none after 。.
                Some(all) => tr!(
                    "explore-none-bad-joined",
                    counted = tr!(
                        "explore-none-bad-counted",
                        interleavings = all.total,
                        schedules = runs
                    ),
                    why = none_bad
                ),
                None => none_bad,
            };
        }
        let scope = match e.scope {
            LockScope::None => "none",
            LockScope::Write => "write",
            LockScope::Whole => "whole",
        };
        let lesson = tr!("explore-lesson", scope = scope);
        match self.interleavings {
            Some(all) => tr!(
                "explore-interleavings-bad",
                bad = all.bad,
                total = all.total,
                how = if all.bad == all.oversold {
                    "oversell"
                } else {
                    "wrong"
                },
                percent = all.bad_percent(),
                schedules = runs,
                bad_schedules = bad,
                lesson = lesson
            ),
            None => tr!(
                "explore-some-bad",
                bad = bad,
                runs = runs,
                percent = self.schedules.bad_percent(),
                lesson = lesson
            ),
        }
    }
}

/// Whether the outcome rows say what each outcome means (once per summary is enough).
#[derive(Clone, Copy)]
enum Notes {
    Shown,
    Omitted,
}

/// The outcome rows under a count: oversold, lost updates only, mismatched (if any), OK.
fn outcome_rows(row: &mut impl FnMut(String, u64, String), counts: &Counts, notes: Notes) {
    let indent = |label: String| format!("  {label}");
    let note = |text: String| match notes {
        Notes::Shown => text,
        Notes::Omitted => String::new(),
    };
    row(
        indent(tr!("row-oversold")),
        counts.oversold,
        note(tr!("explore-note-oversold")),
    );
    row(
        indent(tr!("explore-row-lost-only")),
        counts.lost_updates,
        note(tr!("explore-note-lost-only")),
    );
    if counts.mismatch > 0 {
        row(
            indent(tr!("explore-row-mismatched")),
            counts.mismatch,
            note(tr!("explore-note-mismatched")),
        );
    }
    row(indent(tr!("explore-row-ok")), counts.ok, String::new());
}
