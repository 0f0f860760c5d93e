//! The fidelity proof: Supabase's official JavaScript client, `@supabase/storage-js` 2.119.1
//! (pinned in `js/package-lock.json`), drives every operation against this server
//! (`js/fidelity.mjs`). Needs Node.js and npm (the npm registry for `npm ci` on first run);
//! `JOBPILOT_SKIP_JS=1` skips it.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use jobpilot_storage_server::{run_node_script, skip_js, start_with_temp_db};

/// Users may read and write only under a folder named after their own id, in bucket `user-docs`
/// (the classic Supabase per-user folder policy).
const SETUP: &str = r#"
CREATE POLICY "own folder: read" ON storage.objects FOR SELECT TO authenticated
  USING (bucket_id = 'user-docs' AND (storage.foldername(name))[1] = auth.uid()::text);
CREATE POLICY "own folder: write" ON storage.objects FOR INSERT TO authenticated
  WITH CHECK (bucket_id = 'user-docs' AND (storage.foldername(name))[1] = auth.uid()::text);
CREATE POLICY "own folder: update" ON storage.objects FOR UPDATE TO authenticated
  USING (bucket_id = 'user-docs' AND (storage.foldername(name))[1] = auth.uid()::text);
CREATE POLICY "own folder: delete" ON storage.objects FOR DELETE TO authenticated
  USING (bucket_id = 'user-docs' AND (storage.foldername(name))[1] = auth.uid()::text);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_js_drives_every_operation() {
    if skip_js() {
        eprintln!("skipped: JOBPILOT_SKIP_JS=1");
        return;
    }
    let storage = start_with_temp_db(SETUP).await.unwrap();
    let user = uuid::Uuid::from_u128(fastrand::u128(..));
    let other = uuid::Uuid::from_u128(fastrand::u128(..));
    let env = [
        ("STORAGE_URL", storage.storage_url()),
        ("SERVICE_KEY", storage.service_role_key()),
        ("ANON_KEY", storage.anon_key()),
        ("USER_ID", user.to_string()),
        ("USER_JWT", storage.user_jwt(user, Duration::from_secs(600))),
        ("OTHER_USER_ID", other.to_string()),
    ];
    let output = match run_node_script("fidelity.mjs", &[], &env).await {
        Ok(output) => output,
        Err(e) => panic!("could not run storage-js: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("\"ok\":false"))
        .collect();
    assert!(
        output.status.success(),
        "storage-js found the test server unfaithful ({}):\nfailed checks:\n{}\n\nfull output:\n{stdout}\nstderr:\n{stderr}",
        output.status,
        failed.join("\n"),
    );
    assert!(
        stdout.contains("\"summary\":true") && stdout.contains("\"failed\":0"),
        "fidelity.mjs ended without its summary:\n{stdout}\nstderr:\n{stderr}"
    );
    storage.shutdown().await;
}
