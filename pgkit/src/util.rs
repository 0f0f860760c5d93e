//! Small helpers: connecting with a spawned connection task, password-free URLs, process and
//! user facts from the OS.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

use crate::{Error, Result};

/// Upper bound on a whole connection attempt (TCP connect + startup + authentication), so a
/// half-open server cannot hang a caller.
const CONNECT_LIMIT: Duration = Duration::from_secs(30);

/// Opens a connection and spawns its connection task on the current tokio runtime.
///
/// The client is bound to that runtime: callers must not keep it beyond the runtime (hence
/// [`crate::Server`] stores configurations, never clients).
pub(crate) async fn connect(config: &Config) -> Result<Client> {
    connect_within(config, CONNECT_LIMIT).await
}

/// [`connect`] with an explicit limit for the whole attempt.
pub(crate) async fn connect_within(config: &Config, limit: Duration) -> Result<Client> {
    let attempt = config.connect(NoTls);
    match tokio::time::timeout(limit, attempt).await {
        Ok(Ok((client, connection))) => {
            tokio::spawn(async move {
                // The error (if any) surfaces on the client's next request.
                let _ = connection.await;
            });
            Ok(client)
        }
        Ok(Err(source)) => Err(Error::Connect {
            target: url_of(config),
            source,
        }),
        Err(_) => Err(Error::ConnectTimeout {
            target: url_of(config),
            seconds: limit.as_secs(),
        }),
    }
}

/// `postgres://user@host:port/dbname` for `config`, never with the password: usable by `psql`
/// and `pg_dump` (a socket directory goes percent-encoded into the host part, which libpq
/// accepts).
pub(crate) fn url_of(config: &Config) -> String {
    let mut url = String::from("postgres://");
    if let Some(user) = config.get_user() {
        url.push_str(&encode(user.as_bytes()));
        url.push('@');
    }
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) if host.contains(':') => {
            url.push('[');
            url.push_str(host);
            url.push(']');
        }
        Some(Host::Tcp(host)) => url.push_str(host),
        Some(Host::Unix(path)) => url.push_str(&encode(path.as_os_str().as_encoded_bytes())),
        None => url.push_str("localhost"),
    }
    url.push(':');
    url.push_str(
        &config
            .get_ports()
            .first()
            .copied()
            .unwrap_or(5432)
            .to_string(),
    );
    url.push('/');
    if let Some(dbname) = config.get_dbname() {
        url.push_str(&encode(dbname.as_bytes()));
    }
    url
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `config` points at this machine (loopback or a unix socket), so process ids in
/// database names are meaningful.
pub(crate) fn is_local(config: &Config) -> bool {
    !config.get_hosts().is_empty()
        && config.get_hosts().iter().all(|host| match host {
            Host::Tcp(name) => matches!(name.as_str(), "127.0.0.1" | "localhost" | "::1"),
            Host::Unix(_) => true,
        })
}

/// Whether process `pid` exists (EPERM means it exists but belongs to someone else).
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The effective user id of this process.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and has no preconditions.
    unsafe { libc::geteuid() }
}

/// This machine's host name (distinguishes containers that share a loopback server but not a
/// process-id namespace).
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// A user account: name, uid, gid.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// Login name.
    pub(crate) name: String,
    /// User id.
    pub(crate) uid: u32,
    /// Primary group id.
    pub(crate) gid: u32,
}

/// Looks up a user by name (`getpwnam_r`).
pub(crate) fn account_by_name(name: &str) -> Option<Account> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero is a valid `passwd` (null pointers, zero ids); it is only read after
    // getpwnam_r filled it in.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and the buffer length is its real length.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    Some(Account {
        name: name.to_owned(),
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

/// The login name of the effective user (`getpwuid_r`), falling back to `$USER`.
pub(crate) fn current_user_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: as in `account_by_name`.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and the buffer length is its real length.
    let rc =
        unsafe { libc::getpwuid_r(euid(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: getpwuid_r succeeded, so pw_name points at a NUL-terminated string in `buf`.
        let name = unsafe { CStr::from_ptr(pwd.pw_name) };
        if let Ok(name) = name.to_str() {
            return Some(name.to_owned());
        }
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|s| !s.is_empty())
}

/// Finds an executable named `name` on `PATH`, then in the sbin directories (which root's
/// `PATH` usually has but a test runner's may not).
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a regular file with an execute bit.
pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_has_no_password_and_encodes_sockets() {
        let config: Config = "postgres://bob:secret@127.0.0.1:5433/my%20db"
            .parse()
            .unwrap();
        assert_eq!(url_of(&config), "postgres://bob@127.0.0.1:5433/my%20db");

        let mut config = Config::new();
        config
            .host_path("/tmp/pg sock")
            .user("postgres")
            .dbname("x")
            .port(5999);
        let url = url_of(&config);
        assert_eq!(url, "postgres://postgres@%2Ftmp%2Fpg%20sock:5999/x");
        // tokio-postgres (like libpq) reads it back as a socket directory.
        let back: Config = url.parse().unwrap();
        assert!(matches!(back.get_hosts(), [Host::Unix(p)] if p == Path::new("/tmp/pg sock")));
        assert!(is_local(&back));
    }

    #[test]
    fn locality() {
        let local: Config = "postgres://u@localhost/db".parse().unwrap();
        let remote: Config = "postgres://u@db.example.supabase.co:5432/postgres"
            .parse()
            .unwrap();
        assert!(is_local(&local));
        assert!(!is_local(&remote));
    }

    #[test]
    fn pids() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
        assert!(!pid_alive(u32::MAX));
    }

    #[test]
    fn tails() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
