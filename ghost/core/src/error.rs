//! The error type of ghost-core.

use std::fmt;

/// What kind of problem an [`Error`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not JSON.
    Syntax,
    /// The JSON does not have the shape of a ghost.json document.
    Schema,
    /// The document has a version this build does not read.
    Version,
    /// The document could not be read.
    Io,
}

/// A document that could not be loaded at all; the previous state keeps serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    path: String,
    message: String,
}

impl Error {
    /// Creates an error at a JSON path (`$`, `$.vhosts["a.example.com"]`, …).
    #[must_use]
    pub fn new(kind: ErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind, path: path.into(), message: message.into() }
    }

    /// The kind of problem.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The JSON path of the problem.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The problem, without the path.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load ghost.json: at {}: {}", self.path, self.message)
    }
}

impl std::error::Error for Error {}
