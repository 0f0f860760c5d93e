//! The throwaway-cluster path: forced start, queries, concurrent bootstraps on fresh roles, and
//! no cluster outliving its process (a child copy of this test binary holds one and then dies).

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pgkit::{DiscoverOptions, Server};

/// Environment variable that turns [`child_holds_a_cluster`] into the child process.
const CHILD_MODE: &str = "PGKIT_TEST_CHILD_MODE";

fn throwaway_opts() -> DiscoverOptions {
    DiscoverOptions {
        url: Some("postgres://ignored@192.0.2.1/x".to_owned()),
        force_throwaway: true,
    }
}

#[tokio::test]
async fn forced_throwaway_cluster_runs_queries_and_bootstraps() {
    let server = Arc::new(Server::discover(&throwaway_opts()).await.unwrap());
    assert!(server.is_throwaway());
    assert!(server.is_local());
    let dir = server.throwaway_dir().unwrap().to_owned();
    assert!(dir.join("data/PG_VERSION").exists());
    let described = server.describe();
    assert!(
        described.starts_with("postgres://postgres@127.0.0.1:"),
        "{described}"
    );

    let client = tokio_postgres::connect(&described, tokio_postgres::NoTls).await;
    assert!(client.is_ok(), "describe() is a usable URL: {described}");

    // Fresh cluster: the Supabase roles do not exist yet, so two concurrent bootstraps really
    // race on creating them.
    let a = server.create_database("pgkit_tw").await.unwrap();
    let b = server.create_database("pgkit_tw").await.unwrap();
    let (ra, rb) = tokio::join!(a.apply_bootstrap(), b.apply_bootstrap());
    ra.unwrap();
    rb.unwrap();
    let client = a.connect().await.unwrap();
    let row = client
        .query_one("SELECT count(*) FROM auth.users", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0);

    // psql understands the URL.
    if let Ok(out) = Command::new("psql")
        .arg(b.url())
        .args(["-tAc", "SELECT 40 + 2"])
        .output()
    {
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42", "{out:?}");
    }

    drop((client, a, b));
    drop(server);
    assert!(!dir.exists(), "{} left behind after drop", dir.display());
}

/// Run as a child process only: starts a throwaway cluster, reports it, then either exits
/// without dropping it (a static never is) or waits to be killed.
#[tokio::test]
#[ignore = "helper: runs as a child process of the leak tests"]
async fn child_holds_a_cluster() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let server = Server::discover(&throwaway_opts()).await.unwrap();
    let config = server.admin_config();
    let port = config.get_ports()[0];
    println!(
        "PGKIT_CLUSTER {port} {}",
        server.throwaway_dir().unwrap().display()
    );
    if mode == "exit" {
        // Like a process-wide static: never dropped.
        std::mem::forget(server);
        std::process::exit(0);
    }
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// Starts the child, returns its cluster's port and directory after `after_report` ran.
fn run_child(mode: &str, after_report: impl FnOnce(&mut std::process::Child)) -> (u16, PathBuf) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_holds_a_cluster",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MODE, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut found = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // libtest prints "test child_holds_a_cluster ... " before the test's own output.
        if let Some((_, rest)) = line.split_once("PGKIT_CLUSTER ") {
            let (port, dir) = rest.split_once(' ').unwrap();
            found = Some((port.parse().unwrap(), PathBuf::from(dir)));
            break;
        }
    }
    let found = found.expect("the child reported its cluster");
    assert!(found.1.exists());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", found.0)).is_ok(),
        "cluster is up"
    );
    after_report(&mut child);
    child.wait().unwrap();
    found
}

/// Waits up to 20 s for the cluster's port to close and its directory to disappear.
fn assert_gone(port: u16, dir: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if !listening && !dir.exists() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "cluster outlived its process (listening: {listening}, dir exists: {})",
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn cluster_is_gone_after_its_process_exits_without_dropping_it() {
    let (port, dir) = run_child("exit", |_| {});
    assert_gone(port, &dir);
}

#[test]
fn cluster_is_gone_after_its_process_is_killed() {
    let (port, dir) = run_child("kill", |child| child.kill().unwrap());
    assert_gone(port, &dir);
}
