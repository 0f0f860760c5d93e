//! Throwaway PostgreSQL cluster: `initdb` into a fresh temporary directory, `postgres` on a free
//! loopback port, stopped and deleted on `Drop`, and — because a process-wide static is never
//! dropped — also by a watchdog shell (`watchdog.sh`) when the owning process exits in any way.
//!
//! PostgreSQL refuses to run as root, so as root every server binary runs as the `postgres` OS
//! user (else `nobody`) through `runuser` (else `setpriv`, else `su`), and the directory is
//! handed to that user.

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::Config;

use crate::util::{self, Account, connect_within, tail};
use crate::{Error, Result};

/// The watchdog script run by `sh -c`.
const WATCHDOG: &str = include_str!("watchdog.sh");

/// How long the server may take to accept connections.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// The superuser `initdb` creates.
const SUPERUSER: &str = "postgres";

/// Marker line the watchdog appends to the log when postgres exits.
const EXITED: &str = "pgkit: postgres exited";

/// How many times a start is retried when the chosen port was taken in the meantime.
const PORT_ATTEMPTS: usize = 3;

/// The server programs, as absolute paths.
#[derive(Debug, Clone)]
struct Binaries {
    /// `initdb`.
    initdb: PathBuf,
    /// `postgres`.
    postgres: PathBuf,
    /// `pg_ctl`.
    pg_ctl: PathBuf,
}

/// How a program is run as another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// `runuser -u USER -- PROGRAM ARGS…`.
    Runuser,
    /// `setpriv --reuid=UID --regid=GID --clear-groups PROGRAM ARGS…`.
    Setpriv,
    /// `su -s /bin/sh -c 'exec "$0" "$@"' -- USER PROGRAM ARGS…`.
    Su,
}

impl Via {
    /// The tool's program name.
    fn program(self) -> &'static str {
        match self {
            Via::Runuser => "runuser",
            Via::Setpriv => "setpriv",
            Via::Su => "su",
        }
    }
}

/// The unprivileged user server programs run as, when we are root.
#[derive(Debug, Clone)]
struct RunAs {
    /// The account.
    account: Account,
    /// The switching tool.
    via: Via,
    /// Its absolute path.
    tool: PathBuf,
}

/// A running throwaway cluster; stopped and deleted on `Drop`.
pub(crate) struct Cluster {
    /// The temporary directory holding everything (data, socket, log).
    dir: PathBuf,
    /// The data directory inside `dir`.
    data: PathBuf,
    /// The loopback port.
    port: u16,
    /// The server programs.
    bins: Binaries,
    /// Set when running as root.
    run_as: Option<RunAs>,
    /// The watchdog shell; its stdin is the pipe whose closing stops the cluster.
    watchdog: Option<Child>,
}

impl Cluster {
    /// Initialises and starts a cluster and waits until it accepts connections.
    pub(crate) async fn start() -> Result<Cluster> {
        Cluster::start_via(None).await
    }

