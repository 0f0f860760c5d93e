//! Runs the test Storage server by hand: `DATABASE_URL`, `JWT_SECRET` and `DATA_DIR` from the
//! environment; prints the URLs and keys, serves until Ctrl-C. A test server, not for production.

use std::process::ExitCode;

use jobpilot_storage_server::{Config, StorageServer};

#[tokio::main]
async fn main() -> ExitCode {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(database_url), Some(jwt_secret)) = (var("DATABASE_URL"), var("JWT_SECRET")) else {
        eprintln!(
            "set DATABASE_URL (a database with the Supabase bootstrap) and JWT_SECRET; DATA_DIR is optional"
        );
        return ExitCode::from(2);
    };
    let data_dir =
        var("DATA_DIR").map_or_else(|| std::env::temp_dir().join("jobpilot-storage"), Into::into);
    let server = match StorageServer::start(Config {
        database_url,
        jwt_secret,
        data_dir,
    })
    .await
    {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("SUPABASE_URL={}", server.supabase_url());
    println!("STORAGE_URL={}", server.storage_url());
    println!("SERVICE_ROLE_KEY={}", server.service_role_key());
    println!("ANON_KEY={}", server.anon_key());
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}
