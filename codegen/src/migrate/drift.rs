//! Two agreements the migrations must keep, checked through the one differ:
//!
//! - **before `migrate up`**: the database is in the state its applied migrations produce
//!   (nobody changed it by hand since), else `up` refuses and names the differences;
//! - **in `codegen check`**: the migrations produce the declared schema, else a migration is
//!   missing (`codegen migrate new`).

use super::state::{self, StateError};
use crate::diff::sources::{SourceLoadError, read_database};
use crate::diff::{DiffOptions, Plan, diff};
use crate::project::{Paths, ProjectError};
use crate::source::SqlSource;
use std::sync::Arc;

/// Why a check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// The migrations' state.
    #[error("replaying migrations/: {0}")]
    State(#[from] StateError),
    /// Reading the database.
    #[error(transparent)]
    Database(#[from] SourceLoadError),
    /// The history table.
    #[error(transparent)]
    Migrate(#[from] super::MigrateError),
    /// The declared schema.
    #[error(transparent)]
    Project(#[from] ProjectError),
}

/// What the database at `url` lacks or has beyond the state of its applied migrations: the
/// plan that would put it back (empty when it is as the migrations left it).
pub async fn database_drift(
    url: &str,
    paths: &Paths,
    server: &Arc<pgkit::Server>,
) -> Result<Plan, DriftError> {
    let status = super::status(url, &paths.migrations).await?;
    let applied: Vec<i64> = status
        .migrations
        .iter()
        .filter(|e| e.state == super::State::Applied)
        .map(|e| e.version)
        .collect();
    let files: Vec<SqlSource> = state::list(&paths.migrations)?
        .iter()
        .filter(|m| applied.contains(&m.version))
        .map(|m| SqlSource::read(&m.up).map_err(StateError::from))
        .collect::<Result<_, _>>()?;
    let expected = state::state_of(server, &files).await?.schema;
    // The same view of the database as `verify` (the audit trail's schema left out).
    let live = read_database(url, &crate::verify::VerifyOptions::default().filter)
        .await?
        .schema;
    Ok(diff(&live, &expected, &DiffOptions::default()))
}

/// What `schema/` declares beyond what `migrations/` produce: the plan of the missing
/// migration (empty when they agree).
pub async fn missing_migration(
    paths: &Paths,
    server: &Arc<pgkit::Server>,
) -> Result<Plan, DriftError> {
    let declared = super::new::declared_schema(paths, server).await?;
    let produced = state::state(server, &paths.migrations).await?.schema;
    Ok(diff(&produced, &declared, &DiffOptions::default()))
}
