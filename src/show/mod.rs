//! Everything a person or a script sees of a run: the live narration and progress line, the
//! timeline, the text report and its "Why:", the `--json` document, the Chrome trace and the
//! classroom page.

pub(crate) mod cause;
pub(crate) mod explore;
pub(crate) mod headline;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod narrate;
pub(crate) mod out;
pub(crate) mod out_file;
pub(crate) mod power_cut;
pub(crate) mod power_story;
mod problems;
pub(crate) mod progress;
pub(crate) mod schedule;
pub(crate) mod spans;
pub(crate) mod story;
pub(crate) mod text;
pub(crate) mod timeline;
pub(crate) mod trace;
pub(crate) mod words;
