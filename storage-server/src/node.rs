//! Running the Node.js scripts in `js/` (storage-js fidelity and interop), installing their
//! dependencies with `npm ci` first when `node_modules` is missing.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::error::Error;

/// How to get Node.js, in every error that says it is missing.
const INSTALL_HINT: &str = "Node.js 20+ and npm are needed to run Supabase's storage-js against the \
test Storage server: install them (Debian: `apt-get install nodejs npm`; or from nodejs.org), or set \
JOBPILOT_SKIP_JS=1 to skip the JavaScript tests";

/// The `js/` directory of this crate (package.json, package-lock.json, the scripts).
pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Whether `JOBPILOT_SKIP_JS=1` asks to skip the tests that need Node.js.
pub fn skip_js() -> bool {
    std::env::var("JOBPILOT_SKIP_JS").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// `program --version`, or an error that says how to install Node.js.
async fn version(program: &str) -> Result<String, Error> {
    let output = tokio::process::Command::new(program)
        .arg("--version")
        .output()
        .await
        .map_err(|e| {
            Error::Node(format!(
                "`{program} --version` failed ({e}). {INSTALL_HINT}"
            ))
        })?;
    if !output.status.success() {
        return Err(Error::Node(format!(
            "`{program} --version` exited with {}. {INSTALL_HINT}",
            output.status
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// An exclusive `flock` on a file, released on drop (so parallel test processes run `npm ci` once).
struct FileLock(std::fs::File);

impl FileLock {
    fn acquire(path: &Path) -> Result<Self, Error> {
        use std::os::fd::AsRawFd as _;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        // SAFETY: flock on a file descriptor this function owns; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(Error::io(
                format!("locking {}", path.display()),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(Self(file))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd as _;
        // SAFETY: as in acquire; closing the file releases the lock anyway.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Runs `npm ci` in `js/` unless storage-js is already installed there.
pub async fn ensure_node_modules() -> Result<(), Error> {
    let dir = js_dir();
    // Installed, and the version package.json pins (a stale node_modules is reinstalled).
    let installed = || {
        let version_of = |path: std::path::PathBuf, pointer: &str| {
            let text = std::fs::read_to_string(path).ok()?;
            let json: serde_json::Value = serde_json::from_str(&text).ok()?;
            json.pointer(pointer)?.as_str().map(str::to_owned)
        };
        let wanted = version_of(
            dir.join("package.json"),
            "/dependencies/@supabase~1storage-js",
        );
        let have = version_of(
            dir.join("node_modules/@supabase/storage-js/package.json"),
            "/version",
        );
        have.is_some() && have == wanted
    };
    if installed() {
        return Ok(());
    }
    version("npm").await?;
    let lock_path = dir.join(".npm-ci.lock");
    let lock = tokio::task::spawn_blocking(move || FileLock::acquire(&lock_path))
        .await
        .map_err(|e| Error::Node(format!("waiting for the npm lock: {e}")))??;
    if installed() {
        drop(lock);
        return Ok(());
    }
    let output = tokio::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .output()
        .await
        .map_err(|e| {
            Error::Node(format!(
                "running `npm ci` in {}: {e}. {INSTALL_HINT}",
                dir.display()
            ))
        })?;
    drop(lock);
    if !output.status.success() {
        return Err(Error::Node(format!(
            "`npm ci` in {} failed ({}); it needs the npm registry.\nstdout:\n{}\nstderr:\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

/// Runs `node <script> <args…>` in `js/` with `env` added to the environment, after making sure
/// Node.js is there and storage-js is installed (`npm ci`). The output is returned whatever the exit
/// status: the caller asserts on it.
///
/// The scripts read `STORAGE_URL` (the storage root, [`crate::StorageServer::storage_url`]) and
/// `STORAGE_KEY` (the bearer JWT). `interop.mjs write|read <bucket> <prefix>` is the cross-client
/// check used by the Rust client's tests.
pub async fn run_node_script(
    script: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<Output, Error> {
    version("node").await?;
    ensure_node_modules().await?;
    let dir = js_dir();
    let mut command = tokio::process::Command::new("node");
    command.arg(script).args(args).current_dir(&dir);
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .output()
        .await
        .map_err(|e| Error::Node(format!("running `node {script}` in {}: {e}", dir.display())))
}
