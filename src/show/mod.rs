//! Everything a person or a script sees of a run: the live narration and progress line, the
//! timeline, the text report and its "Why:", the `--json` document, the Chrome trace and the
//! classroom page.

pub mod cause;
pub mod explore;
pub mod headline;
pub mod html;
pub mod json;
pub mod narrate;
pub mod out;
pub mod out_file;
pub mod power_cut;
mod problems;
pub mod progress;
pub mod schedule;
pub mod spans;
pub mod story;
pub mod text;
pub mod timeline;
pub mod trace;
pub mod words;