    /// [`Cluster::start`], with the user-switching tool forced (tests exercise each one).
    pub(crate) async fn start_via(via: Option<Via>) -> Result<Cluster> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let cluster = tokio::task::spawn_blocking(move || Cluster::launch(via))
                .await
                .map_err(|e| Error::Worker(e.to_string()))??;
            match cluster.wait_ready().await {
                Ok(()) => return Ok(cluster),
                Err(Error::ClusterStart { log_tail, .. })
                    if attempt < PORT_ATTEMPTS && log_tail.contains("Address already in use") =>
                {
                    // Someone took the port between our probe and the server's bind: go again
                    // (dropping the cluster deletes it).
                    tokio::task::spawn_blocking(move || drop(cluster))
                        .await
                        .map_err(|e| Error::Worker(e.to_string()))?;
                }
                Err(e) => {
                    tokio::task::spawn_blocking(move || drop(cluster))
                        .await
                        .map_err(|e| Error::Worker(e.to_string()))?;
                    return Err(e);
                }
            }
        }
    }

    /// Connect configuration for `dbname` as the cluster's superuser.
    pub(crate) fn config(&self, dbname: &str) -> Config {
        let mut config = Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(SUPERUSER)
            .dbname(dbname)
            .connect_timeout(Duration::from_secs(10));
        config
    }

    /// The temporary directory (deleted with the cluster).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Blocking part of the start: directory, `initdb`, the watchdog that starts `postgres`.
    fn launch(via: Option<Via>) -> Result<Cluster> {
        let bins = find_binaries()?;
        let run_as = if util::euid() == 0 {
            Some(unprivileged(via)?)
        } else {
            None
        };
        let dir = make_dir(run_as.as_ref())?;
        // From here on, Drop cleans up whatever exists.
        let mut cluster = Cluster {
            data: dir.join("data"),
            dir,
            port: 0,
            bins,
            run_as,
            watchdog: None,
        };
        cluster.initdb()?;
        cluster.port = free_port()?;
        cluster.spawn_postgres()?;
        Ok(cluster)
    }

    /// A command running `program` (as the unprivileged user when we are root), in `dir`.
    fn command(&self, program: &Path) -> Command {
        let mut command = match &self.run_as {
            None => Command::new(program),
            Some(RunAs {
                account,
                via: Via::Runuser,
                tool,
            }) => {
                let mut c = Command::new(tool);
                c.arg("-u").arg(&account.name).arg("--").arg(program);
                c
            }
            Some(RunAs {
                account,
                via: Via::Setpriv,
                tool,
            }) => {
                let mut c = Command::new(tool);
                c.arg(format!("--reuid={}", account.uid))
                    .arg(format!("--regid={}", account.gid))
                    .arg("--clear-groups")
                    .arg(program);
                c
            }
            Some(RunAs {
                account,
                via: Via::Su,
                tool,
            }) => {
                let mut c = Command::new(tool);
                // `--` ends su's options (it would otherwise take the program's `-D` as its own);
                // what follows the user name goes to the shell as $0, $1, …
                c.args(["-s", "/bin/sh", "-c", "exec \"$0\" \"$@\""])
                    .arg("--")
                    .arg(&account.name);
                c.arg(program);
                c
            }
        };
        // Client-side settings of the caller must not steer the server programs.
        for var in [
            "PGDATA",
            "PGPORT",
            "PGHOST",
            "PGUSER",
            "PGDATABASE",
            "PGOPTIONS",
        ] {
            command.env_remove(var);
        }
        command.current_dir(&self.dir).stdin(Stdio::null());
        command
    }

    /// `initdb` with trust authentication, superuser `postgres`, no fsync.
    fn initdb(&self) -> Result<()> {
        let mut command = self.command(&self.bins.initdb);
        command.arg("-D").arg(&self.data).args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        let output = command
            .output()
            .map_err(|e| Error::io(format!("running {}", self.bins.initdb.display()), e))?;
        if output.status.success() {
            return Ok(());
        }
        let text =
            String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        Err(Error::Command {
            command: describe_command(&command),
            status: output.status.to_string(),
            output: tail(&text, 20),
        })
    }

    /// Starts the watchdog shell, which starts `postgres` in the background.
    fn spawn_postgres(&mut self) -> Result<()> {
        let mut postgres = self.command(&self.bins.postgres);
        postgres
            .arg("-D")
            .arg(&self.data)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args([
                "-c",
                &format!(
                    "unix_socket_directories={}",
                    socket_dirs(&self.dir, self.port)
                ),
            ])
            .args([
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ])
            .args(["-c", "max_connections=200", "-c", "logging_collector=off"]);
        let sh = util::which("sh").unwrap_or_else(|| PathBuf::from("/bin/sh"));
        let mut watchdog = Command::new(sh);
        watchdog
            .arg("-c")
            .arg(WATCHDOG)
            .arg("pgkit-watchdog")
            .arg(&self.dir)
            .arg(&self.data)
            .arg(self.log_path())
            .arg(postgres.get_program())
            .args(postgres.get_args())
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group: a Ctrl-C on the terminal goes to the test run, not here; the
            // watchdog notices its owner is gone and cleans up.
            .process_group(0);
        for var in [
            "PGDATA",
            "PGPORT",
            "PGHOST",
            "PGUSER",
            "PGDATABASE",
            "PGOPTIONS",
        ] {
            watchdog.env_remove(var);
        }
        let child = watchdog
            .spawn()
            .map_err(|e| Error::io("starting the postgres watchdog", e))?;
        self.watchdog = Some(child);
        Ok(())
    }

    /// Where the server's output goes.
    fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// Tries to connect with backoff until [`READY_LIMIT`]; fails early when postgres exited.
    async fn wait_ready(&self) -> Result<()> {
        let config = self.config("postgres");
        let deadline = Instant::now() + READY_LIMIT;
        let mut pause = Duration::from_millis(20);
        loop {
            let last = match connect_within(&config, Duration::from_secs(2)).await {
                Ok(_client) => return Ok(()),
                Err(e) => e.to_string(),
            };
            let log = fs::read_to_string(self.log_path()).unwrap_or_default();
            if log.contains(EXITED) {
                return Err(Error::ClusterStart {
                    reason: "postgres exited during start-up".to_owned(),
                    log_tail: tail(&log, 30),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::ClusterStart {
                    reason: format!(
                        "no connection after {} s (last attempt: {last})",
                        READY_LIMIT.as_secs()
                    ),
                    log_tail: tail(&log, 30),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let mut stop = self.command(&self.bins.pg_ctl);
            stop.arg("stop")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "-t", "10"]);
            let _ = stop.stdout(Stdio::null()).stderr(Stdio::null()).status();
            // Closing the pipe releases the watchdog, which reaps postgres and deletes the dir.
            drop(watchdog.stdin.take());
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                match watchdog.try_wait() {
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Ok(None) | Err(_) => {
                        let _ = watchdog.kill();
                        let _ = watchdog.wait();
                        break;
                    }
                    Ok(Some(_)) => break,
                }
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `pg_config --bindir` (pg_config on PATH), else the newest `/usr/lib/postgresql/*/bin`, else
/// the programs found on PATH.
fn find_binaries() -> Result<Binaries> {
    let mut searched = Vec::new();
    let mut candidates = Vec::new();
    if let Some(pg_config) = util::which("pg_config") {
        searched.push(format!("`{} --bindir`", pg_config.display()));
        if let Ok(out) = Command::new(&pg_config)
            .arg("--bindir")
            .stderr(Stdio::null())
            .output()
        {
            if out.status.success() {
                let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                candidates.push(PathBuf::from(dir));
            }
        }
    }
    searched.push("/usr/lib/postgresql/*/bin".to_owned());
    let mut versioned: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
    candidates.extend(versioned.into_iter().map(|(_, dir)| dir));
    for dir in candidates {
        let bins = Binaries {
            initdb: dir.join("initdb"),
            postgres: dir.join("postgres"),
            pg_ctl: dir.join("pg_ctl"),
        };
        if [&bins.initdb, &bins.postgres, &bins.pg_ctl]
            .iter()
            .all(|p| util::is_executable(p))
        {
            return Ok(bins);
        }
    }
    searched.push("PATH".to_owned());
    match (
        util::which("initdb"),
        util::which("postgres"),
        util::which("pg_ctl"),
    ) {
        (Some(initdb), Some(postgres), Some(pg_ctl)) => Ok(Binaries {
            initdb,
            postgres,
            pg_ctl,
        }),
        _ => Err(Error::BinariesNotFound {
            searched: searched.join(", "),
        }),
    }
}

/// The `postgres` OS user if present, else `nobody`, with the first available switching tool
/// (or the forced one).
fn unprivileged(via: Option<Via>) -> Result<RunAs> {
    let account = util::account_by_name("postgres")
        .or_else(|| util::account_by_name("nobody"))
        .filter(|a| a.uid != 0)
        .ok_or_else(|| Error::NoUnprivilegedUser {
            reason: "neither a `postgres` nor a `nobody` user exists".to_owned(),
        })?;
    let order = match via {
        Some(via) => vec![via],
        None => vec![Via::Runuser, Via::Setpriv, Via::Su],
    };
    order
        .into_iter()
        .find_map(|via| {
            util::which(via.program()).map(|tool| RunAs {
                account: account.clone(),
                via,
                tool,
            })
        })
        .ok_or_else(|| Error::NoUnprivilegedUser {
            reason: "none of runuser, setpriv, su is installed".to_owned(),
        })
}

/// A fresh private directory `pgkit-<pid>-<random>`, owned by the server's user.
fn make_dir(run_as: Option<&RunAs>) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut parent = std::env::temp_dir();
    if run_as.is_some() && !world_traversable(&parent) {
        // The unprivileged user could not reach a root-only TMPDIR.
        parent = PathBuf::from("/tmp");
    }
    let mut tries = 0;
    let dir = loop {
        tries += 1;
        let random: String = (0..8).map(|_| fastrand::alphanumeric()).collect();
        let dir = parent.join(format!("pgkit-{}-{random}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => break dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 10 => {}
            Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
        }
    };
    let prepared =
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).and_then(|()| match run_as {
            Some(r) => std::os::unix::fs::chown(&dir, Some(r.account.uid), Some(r.account.gid)),
            None => Ok(()),
        });
    if let Err(e) = prepared {
        let _ = fs::remove_dir_all(&dir);
        return Err(Error::io(format!("preparing {}", dir.display()), e));
    }
    Ok(dir)
}

/// Whether every ancestor of `dir` can be traversed by other users.
fn world_traversable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    dir.ancestors()
        .all(|d| fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// A port nobody listens on right now (the kernel's choice).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Error::io("finding a free port", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("finding a free port", e))
}

/// `unix_socket_directories` value: the cluster's own directory (never the system one, which
/// may be missing or not ours), or none when the socket path would exceed the OS limit.
fn socket_dirs(dir: &Path, port: u16) -> String {
    let socket = format!("{}/.s.PGSQL.{port}", dir.display());
    let text = dir.to_string_lossy();
    if socket.len() >= 100 || text.contains('"') {
        String::new()
    } else {
        format!("\"{text}\"")
    }
}

/// The command line, for messages.
fn describe_command(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::connect;

    async fn check(cluster: &Cluster) {
        let client = connect(&cluster.config("postgres")).await.unwrap();
        let row = client.query_one("SHOW fsync", &[]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), "off");
        let row = client
            .query_one("SELECT current_user::text", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "postgres");
        if util::euid() == 0 {
            use std::os::unix::fs::MetadataExt as _;
            let owner = fs::metadata(&cluster.data).unwrap().uid();
            assert_ne!(owner, 0, "the data directory must not belong to root");
        }
    }

    /// Each user-switching tool works (only meaningful as root; elsewhere they are not used).
    #[tokio::test]
    async fn every_switching_tool_starts_a_cluster() {
        for via in [Via::Setpriv, Via::Su] {
            if util::euid() != 0 || util::which(via.program()).is_none() {
                eprintln!("skipped {via:?}: not root or not installed");
                continue;
            }
            let cluster = Cluster::start_via(Some(via)).await.unwrap();
            assert_eq!(cluster.run_as.as_ref().map(|r| r.via), Some(via));
            check(&cluster).await;
            let dir = cluster.dir.clone();
            drop(cluster);
            assert!(!dir.exists(), "{} left behind", dir.display());
        }
    }

    /// A server that dies during start-up is reported with its log, and nothing is left behind.
    #[tokio::test]
    async fn start_failure_reports_the_log_and_cleans_up() {
        let run_as = if util::euid() == 0 {
            Some(unprivileged(None).unwrap())
        } else {
            None
        };
        let dir = make_dir(run_as.as_ref()).unwrap();
        let mut bins = find_binaries().unwrap();
        // `postgres` on a data directory that was never initialised fails at once.
        bins.initdb = PathBuf::from("/nonexistent");
        let mut cluster = Cluster {
            data: dir.join("data"),
            dir: dir.clone(),
            port: 0,
            bins,
            run_as,
            watchdog: None,
        };
        cluster.port = free_port().unwrap();
        cluster.spawn_postgres().unwrap();
        let err = cluster.wait_ready().await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::ClusterStart { .. }), "{text}");
        assert!(text.contains("postgres exited during start-up"), "{text}");
        assert!(
            text.contains("data"),
            "the log tail names the problem: {text}"
        );
        drop(cluster);
        assert!(!dir.exists(), "{} left behind", dir.display());
    }

    #[test]
    fn socket_dir_is_quoted_or_disabled() {
        assert_eq!(
            socket_dirs(Path::new("/tmp/pgkit-1-a"), 5432),
            "\"/tmp/pgkit-1-a\""
        );
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(120)));
        assert_eq!(socket_dirs(&long, 5432), "");
    }

    #[test]
    fn binaries_are_found_here() {
        // This machine has PostgreSQL installed (the tests need it anyway).
        let bins = find_binaries().unwrap();
        assert!(bins.initdb.is_absolute() && util::is_executable(&bins.pg_ctl));
    }
}
