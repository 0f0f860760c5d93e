//! `js/interop.mjs`, the cross-client check the Rust Storage client's tests call, proven here with
//! plain HTTP before that client exists: what storage-js writes, HTTP reads, and the other way
//! round. `JOBPILOT_SKIP_JS=1` skips it.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jobpilot_storage_server::{run_node_script, skip_js, start_with_temp_db};

const SIZE: usize = 1024 * 1024;

fn pattern(mul: usize, add: usize) -> Vec<u8> {
    (0..SIZE).map(|i| ((i * mul + add) % 256) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_script_writes_and_reads() {
    if skip_js() {
        eprintln!("skipped: JOBPILOT_SKIP_JS=1");
        return;
    }
    let storage =
        start_with_temp_db("INSERT INTO storage.buckets (id, name) VALUES ('interop', 'interop')")
            .await
            .unwrap();
    let key = storage.service_role_key();
    let env = [
        ("STORAGE_URL", storage.storage_url()),
        ("STORAGE_KEY", key.clone()),
    ];
    let http = reqwest::Client::new();
    let object = |name: &str| format!("{}/object/interop/run-1/{name}", storage.storage_url());

    // storage-js writes, HTTP reads.
    let out = run_node_script("interop.mjs", &["write", "interop", "run-1"], &env)
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "interop.mjs write failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let txt = http
        .get(object("from-js.txt"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(txt.status(), 200);
    assert_eq!(txt.headers()["content-type"], "text/plain");
    assert_eq!(txt.text().await.unwrap(), "hello from storage-js");
    let bin = http
        .get(object("from-js.bin"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(bin.headers()["content-type"], "application/octet-stream");
    assert!(
        bin.bytes().await.unwrap() == pattern(31, 7),
        "from-js.bin differs"
    );

    // Nothing written yet: read mode must fail and say what is missing.
    let out = run_node_script("interop.mjs", &["read", "interop", "run-1"], &env)
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("from-rust.txt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // HTTP writes, storage-js reads.
    for (name, body, mime) in [
        (
            "from-rust.txt",
            b"hello from the rust client".to_vec(),
            "text/plain",
        ),
        ("from-rust.bin", pattern(17, 3), "application/octet-stream"),
    ] {
        let res = http
            .post(object(name))
            .bearer_auth(&key)
            .header("content-type", mime)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let out = run_node_script("interop.mjs", &["read", "interop", "run-1"], &env)
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "interop.mjs read failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A wrong byte is caught.
    let mut wrong = pattern(17, 3);
    wrong[SIZE / 2] ^= 1;
    let res = http
        .put(object("from-rust.bin"))
        .bearer_auth(&key)
        .body(wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let out = run_node_script("interop.mjs", &["read", "interop", "run-1"], &env)
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("differs at byte {}", SIZE / 2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    storage.shutdown().await;
}
