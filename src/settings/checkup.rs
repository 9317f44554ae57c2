//! The settings of `grab-tickets doctor`: which directory to check (the data file's, as a race
//! would use it) and who reads the answer.

use std::path::PathBuf;

/// What `doctor` checks and how it answers.
#[derive(Debug, Clone)]
pub(crate) struct Checkup {
    /// The data path as given: the directory it lives in is the one checked.
    pub data: PathBuf,
    pub answer: Answer,
}

/// Who reads the checkup's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A person: sentences in the chosen language.
    Text,
    /// A script: one JSON document, keys and values the same in every language.
    Json,
}
