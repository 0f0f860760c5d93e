//! The crate's error type: every failure of finding a server, starting a throwaway cluster or
//! talking to a database, with enough context to act on it (never a password).

use std::fmt::Write as _;

/// Everything that can go wrong in pgkit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A connection string could not be parsed.
    #[error("invalid PostgreSQL connection string: {}", chain(.source))]
    InvalidUrl {
        /// The parser's complaint.
        #[source]
        source: tokio_postgres::Error,
    },
    /// Connecting (or authenticating) failed.
    #[error("could not connect to {target}: {}", chain(.source))]
    Connect {
        /// The target, as a URL without password.
        target: String,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// Connecting did not finish in time.
    #[error("timed out after {seconds} s connecting to {target}")]
    ConnectTimeout {
        /// The target, as a URL without password.
        target: String,
        /// The limit that was exceeded.
        seconds: u64,
    },
    /// A statement failed.
    #[error("{context}: {}", chain(.source))]
    Query {
        /// What was being done.
        context: String,
        /// The driver error (a `DbError` for a server-side failure).
        #[source]
        source: tokio_postgres::Error,
    },
    /// A file-system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `initdb`/`postgres`/`pg_ctl` could not be found for a throwaway cluster.
    #[error(
        "no PostgreSQL server found and no PostgreSQL binaries to start a throwaway cluster \
         (looked for `initdb` in: {searched}); install PostgreSQL or pass a server URL"
    )]
    BinariesNotFound {
        /// Where we looked.
        searched: String,
    },
    /// Running as root, but there is no unprivileged user to run PostgreSQL as.
    #[error(
        "running as root and PostgreSQL refuses to: {reason}; create a `postgres` user or pass \
         a server URL"
    )]
    NoUnprivilegedUser {
        /// Why no user could be used.
        reason: String,
    },
    /// An external command (initdb, …) failed.
    #[error("`{command}` failed ({status}):\n{output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// The tail of its output.
        output: String,
    },
    /// The throwaway cluster did not come up.
    #[error(
        "the throwaway PostgreSQL cluster did not start: {reason}\n--- server log (tail) ---\n{log_tail}"
    )]
    ClusterStart {
        /// What was observed.
        reason: String,
        /// The last lines of the server log.
        log_tail: String,
    },
    /// A background thread (used to drop databases outside any runtime) failed.
    #[error("pgkit worker thread failed: {0}")]
    Worker(String),
}

impl Error {
    /// A [`Error::Query`] for `source` while doing `context`.
    pub(crate) fn query(context: impl Into<String>, source: tokio_postgres::Error) -> Error {
        Error::Query {
            context: context.into(),
            source,
        }
    }

    /// An [`Error::Io`] for `source` while doing `context`.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The server-side error, when the failure was PostgreSQL rejecting a statement.
    pub fn as_db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        match self {
            Error::Connect { source, .. } | Error::Query { source, .. } => source.as_db_error(),
            _ => None,
        }
    }
}

/// The driver error and its causes on one line: tokio-postgres' own `Display` says only
/// "db error", the server's message is in the source chain.
fn chain(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}
