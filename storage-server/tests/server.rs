//! The server's own behaviour where storage-js cannot reach: ranges, injected failures and delays,
//! expired tokens, row-level security with `storage.foldername`, hostile keys, error shapes.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use jobpilot_storage_server::{TestStorage, start_with_temp_db};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

const SETUP: &str = r#"
INSERT INTO storage.buckets (id, name) VALUES ('documents', 'documents');
INSERT INTO storage.buckets (id, name, public) VALUES ('open', 'open', true);
INSERT INTO storage.buckets (id, name, file_size_limit, allowed_mime_types)
  VALUES ('small', 'small', 1048576, ARRAY['image/*']);
CREATE POLICY "own folder: read" ON storage.objects FOR SELECT TO authenticated
  USING (bucket_id = 'documents' AND (storage.foldername(name))[1] = auth.uid()::text);
CREATE POLICY "own folder: write" ON storage.objects FOR INSERT TO authenticated
  WITH CHECK (bucket_id = 'documents' AND (storage.foldername(name))[1] = auth.uid()::text);
"#;

async fn start() -> TestStorage {
    start_with_temp_db(SETUP).await.unwrap()
}

fn url(s: &TestStorage, path: &str) -> String {
    format!("{}{path}", s.storage_url())
}

async fn upload(s: &TestStorage, key: &str, path: &str, body: Vec<u8>) -> Response {
    Client::new()
        .post(url(s, path))
        .bearer_auth(key)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// An error answer: HTTP status, and the body's statusCode and code.
async fn error_of(res: Response) -> (u16, String, String, String) {
    let status = res.status().as_u16();
    let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    (status, field("statusCode"), field("code"), field("message"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_requests_answer_206() {
    let s = start().await;
    let key = s.service_role_key();
    let bytes: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let res = upload(&s, &key, "/object/documents/r.bin", bytes.clone()).await;
    assert_eq!(res.status(), 200);
    let http = Client::new();
    let get = |range: &'static str| {
        http.get(url(&s, "/object/documents/r.bin"))
            .bearer_auth(&key)
            .header("range", range)
            .send()
    };
    let res = get("bytes=10-19").await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.headers()["content-range"], "bytes 10-19/1000");
    assert_eq!(res.headers()["content-length"], "10");
    assert_eq!(res.bytes().await.unwrap(), bytes[10..20]);
    let res = get("bytes=-5").await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap(), bytes[995..]);
    let res = get("bytes=990-").await.unwrap();
    assert_eq!(res.headers()["content-range"], "bytes 990-999/1000");
    let (status, code, name, _) = error_of(get("bytes=2000-").await.unwrap()).await;
    assert_eq!(
        (status, code.as_str(), name.as_str()),
        (400, "400", "InvalidRange")
    );
    let full = http
        .get(url(&s, "/object/documents/r.bin"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    assert!(full.headers().contains_key("etag"));
    assert_eq!(full.bytes().await.unwrap(), bytes);
    // Signed URLs honour Range too.
    let signed: Value = http
        .post(url(&s, "/object/sign/documents/r.bin"))
        .bearer_auth(&key)
        .json_body(r#"{"expiresIn": 60}"#)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    let path = signed["signedURL"].as_str().unwrap();
    let res = http
        .get(url(&s, path))
        .header("range", "bytes=0-0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap(), bytes[..1]);
}

/// reqwest without its `json` feature: small helpers.
trait JsonExt {
    fn json_body(self, body: &'static str) -> Self;
}
impl JsonExt for reqwest::RequestBuilder {
    fn json_body(self, body: &'static str) -> Self {
        self.header("content-type", "application/json").body(body)
    }
}
trait JsonValue {
    async fn json_value(self) -> Value;
}
impl JsonValue for Response {
    async fn json_value(self) -> Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_next_fails_twice_then_succeeds() {
    let s = start().await;
    let key = s.service_role_key();
    let before = s.requests();
    s.fail_next(2, 503);
    for _ in 0..2 {
        // An upload with a body: the client must read the 503, not a reset connection.
        let res = upload(&s, &key, "/object/documents/retry.bin", vec![7; 256 * 1024]).await;
        let (status, code, name, _) = error_of(res).await;
        assert_eq!((status, code.as_str()), (503, "503"));
        assert_eq!(name, "DatabaseConnectionLimit");
    }
    let res = upload(&s, &key, "/object/documents/retry.bin", vec![7; 256 * 1024]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(s.requests() - before, 3);
    // Other statuses.
    s.fail_next(1, 500);
    let res = Client::new()
        .get(url(&s, "/bucket"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.json_value().await["statusCode"], "500");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_next_makes_a_client_time_out() {
    let s = start().await;
    let key = s.service_role_key();
    s.delay_next(1, Duration::from_millis(800));
    let http = Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = http
        .get(url(&s, "/bucket"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let res = http
        .get(url(&s, "/bucket"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(s.requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_foreign_tokens_are_refused() {
    let s = start().await;
    let key = s.service_role_key();
    let http = Client::new();
    assert_eq!(
        upload(&s, &key, "/object/documents/t.txt", b"t".to_vec())
            .await
            .status(),
        200
    );
    // A signed URL that expires.
    let signed = http
        .post(url(&s, "/object/sign/documents/t.txt"))
        .bearer_auth(&key)
        .json_body(r#"{"expiresIn": 2}"#)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    let path = signed["signedURL"].as_str().unwrap().to_owned();
    assert!(
        path.starts_with("/object/sign/documents/t.txt?token="),
        "{path}"
    );
    assert_eq!(http.get(url(&s, &path)).send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, code, name, message) =
        error_of(http.get(url(&s, &path)).send().await.unwrap()).await;
    assert_eq!(
        (status, code.as_str(), name.as_str(), message.as_str()),
        (400, "400", "InvalidJWT", "jwt expired")
    );
    // A (still valid) token used for another object.
    let fresh = http
        .post(url(&s, "/object/sign/documents/t.txt"))
        .bearer_auth(&key)
        .json_body(r#"{"expiresIn": 60}"#)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    let other = fresh["signedURL"]
        .as_str()
        .unwrap()
        .replace("t.txt", "u.txt");
    let (_, _, name, message) = error_of(http.get(url(&s, &other)).send().await.unwrap()).await;
    assert_eq!(name, "InvalidSignature", "{message}");
    // An expired user JWT as bearer.
    let user = uuid::Uuid::from_u128(fastrand::u128(..));
    let expired = s.user_jwt(user, Duration::ZERO);
    let (status, code, name, message) = error_of(
        http.get(url(&s, "/bucket"))
            .bearer_auth(&expired)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str(), name.as_str(), message.as_str()),
        (400, "403", "AccessDenied", "jwt expired")
    );
    // No Authorization at all.
    let (status, code, _, message) =
        error_of(http.get(url(&s, "/bucket")).send().await.unwrap()).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (
            400,
            "400",
            "headers must have required property 'authorization'"
        )
    );
    // A signed upload URL token used on another path.
    let signed = http
        .post(url(&s, "/object/upload/sign/documents/up.txt"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    let upload_url = signed["url"]
        .as_str()
        .unwrap()
        .replace("up.txt", "down.txt");
    let (_, _, name, _) = error_of(
        http.put(url(&s, &upload_url))
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(name, "InvalidSignature");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_level_security_decides_for_users() {
    let s = start().await;
    let alice = uuid::Uuid::from_u128(fastrand::u128(..));
    let bob = uuid::Uuid::from_u128(fastrand::u128(..));
    let alice_jwt = s.user_jwt(alice, Duration::from_secs(600));
    let http = Client::new();
    let own = format!("/object/documents/{alice}/cv.pdf");
    assert_eq!(
        upload(&s, &alice_jwt, &own, b"cv".to_vec()).await.status(),
        200
    );
    let (status, code, name, message) = error_of(
        upload(
            &s,
            &alice_jwt,
            &format!("/object/documents/{bob}/cv.pdf"),
            b"x".to_vec(),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str(), name.as_str()),
        (400, "403", "AccessDenied")
    );
    assert!(message.contains("row-level security"), "{message}");
    // The row carries the owner.
    let db = s.connect().await.unwrap();
    let row = db
        .query_one(
            "SELECT owner::text, owner_id, metadata->>'size', metadata->>'mimetype' FROM storage.objects WHERE name = $1",
            &[&format!("{alice}/cv.pdf")],
        )
        .await
        .unwrap();
    let alice_text = alice.to_string();
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some(alice_text.as_str())
    );
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some(alice_text.as_str())
    );
    assert_eq!(row.get::<_, Option<String>>(2).as_deref(), Some("2"));
    assert_eq!(
        row.get::<_, Option<String>>(3).as_deref(),
        Some("application/octet-stream")
    );
    // Bob's object, written by the service role, is invisible to Alice.
    let key = s.service_role_key();
    let bobs = format!("/object/documents/{bob}/secret.txt");
    assert_eq!(upload(&s, &key, &bobs, b"s".to_vec()).await.status(), 200);
    let (_, code, name, _) = error_of(
        http.get(url(&s, &bobs))
            .bearer_auth(&alice_jwt)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((code.as_str(), name.as_str()), ("404", "NoSuchKey"));
    // Anonymous: no policy, nothing.
    let anon = s.anon_key();
    let (_, code, _, _) =
        error_of(upload(&s, &anon, "/object/documents/x.txt", b"x".to_vec()).await).await;
    assert_eq!(code, "403");
    // No UPDATE policy: an upsert over her own object is refused, the plain insert was fine.
    let res = Client::new()
        .put(url(&s, &own))
        .bearer_auth(&alice_jwt)
        .body("new")
        .send()
        .await
        .unwrap();
    let (_, code, _, _) = error_of(res).await;
    assert_eq!(code, "403");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_never_leave_the_data_dir() {
    let s = start().await;
    let key = s.service_role_key();
    let parent = s.data_dir.path().parent().unwrap().to_path_buf();
    let before: Vec<_> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let hostile = [
        ("..%2Fescape.txt", "../escape.txt"),
        ("..%2F..%2F..%2Ftmp%2Fescape.txt", "../../../tmp/escape.txt"),
        ("%2Fetc%2Fescape.txt", "/etc/escape.txt"),
        ("a%2F..%2F..%2Fescape.txt", "a/../../escape.txt"),
    ];
    for (encoded, name) in hostile {
        let path = format!("/object/documents/{encoded}");
        let res = upload(&s, &key, &path, name.as_bytes().to_vec()).await;
        assert_eq!(res.status(), 200, "{name}: {}", res.text().await.unwrap());
        let got = Client::new()
            .get(url(&s, &path))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap(), name.as_bytes(), "{name}");
    }
    // Control characters are refused.
    let (_, _, name, _) =
        error_of(upload(&s, &key, "/object/documents/a%00b", b"x".to_vec()).await).await;
    assert_eq!(name, "InvalidKey");
    // Only server-named files exist, all inside the data dir.
    let mut entries: Vec<String> = std::fs::read_dir(s.data_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["objects", "tmp"]);
    let objects: Vec<String> = std::fs::read_dir(s.data_dir.path().join("objects"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(objects.len(), 4);
    assert!(
        objects.iter().all(|n| uuid::Uuid::parse_str(n).is_ok()),
        "{objects:?}"
    );
    assert_eq!(
        std::fs::read_dir(s.data_dir.path().join("tmp"))
            .unwrap()
            .count(),
        0
    );
    let after: Vec<_> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !after.iter().any(|n| n.to_string_lossy().contains("escape")),
        "{after:?}"
    );
    assert!(!std::path::Path::new("/etc/escape.txt").exists());
    assert!(before.len() <= after.len() + 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_and_removed_objects_free_their_files() {
    let s = start().await;
    let key = s.service_role_key();
    let http = Client::new();
    let files = || {
        std::fs::read_dir(s.data_dir.path().join("objects"))
            .unwrap()
            .count()
    };
    assert_eq!(
        upload(&s, &key, "/object/documents/f.txt", b"1".to_vec())
            .await
            .status(),
        200
    );
    let res = http
        .post(url(&s, "/object/documents/f.txt"))
        .bearer_auth(&key)
        .header("x-upsert", "true")
        .body("2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(files(), 1);
    let res = http
        .delete(url(&s, "/object/documents/f.txt"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.json_value().await["message"], "Successfully deleted");
    assert_eq!(files(), 0);
    let (_, code, name, _) = error_of(
        http.delete(url(&s, "/object/documents/f.txt"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((code.as_str(), name.as_str()), ("404", "NoSuchKey"));
    // Unknown routes answer 404 with the error shape.
    let res = http.get(url(&s, "/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    // Public bucket download without auth; missing object there → 404 NoSuchKey.
    assert_eq!(
        upload(&s, &key, "/object/open/p.txt", b"p".to_vec())
            .await
            .status(),
        200
    );
    let res = http
        .get(url(&s, "/object/public/open/p.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap(), &b"p"[..]);
    let (_, code, _, _) = error_of(
        http.get(url(&s, "/object/public/open/q.txt"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, "404");
}

fn multipart(mime: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----jobpilot-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"cacheControl\"\r\n\r\n3600\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"\"; filename=\"blob\"\r\n\
             Content-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_limits_are_answered_not_reset() {
    let s = start().await;
    let key = s.service_role_key();
    let http = Client::new();
    let big = vec![1u8; 8 * 1024 * 1024];
    let send = |content_type: String, body: Vec<u8>| {
        http.post(url(&s, "/object/small/x.png"))
            .bearer_auth(&key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases = [
        ("raw, too large", "image/png".to_owned(), big.clone(), "413"),
        (
            "raw, wrong type",
            "text/plain".to_owned(),
            big.clone(),
            "415",
        ),
        {
            let (ct, body) = multipart("image/png", &big);
            ("multipart, too large", ct, body, "413")
        },
        {
            let (ct, body) = multipart("application/pdf", &big);
            ("multipart, wrong type", ct, body, "415")
        },
    ];
    for (what, content_type, body, want) in cases {
        let (status, code, _, message) = error_of(send(content_type, body).await.unwrap()).await;
        assert_eq!((status, code.as_str()), (400, want), "{what}: {message}");
    }
    // Within the limits: fine, and nothing of the refused uploads is left behind.
    let (ct, body) = multipart("image/png", &[9u8; 1000]);
    let res = send(ct, body).await.unwrap();
    assert_eq!(res.status(), 200);
    let got = http
        .get(url(&s, "/object/small/x.png"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.headers()["cache-control"], "max-age=3600");
    assert_eq!(got.bytes().await.unwrap(), vec![9u8; 1000]);
    assert_eq!(
        std::fs::read_dir(s.data_dir.path().join("tmp"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(s.data_dir.path().join("objects"))
            .unwrap()
            .count(),
        1
    );
}
