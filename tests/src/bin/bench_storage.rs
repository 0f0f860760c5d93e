//! `bench_storage`: the generated Storage client (`jobpilot_db::storage`) uploading a file
//! (`upload_file`, streamed from disk) and downloading it to a file (`download_to_file`,
//! streamed to disk) against the test Storage server (`jobpilot-storage-server`) on 127.0.0.1:
//! throughput, and the client's peak memory for a 10 MiB and a 100 MiB file (the goal: memory
//! independent of the file's size).
//!
//! ```text
//! cargo run --release -p jobpilot-tests --bin bench_storage -- [--runs N] [--write BENCHMARKS.md]
//! ```
//!
//! The server runs in this process; each measurement runs the client in a child process (this
//! binary again, with `--client`), which reads its own peak RSS (`VmHWM` in /proc/self/status)
//! after its runs, so the server's memory is not counted. Timings are printed and written,
//! never asserted.

use clap::Parser;
use jobpilot_db::storage::{BucketSpec, UploadOptions};
use jobpilot_db::{Storage, StorageConfig};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const SECTION: &str = "## Storage client";

/// The bucket the benchmark writes to: no size or type limit (the declared `documents` bucket
/// stops at 10 MiB).
const BENCH_BUCKET: BucketSpec = BucketSpec {
    id: "bench",
    public: false,
    file_size_limit: None,
    allowed_mime_types: None,
};

/// The child's environment: where the server is and the service-role key (not on the command
/// line, where `ps` would show it).
const URL_VAR: &str = "BENCH_STORAGE_URL";
const KEY_VAR: &str = "BENCH_STORAGE_KEY";

#[derive(Debug, Parser)]
#[command(name = "bench_storage", about)]
struct Args {
    /// Runs per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Replace the section of this file (BENCHMARKS.md).
    #[arg(long)]
    write: Option<PathBuf>,
    /// Internal: run as the client process: `upload` or `download`.
    #[arg(long, hide = true)]
    client: Option<String>,
    /// Internal (client): the object key.
    #[arg(long, hide = true)]
    object: Option<String>,
    /// Internal (client): the local file read or written.
    #[arg(long, hide = true)]
    file: Option<PathBuf>,
}

type BenchResult<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench_storage: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(op) = &args.client {
        return match runtime.block_on(client(op, &args)) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("bench_storage --client {op}: {e}");
                ExitCode::from(2)
            }
        };
    }
    jobpilot_tests::benchmarks::finish(
        "bench_storage",
        SECTION,
        runtime.block_on(run(&args)),
        args.write.as_deref(),
    )
}

/// A field of /proc/self/status, in KiB (`VmHWM`: peak RSS; `VmRSS`: RSS now).
fn status_kib(field: &str) -> BenchResult<u64> {
    jobpilot_tests::benchmarks::status_kib(field)
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}

