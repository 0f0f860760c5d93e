//! Runs the example service's demo ([`jobpilot_example::run_demo`]) against the database in
//! `DATABASE_URL` (the direct connection on port 5432, as ADR-2 prescribes; the pooler port is
//! refused). It prints where it connects, never the password, and deletes what it created.

use jobpilot_db::Db;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL to a postgres:// URL (the direct connection, port 5432)")?;
    let options = Db::options(&url)?
        .application_name("jobpilot-example")
        .max_connections(2);
    // `DbOptions`' Debug shows host, port, database and user, never the password.
    println!("connecting: {options:?}");
    let db = options.connect().await?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let tag = format!("demo_{nanos}");
    let result = jobpilot_example::run_demo(&db, &tag, &mut std::io::stdout()).await;
    db.close().await;
    result
}