/// The client process: `runs` uploads (upsert) or downloads of one object, timed; prints
/// `<ms> <ms> … | <peak RSS KiB> <RSS before the first transfer KiB>`.
async fn client(op: &str, args: &Args) -> BenchResult<String> {
    let url = std::env::var(URL_VAR).map_err(err)?;
    let key = std::env::var(KEY_VAR).map_err(err)?;
    let object = args.object.as_deref().ok_or("--object")?;
    let file = args.file.as_deref().ok_or("--file")?;
    let config = StorageConfig::new(&url, &key)
        .map_err(err)?
        .timeout(Duration::from_secs(120));
    let storage = Storage::new(config).map_err(err)?;
    let bucket = storage.bucket(&BENCH_BUCKET);
    let options = UploadOptions::new()
        .content_type("application/octet-stream")
        .upsert(true);
    let before = status_kib("VmRSS")?;
    let mut times = Vec::new();
    for _ in 0..args.runs.max(1) {
        let start = Instant::now();
        match op {
            "upload" => {
                bucket
                    .upload_file(object, file, &options)
                    .await
                    .map_err(err)?;
            }
            "download" => {
                let written = bucket.download_to_file(object, file).await.map_err(err)?;
                if written == 0 {
                    return Err("downloaded nothing".into());
                }
            }
            other => return Err(format!("unknown operation {other}")),
        }
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let times: Vec<String> = times.iter().map(|t| format!("{t:.1}")).collect();
    Ok(format!(
        "{} | {} {}",
        times.join(" "),
        status_kib("VmHWM")?,
        before
    ))
}

/// What a client process reported.
struct Measured {
    median: Duration,
    peak_kib: u64,
    start_kib: u64,
}

/// Runs this binary as the client for `op` on `object` and `file`.
fn run_client(
    storage_url: &str,
    key: &str,
    op: &str,
    object: &str,
    file: &Path,
    runs: usize,
) -> BenchResult<Measured> {
    let exe = std::env::current_exe().map_err(err)?;
    let out = Command::new(exe)
        .args([
            "--client",
            op,
            "--object",
            object,
            "--runs",
            &runs.to_string(),
        ])
        .arg("--file")
        .arg(file)
        .env(URL_VAR, storage_url)
        .env(KEY_VAR, key)
        .output()
        .map_err(err)?;
    if !out.status.success() {
        return Err(format!(
            "client {op} {object}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (times, memory) = text
        .trim()
        .split_once(" | ")
        .ok_or_else(|| format!("client output: {text}"))?;
    let mut times: Vec<f64> = times
        .split_whitespace()
        .map(|t| t.parse::<f64>().map_err(err))
        .collect::<BenchResult<_>>()?;
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let mut memory = memory
        .split_whitespace()
        .map(|m| m.parse::<u64>().map_err(err));
    let peak_kib = memory.next().ok_or("no peak")??;
    let start_kib = memory.next().ok_or("no start RSS")??;
    Ok(Measured {
        median: Duration::from_secs_f64(median / 1000.0),
        peak_kib,
        start_kib,
    })
}

/// A file of `size` bytes (byte i = i * 31 + 7 mod 256), written in 1 MiB chunks.
fn make_file(path: &Path, size: usize) -> BenchResult<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(err)?);
    let chunk: Vec<u8> = (0..1024 * 1024)
        .map(|i| ((i * 31 + 7) % 256) as u8)
        .collect();
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        file.write_all(&chunk[..n]).map_err(err)?;
        left -= n;
    }
    file.flush().map_err(err)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, m)| m.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The 1-minute load average.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Today's date (UTC), from `date`.
fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

async fn run(args: &Args) -> BenchResult<String> {
    let load_start = load_average();
    let server = jobpilot_storage_server::start_with_temp_db(
        "INSERT INTO storage.buckets (id, name) VALUES ('bench', 'bench')",
    )
    .await
    .map_err(err)?;
    let storage_url = server.supabase_url();
    let key = server.service_role_key();
    let dir = std::env::temp_dir().join(format!("jp_bench_storage_{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(err)?;
    let sizes: [(usize, &str); 3] = [
        (1024, "1 KiB"),
        (10 << 20, "10 MiB"),
        (100 << 20, "100 MiB"),
    ];
    let mut rows = Vec::new();
    let result = (|| -> BenchResult<()> {
        for (size, label) in sizes {
            let source = dir.join(format!("source-{size}"));
            let target = dir.join(format!("target-{size}"));
            make_file(&source, size)?;
            let object = format!("bench/{size}.bin");
            let up = run_client(&storage_url, &key, "upload", &object, &source, args.runs)?;
            let down = run_client(&storage_url, &key, "download", &object, &target, args.runs)?;
            let got = std::fs::metadata(&target).map_err(err)?.len();
            if got != size as u64 {
                return Err(format!("downloaded {got} bytes of {size}"));
            }
            rows.push((size, label, up, down));
            let _ = std::fs::remove_file(&source);
            let _ = std::fs::remove_file(&target);
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown().await;
    result?;

    let mut out = String::new();
    let _ = writeln!(out, "{SECTION}\n");
    let _ = writeln!(
        out,
        "The generated Storage client (`jobpilot_db::storage`, `upload_file` streamed from disk, \
         `download_to_file` streamed to disk) against the test Storage server \
         (`jobpilot-storage-server`, objects in a temporary directory) on 127.0.0.1, through \
         `Storage::bucket` on an unlimited bucket (the declared `documents` bucket stops at \
         10 MiB). Each line is a child process that holds only the client and does {} runs \
         (median shown); its peak RSS is its `VmHWM` after the runs, so the server, which runs \
         in the parent process, is not counted. Produced by:\n",
        args.runs.max(1)
    );
    let _ = writeln!(
        out,
        "```text\ncargo run --release -p jobpilot-tests --bin bench_storage -- --runs {} --write BENCHMARKS.md\n```\n",
        args.runs.max(1)
    );
    let _ = writeln!(
        out,
        "| file | operation | median time | throughput | client RSS before the first transfer | client peak RSS |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
    for (size, label, up, down) in &rows {
        for (op, m) in [("upload", up), ("download", down)] {
            let secs = m.median.as_secs_f64();
            let throughput = if *size >= 1 << 20 && secs > 0.0 {
                format!("{:.0} MiB/s", (*size as f64 / f64::from(1 << 20)) / secs)
            } else {
                "—".to_owned()
            };
            let _ = writeln!(
                out,
                "| {label} | {op} | {:.1} ms | {throughput} | {} | {} |",
                secs * 1000.0,
                mib(m.start_kib),
                mib(m.peak_kib)
            );
        }
    }
    let peak = |size: usize| {
        rows.iter()
            .find(|r| r.0 == size)
            .map(|r| r.2.peak_kib.max(r.3.peak_kib))
            .unwrap_or_default()
    };
    let (small, ten, hundred) = (peak(1024), peak(10 << 20), peak(100 << 20));
    let _ = writeln!(
        out,
        "\nMemory: from a 10 MiB to a 100 MiB file (10× the data) the client's peak RSS goes \
         from {} to {} ({:+.1} MiB); with a 1 KiB object it is {}. Memory does not grow with \
         the file's size: files are read and written in 64 KiB chunks, and bodies stream through \
         reqwest/hyper's bounded buffers.",
        mib(ten),
        mib(hundred),
        (hundred as f64 - ten as f64) / 1024.0,
        mib(small)
    );
    let _ = writeln!(
        out,
        "\nMachine: {} ({} CPUs), shared with other work (1-minute load average {} when the run \
         started, {} when it ended); client and server on the same machine over loopback \
         HTTP/1.1, the server writing each object to disk and `download_to_file` syncing the file \
         it writes. Run on {}.",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_start,
        load_average(),
        today()
    );
    Ok(out)
}
