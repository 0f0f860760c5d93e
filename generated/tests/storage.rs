//! The generated Storage client (`jobpilot_db::storage`) against the test Storage server
//! (`jobpilot-storage-server`) on a throwaway database with the Supabase bootstrap and the
//! baseline migration (which creates the `documents` bucket and its policies): every method,
//! every client-side check (and that nothing was sent), errors, retries, timeouts, secrets,
//! row-level security, and interop with storage-js. Hand-written; `codegen generate` writes
//! only `src/`.

// Tests may panic: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use futures_util::StreamExt;
use jobpilot_db::StorageConfig;
use jobpilot_db::storage::{
    Bucket, BucketSpec, ErrorCode, KeyProblem, MAX_KEY_BYTES, RetryPolicy, SortColumn, SortOrder,
    StorageRole, UploadBody,
};
use jobpilot_storage_server::TestStorage;
use std::path::Path;

// README example start
use jobpilot_db::Storage;
use jobpilot_db::storage::{ListOptions, StorageError, UploadOptions};
use std::time::Duration;

/// Stores a user's résumé in their folder of the `documents` bucket (streamed from the file,
/// checked against the bucket's size and type limits first) and returns a download link that
/// works for an hour.
async fn store_resume(
    storage: &Storage,
    user: uuid::Uuid,
    file: &std::path::Path,
) -> Result<String, StorageError> {
    let docs = storage.documents();
    let key = format!("{user}/resume.pdf");
    let options = UploadOptions::new()
        .content_type("application/pdf")
        .upsert(true);
    docs.upload_file(&key, file, &options).await?;
    docs.signed_url(&key, Duration::from_secs(3600)).await
}

/// The names of the objects in a user's folder, every page of the listing.
async fn my_files(storage: &Storage, user: uuid::Uuid) -> Result<Vec<String>, StorageError> {
    let entries = storage
        .documents()
        .list_all(&user.to_string(), &ListOptions::new())
        .await?;
    Ok(entries
        .into_iter()
        .filter(|e| !e.is_folder())
        .map(|e| e.name)
        .collect())
}
// README example end

/// A running server on its own database (the bootstrap and the baseline migration applied) and
/// data directory, a service-role client, and a directory for the tests' files.
struct Env {
    server: TestStorage,
    storage: Storage,
    dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        Env::with(|c| c).await
    }

    async fn with(adjust: impl FnOnce(StorageConfig) -> StorageConfig) -> Env {
        let baseline = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/0001_baseline.up.sql"),
        )
        .unwrap();
        let server = jobpilot_storage_server::start_with_temp_db(&baseline)
            .await
            .unwrap();
        let config = StorageConfig::new(&server.supabase_url(), &server.service_role_key())
            .unwrap()
            .with_anon_key(&server.anon_key())
            .unwrap()
            .retry(RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(50),
            });
        let storage = Storage::new(adjust(config)).unwrap();
        Env {
            server,
            storage,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn documents(&self) -> Bucket<'_> {
        self.storage.documents()
    }

    /// A client acting as `user`.
    fn user(&self, user: uuid::Uuid) -> Storage {
        let jwt = self.server.user_jwt(user, Duration::from_secs(3600));
        self.storage.as_user(&jwt).unwrap()
    }

    /// Creates a bucket that is not in `schema/`.
    async fn create_bucket(&self, sql: &str) {
        self.server
            .connect()
            .await
            .unwrap()
            .batch_execute(sql)
            .await
            .unwrap();
    }
}

fn text() -> UploadOptions {
    UploadOptions::new().content_type("text/plain")
}

/// `n` bytes with byte i = (i * 31 + 7) % 256.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + 7) % 256) as u8).collect()
}

fn api(e: &StorageError) -> (u16, ErrorCode) {
    let api = e.api().unwrap_or_else(|| panic!("not an API error: {e:?}"));
    (api.status, api.code.clone())
}

#[tokio::test]
async fn upload_download_info_and_exists() {
    let env = Env::start().await;
    let docs = env.documents();
    let uploaded = docs
        .upload(
            "u1/notes.txt",
            "hello storage",
            &text().cache_max_age(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(uploaded.key, "u1/notes.txt");
    assert!(uploaded.id.is_some());

    let download = docs.download("u1/notes.txt").await.unwrap();
    assert_eq!(download.content_type(), Some("text/plain"));
    assert_eq!(download.content_length(), Some(13));
    assert!(!format!("{download:?}").contains("token"));
    assert_eq!(
        download.into_bytes().await.unwrap(),
        Bytes::from("hello storage")
    );

    let info = docs.info("u1/notes.txt").await.unwrap();
    assert_eq!(info.size, Some(13));
    assert_eq!(info.content_type.as_deref(), Some("text/plain"));
    assert_eq!(info.id, uploaded.id);
    assert_eq!(info.cache_control.as_deref(), Some("max-age=60"));
    assert!(docs.exists("u1/notes.txt").await.unwrap());
    assert!(!docs.exists("u1/missing.txt").await.unwrap());

    let missing = docs.download("u1/missing.txt").await.unwrap_err();
    assert_eq!(api(&missing), (404, ErrorCode::NoSuchKey));
    assert!(missing.is_not_found());
    assert!(missing.to_string().contains("404 NoSuchKey"), "{missing}");

    // The storage root given directly (a self-hosted Storage server).
    let direct = Storage::new(
        StorageConfig::new("http://unused.invalid", &env.server.service_role_key())
            .unwrap()
            .with_storage_url(&env.server.storage_url())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(direct.config().storage_url(), env.server.storage_url());
    assert!(direct.documents().exists("u1/notes.txt").await.unwrap());

    // Keys with spaces, unicode and URL-special characters arrive as they are.
    let odd = "u1/my résumé (final) #2?.txt";
    docs.upload(odd, "odd", &text()).await.unwrap();
    assert_eq!(
        docs.download(odd)
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "odd"
    );
    let names: Vec<String> = docs
        .list_all("u1", &ListOptions::new())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["my résumé (final) #2?.txt", "notes.txt"]);
}

#[tokio::test]
async fn files_and_streams_are_streamed_both_ways() {
    let env = Env::start().await;
    let docs = env.documents();
    let data = pattern(3 * 1024 * 1024 + 17);
    let source = env.dir.path().join("source.pdf");
    std::fs::write(&source, &data).unwrap();

    // A file: content type guessed from the key.
    docs.upload_file("u/file.pdf", &source, &UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(
        docs.info("u/file.pdf")
            .await
            .unwrap()
            .content_type
            .as_deref(),
        Some("application/pdf")
    );
    let target = env.dir.path().join("target.pdf");
    let written = docs.download_to_file("u/file.pdf", &target).await.unwrap();
    assert_eq!(written, data.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), data);

    // Chunk by chunk, and as a stream.
    let mut download = docs.download("u/file.pdf").await.unwrap();
    let mut total = 0;
    let mut chunks = 0;
    while let Some(chunk) = download.chunk().await.unwrap() {
        total += chunk.len();
        chunks += 1;
    }
    assert_eq!(total, data.len());
    assert!(chunks > 1);
    let mut stream = Box::pin(docs.download("u/file.pdf").await.unwrap().bytes_stream());
    let mut streamed = Vec::new();
    while let Some(chunk) = stream.next().await {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(streamed, data);
    let mut written = Vec::new();
    let n = docs
        .download("u/file.pdf")
        .await
        .unwrap()
        .write_to(&mut written)
        .await
        .unwrap();
    assert_eq!((n, written.len()), (data.len() as u64, data.len()));

    // A stream of unknown length, and a reader of known length.
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(100_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let body = UploadBody::stream(futures_util::stream::iter(chunks), None);
    docs.upload("u/stream.pdf", body, &UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(
        docs.download("u/stream.pdf")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        data
    );
    let reader = tokio::fs::File::open(&source).await.unwrap();
    let body = UploadBody::reader(reader, Some(data.len() as u64));
    docs.upload("u/reader.pdf", body, &UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(
        docs.info("u/reader.pdf").await.unwrap().size,
        Some(data.len() as u64)
    );
}

#[tokio::test]
async fn upsert_and_update() {
    let env = Env::start().await;
    let docs = env.documents();
    docs.upload("a.txt", "one", &text()).await.unwrap();
    let dup = docs.upload("a.txt", "two", &text()).await.unwrap_err();
    assert_eq!(api(&dup), (409, ErrorCode::KeyAlreadyExists));
    docs.upload("a.txt", "two", &text().upsert(true))
        .await
        .unwrap();
    assert_eq!(
        docs.download("a.txt")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "two"
    );
    docs.update("a.txt", "three", &text()).await.unwrap();
    assert_eq!(
        docs.download("a.txt")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "three"
    );
    // As on Supabase, `PUT` creates a missing object.
    docs.update("b.txt", "created", &text()).await.unwrap();
    assert_eq!(
        docs.download("b.txt")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "created"
    );
}

#[tokio::test]
async fn signed_urls_download_without_credentials_until_they_expire() {
    let env = Env::start().await;
    let docs = env.documents();
    docs.upload("s/a.txt", "signed a", &text()).await.unwrap();
    docs.upload("s/b.txt", "signed b", &text()).await.unwrap();

    let url = docs
        .signed_url("s/a.txt", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/object/sign/documents/s/a.txt?token=",
            env.server.storage_url()
        )),
        "{url}"
    );
    let body = env.storage.download_signed_url(&url).await.unwrap();
    assert_eq!(body.into_bytes().await.unwrap(), "signed a");
    // The URL works for anyone: a plain GET.
    let plain = reqwest::get(&url).await.unwrap();
    assert_eq!(plain.text().await.unwrap(), "signed a");

    let many = docs
        .signed_urls(
            ["s/a.txt", "s/missing.txt", "s/b.txt"],
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(many.len(), 3);
    assert_eq!(many[0].key, "s/a.txt");
    assert!(many[1].url.is_err());
    let b = many[2].url.as_ref().unwrap();
    assert_eq!(
        env.storage
            .download_signed_url(b)
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "signed b"
    );

    // Expired: InvalidJWT, and the message shows no token.
    let short = docs
        .signed_url("s/a.txt", Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = env.storage.download_signed_url(&short).await.unwrap_err();
    assert_eq!(expired.code(), Some(&ErrorCode::InvalidJwt), "{expired:?}");
    let token = short.split("token=").nth(1).unwrap();
    assert!(!expired.to_string().contains(token));
    assert!(!format!("{expired:?}").contains(token));

    // Only this storage's signed URLs are fetched (nothing else, PostgREST included).
    for url in [
        format!("{}/rest/v1/documents", env.server.supabase_url()),
        format!("{}/object/sign/documents/s/a.txt", env.server.storage_url()),
        "https://example.com/object/sign/x?token=y".to_owned(),
    ] {
        let before = env.server.requests();
        let err = env.storage.download_signed_url(&url).await.unwrap_err();
        assert!(matches!(err, StorageError::NotASignedUrl), "{err:?}");
        assert_eq!(env.server.requests(), before);
    }
}

#[tokio::test]
async fn signed_upload_urls() {
    let env = Env::start().await;
    let docs = env.documents();
    let signed = docs.signed_upload_url("up/cv.pdf", false).await.unwrap();
    assert!(signed.url.starts_with(&format!(
        "{}/object/upload/sign/documents/up/cv.pdf?token=",
        env.server.storage_url()
    )));
    assert!(!signed.token.is_empty());
    assert!(!format!("{signed:?}").contains(&signed.token));
    let data = pattern(200_000);
    let uploaded = docs
        .upload_to_signed_url(&signed, data.clone(), &UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(uploaded.key, "up/cv.pdf");
    assert_eq!(
        docs.download("up/cv.pdf")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        data
    );
    // An existing key: refused without upsert, accepted with it.
    let exists = docs
        .signed_upload_url("up/cv.pdf", false)
        .await
        .unwrap_err();
    assert_eq!(api(&exists), (409, ErrorCode::KeyAlreadyExists));
    let again = docs.signed_upload_url("up/cv.pdf", true).await.unwrap();
    docs.upload_to_signed_url(&again, "replaced", &text())
        .await
        .unwrap();
    assert_eq!(
        docs.download("up/cv.pdf")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "replaced"
    );
    // The client-side checks hold for signed uploads too.
    let before = env.server.requests();
    let wrong = docs
        .upload_to_signed_url(&again, "x", &UploadOptions::new().content_type("image/png"))
        .await
        .unwrap_err();
    assert!(matches!(wrong, StorageError::MimeNotAllowed { .. }));
    assert_eq!(env.server.requests(), before);
}

#[tokio::test]
async fn listing_pages_sorts_searches_and_shows_folders() {
    let env = Env::start().await;
    let docs = env.documents();
    for name in ["e", "b", "d", "a", "c"] {
        docs.upload(&format!("l/{name}.txt"), name.to_owned(), &text())
            .await
            .unwrap();
    }
    docs.upload("l/sub/x.txt", "x", &text()).await.unwrap();
    docs.upload("other/y.txt", "y", &text()).await.unwrap();

    let first = docs.list("l", &ListOptions::new().limit(2)).await.unwrap();
    let names = |entries: &[jobpilot_db::storage::ObjectEntry]| -> Vec<String> {
        entries.iter().map(|e| e.name.clone()).collect()
    };
    assert_eq!(names(&first.entries), ["a.txt", "b.txt"]);
    assert_eq!(first.entries[0].size(), Some(1));
    assert!(first.entries[0].created_at.is_some());
    let mut all = first.entries.clone();
    let mut next = first.next.clone();
    let mut pages = 1;
    while let Some(options) = next {
        let page = docs.list("l/", &options).await.unwrap();
        all.extend(page.entries);
        next = page.next;
        pages += 1;
    }
    assert_eq!(pages, 4);
    assert_eq!(all.len(), 6);
    let folder = all.iter().find(|e| e.name == "sub").unwrap();
    assert!(folder.is_folder());
    assert_eq!(all.iter().filter(|e| !e.is_folder()).count(), 5);

    let everything = docs
        .list_all("l", &ListOptions::new().limit(4))
        .await
        .unwrap();
    assert_eq!(everything.len(), 6);
    let desc = docs
        .list(
            "l",
            &ListOptions::new().sort(SortColumn::Name, SortOrder::Desc),
        )
        .await
        .unwrap();
    assert_eq!(desc.entries.last().unwrap().name, "a.txt");
    assert!(desc.next.is_none());
    let searched = docs
        .list("l", &ListOptions::new().search("c"))
        .await
        .unwrap();
    assert_eq!(names(&searched.entries), ["c.txt"]);
    let top = docs.list("", &ListOptions::new()).await.unwrap();
    assert_eq!(names(&top.entries), ["l", "other"]);
    let offset = docs.list("l", &ListOptions::new().offset(5)).await.unwrap();
    assert_eq!(offset.entries.len(), 1);
}

#[tokio::test]
async fn remove_move_and_copy() {
    let env = Env::start().await;
    let docs = env.documents();
    for key in ["r/1.txt", "r/2.txt", "r/3.txt", "r/4.txt"] {
        docs.upload(key, key.to_owned(), &text()).await.unwrap();
    }
    docs.remove("r/1.txt").await.unwrap();
    assert!(!docs.exists("r/1.txt").await.unwrap());
    let gone = docs.remove("r/1.txt").await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    let mut removed = docs
        .remove_many(["r/2.txt", "r/3.txt", "r/missing.txt"])
        .await
        .unwrap();
    removed.sort();
    assert_eq!(removed, ["r/2.txt", "r/3.txt"]);
    assert!(
        docs.remove_many(Vec::<String>::new())
            .await
            .unwrap()
            .is_empty()
    );

    docs.move_object("r/4.txt", "moved/4.txt").await.unwrap();
    assert!(!docs.exists("r/4.txt").await.unwrap());
    assert_eq!(
        docs.download("moved/4.txt")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "r/4.txt"
    );
    let copied = docs
        .copy_object("moved/4.txt", "copied/4.txt")
        .await
        .unwrap();
    assert_eq!(copied.key, "copied/4.txt");
    assert_eq!(
        docs.download("copied/4.txt")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "r/4.txt"
    );
    assert!(docs.exists("moved/4.txt").await.unwrap());
    let missing = docs.move_object("nope.txt", "x.txt").await.unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
}

#[tokio::test]
async fn public_buckets_have_public_urls() {
    let env = Env::start().await;
    // The declared bucket is private: no public URL, and nothing is sent.
    let err = env.documents().public_url("a.txt").unwrap_err();
    assert!(matches!(err, StorageError::NotPublic { .. }), "{err:?}");
    assert_eq!(BucketSpec::ALL, &[BucketSpec::DOCUMENTS]);
    assert_eq!(env.documents().id(), "documents");
    assert_eq!(
        env.documents().spec().file_size_limit,
        Some(10 * 1024 * 1024)
    );
    assert!(!env.documents().spec().public);

    // A public bucket created for the test.
    env.create_bucket(
        "INSERT INTO storage.buckets (id, name, public, allowed_mime_types) \
         VALUES ('avatars', 'avatars', true, ARRAY['image/*'])",
    )
    .await;
    let spec = BucketSpec {
        id: "avatars",
        public: true,
        file_size_limit: None,
        allowed_mime_types: Some(&["image/*"]),
    };
    let avatars = env.storage.bucket(&spec);
    avatars
        .upload("u/me.png", vec![1u8, 2, 3], &UploadOptions::new())
        .await
        .unwrap();
    let url = avatars.public_url("u/me.png").unwrap();
    assert_eq!(
        url,
        format!(
            "{}/object/public/avatars/u/me.png",
            env.server.storage_url()
        )
    );
    let got = reqwest::get(&url).await.unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), &[1u8, 2, 3]);
    // Wildcards: any image, nothing else.
    assert!(spec.allows_mime_type("image/webp"));
    assert!(spec.allows_mime_type("IMAGE/PNG; q=1"));
    assert!(!spec.allows_mime_type("imagex/png"));
    assert!(!spec.allows_mime_type("text/plain"));
    let before = env.server.requests();
    let err = avatars
        .upload("u/x.txt", "x", &UploadOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::MimeNotAllowed { .. }),
        "{err:?}"
    );
    assert_eq!(env.server.requests(), before);
}

#[tokio::test]
async fn client_side_checks_send_nothing() {
    let env = Env::start().await;
    let docs = env.documents();
    let before = env.server.requests();
    let limit = 10 * 1024 * 1024;

    // Oversized: bytes, a file, a stream of declared length.
    let big = vec![0u8; limit + 1];
    let err = docs
        .upload("big.pdf", big, &UploadOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::TooLarge { size, limit: l } if size == limit as u64 + 1 && l == limit as u64),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("over the bucket's limit of 10485760 bytes"),
        "{err}"
    );
    let file = env.dir.path().join("big.pdf");
    std::fs::File::create(&file)
        .unwrap()
        .set_len(limit as u64 + 1)
        .unwrap();
    let err = docs
        .upload_file("big.pdf", &file, &UploadOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::TooLarge { .. }), "{err:?}");
    let declared = UploadBody::stream(
        futures_util::stream::empty::<Result<Bytes, std::io::Error>>(),
        Some(limit as u64 + 1),
    );
    let err = docs
        .upload("big.pdf", declared, &UploadOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::TooLarge { .. }), "{err:?}");
    // Exactly the limit is fine as far as the client is concerned.
    assert!(
        BucketSpec::DOCUMENTS
            .check_upload(Some(limit as u64), "text/plain")
            .is_ok()
    );

    // Wrong content types: given, or guessed from the key.
    for (key, options) in [
        ("a.png", UploadOptions::new()),
        ("a.pdf", UploadOptions::new().content_type("image/png")),
        ("a", UploadOptions::new()),
    ] {
        let err = docs.upload(key, "x", &options).await.unwrap_err();
        match &err {
            StorageError::MimeNotAllowed { mime, allowed } => {
                assert!(!mime.is_empty());
                assert_eq!(allowed.len(), 3);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(BucketSpec::DOCUMENTS.allows_mime_type("Text/Plain; charset=utf-8"));
    assert!(BucketSpec::DOCUMENTS.allows_mime_type("application/PDF"));
    assert!(!BucketSpec::DOCUMENTS.allows_mime_type("text/plainx"));

    // Every kind of bad key, on every method that takes one.
    let long = format!("a/{}", "x".repeat(MAX_KEY_BYTES));
    let bad: [(&str, KeyProblem); 12] = [
        ("", KeyProblem::Empty),
        (&long, KeyProblem::TooLong { len: long.len() }),
        ("/etc/passwd", KeyProblem::LeadingSlash),
        ("a//b.txt", KeyProblem::EmptySegment),
        ("a/", KeyProblem::EmptySegment),
        ("../other-user/cv.pdf", KeyProblem::DotSegment),
        ("a/../../b.txt", KeyProblem::DotSegment),
        ("a/./b.txt", KeyProblem::DotSegment),
        ("a\\..\\b.txt", KeyProblem::Backslash),
        ("a\nb.txt", KeyProblem::ControlCharacter),
        ("a\0b.txt", KeyProblem::ControlCharacter),
        ("a\u{7f}.txt", KeyProblem::ControlCharacter),
    ];
    for (key, problem) in bad {
        let check = |err: StorageError| match err {
            StorageError::InvalidKey { key: k, problem: p } => {
                assert_eq!((k.as_str(), p), (key, problem));
            }
            other => panic!("{key:?}: {other:?}"),
        };
        check(docs.upload(key, "x", &text()).await.unwrap_err());
        check(docs.update(key, "x", &text()).await.unwrap_err());
        check(docs.download(key).await.unwrap_err());
        check(docs.info(key).await.unwrap_err());
        check(
            docs.signed_url(key, Duration::from_secs(9))
                .await
                .unwrap_err(),
        );
        check(
            docs.signed_urls(["ok.txt", key], Duration::from_secs(9))
                .await
                .unwrap_err(),
        );
        check(docs.signed_upload_url(key, false).await.unwrap_err());
        check(docs.remove(key).await.unwrap_err());
        check(docs.remove_many(["ok.txt", key]).await.unwrap_err());
        check(docs.move_object("ok.txt", key).await.unwrap_err());
        check(docs.copy_object(key, "ok.txt").await.unwrap_err());
        check(docs.public_url(key).unwrap_err());
        assert!(jobpilot_db::storage::check_key(key).is_err());
    }
    // Listing prefixes: empty and a trailing slash are fine, the rest is checked.
    for prefix in ["../x", "/x", "a//b", "a\\b"] {
        let err = docs.list(prefix, &ListOptions::new()).await.unwrap_err();
        assert!(
            matches!(err, StorageError::InvalidKey { .. }),
            "{prefix}: {err:?}"
        );
    }
    let shown = StorageError::InvalidKey {
        key: "a\nb".into(),
        problem: KeyProblem::ControlCharacter,
    }
    .to_string();
    assert_eq!(
        shown,
        "invalid object key \"a\\nb\": it has a control character"
    );
    assert_eq!(
        env.server.requests(),
        before,
        "a client-side check let a request through"
    );

    // A stream of unknown length is counted and aborted past the limit.
    let chunk = Bytes::from(vec![7u8; 1024 * 1024]);
    let endless = futures_util::stream::repeat(chunk)
        .map(Ok::<_, std::io::Error>)
        .take(20);
    let err = docs
        .upload(
            "endless.pdf",
            UploadBody::stream(endless, None),
            &UploadOptions::new(),
        )
        .await
        .unwrap_err();
    match err {
        StorageError::TooLarge { size, limit: l } => {
            assert!(
                size > limit as u64 && size <= limit as u64 + 1024 * 1024,
                "{size}"
            );
            assert_eq!(l, limit as u64);
        }
        other => panic!("{other:?}"),
    }
    assert!(!docs.exists("endless.pdf").await.unwrap());
}

#[tokio::test]
async fn idempotent_calls_are_retried_and_plain_uploads_are_not() {
    let env = Env::start().await;
    let docs = env.documents();
    docs.upload("r/a.txt", "a", &text()).await.unwrap();

    // Two failures, then success: three requests.
    for status in [503, 500, 502] {
        env.server.fail_next(2, status);
        let before = env.server.requests();
        let page = docs.list("r", &ListOptions::new()).await.unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!(env.server.requests() - before, 3);
    }
    env.server.fail_next(2, 503);
    assert_eq!(
        docs.download("r/a.txt")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "a"
    );
    env.server.fail_next(2, 503);
    docs.signed_url("r/a.txt", Duration::from_secs(60))
        .await
        .unwrap();
    env.server.fail_next(2, 503);
    docs.info("r/a.txt").await.unwrap();

    // An upsert of bytes or of a file can be sent again.
    env.server.fail_next(2, 503);
    docs.upload("r/a.txt", "b", &text().upsert(true))
        .await
        .unwrap();
    let file = env.dir.path().join("retry.txt");
    std::fs::write(&file, "from a file").unwrap();
    env.server.fail_next(2, 503);
    docs.upload_file("r/a.txt", &file, &text().upsert(true))
        .await
        .unwrap();
    assert_eq!(
        docs.download("r/a.txt")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "from a file"
    );

    // Three failures: the error of the last try.
    env.server.fail_next(3, 503);
    let err = docs.list("r", &ListOptions::new()).await.unwrap_err();
    assert_eq!(api(&err).0, 503);
    assert!(err.is_transient());

    // A plain upload (no upsert), a stream, a move and a copy are tried once.
    let checks: [(&str, u16); 4] = [
        ("upload", 503),
        ("stream", 503),
        ("move", 500),
        ("copy", 500),
    ];
    for (what, status) in checks {
        env.server.fail_next(1, status);
        let before = env.server.requests();
        let err = match what {
            "upload" => docs.upload("r/new.txt", "n", &text()).await.map(|_| ()),
            "stream" => {
                let stream =
                    futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("s"))]);
                docs.upload(
                    "r/s.txt",
                    UploadBody::stream(stream, None),
                    &text().upsert(true),
                )
                .await
                .map(|_| ())
            }
            "move" => docs.move_object("r/a.txt", "r/b.txt").await,
            _ => docs.copy_object("r/a.txt", "r/c.txt").await.map(|_| ()),
        }
        .unwrap_err();
        assert_eq!(api(&err).0, status, "{what}");
        assert_eq!(env.server.requests() - before, 1, "{what} was retried");
    }
    // No retry at all when the policy says so.
    let once = Storage::new(
        StorageConfig::new(&env.server.supabase_url(), &env.server.service_role_key())
            .unwrap()
            .retry(RetryPolicy::NONE),
    )
    .unwrap();
    env.server.fail_next(1, 503);
    let before = env.server.requests();
    once.documents()
        .list("r", &ListOptions::new())
        .await
        .unwrap_err();
    assert_eq!(env.server.requests() - before, 1);
    // A 4xx is final.
    let before = env.server.requests();
    docs.download("r/missing.txt").await.unwrap_err();
    assert_eq!(env.server.requests() - before, 1);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let env = Env::with(|c| c.timeout(Duration::from_millis(300))).await;
    let docs = env.documents();
    docs.upload("t/a.txt", "a", &text()).await.unwrap();
    env.server.delay_next(1, Duration::from_millis(1500));
    let before = env.server.requests();
    assert_eq!(
        docs.list("t", &ListOptions::new())
            .await
            .unwrap()
            .entries
            .len(),
        1
    );
    assert_eq!(env.server.requests() - before, 2);
    env.server.delay_next(1, Duration::from_millis(1500));
    assert_eq!(
        docs.download("t/a.txt")
            .await
            .unwrap()
            .into_bytes()
            .await
            .unwrap(),
        "a"
    );

    env.server.delay_next(3, Duration::from_millis(1500));
    let err = docs.info("t/a.txt").await.unwrap_err();
    assert!(matches!(err, StorageError::Timeout), "{err:?}");
    assert_eq!(err.to_string(), "the storage request timed out");
    tokio::time::sleep(Duration::from_millis(1600)).await;
}

#[tokio::test]
async fn errors_and_debug_output_never_show_a_secret() {
    let env = Env::start().await;
    let service_key = env.server.service_role_key();
    let anon_key = env.server.anon_key();
    let jwt = env.server.user_jwt(
        uuid::Uuid::from_u128(fastrand::u128(..)),
        Duration::from_secs(3600),
    );
    let user = env.storage.as_user(&jwt).unwrap();
    let expired_jwt = env
        .server
        .user_jwt(uuid::Uuid::from_u128(fastrand::u128(..)), Duration::ZERO);
    let expired = env.storage.as_user(&expired_jwt).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let mut shown = vec![
        format!("{:?}", env.storage),
        format!("{:?}", env.storage.config()),
        format!("{user:?}"),
        format!("{:?}", user.documents()),
    ];
    let mut errors = vec![
        env.documents().download("missing.txt").await.unwrap_err(),
        user.documents().download("missing.txt").await.unwrap_err(),
        expired
            .documents()
            .download("missing.txt")
            .await
            .unwrap_err(),
        expired
            .documents()
            .upload("x.txt", "x", &text())
            .await
            .unwrap_err(),
        env.documents()
            .upload("x.png", "x", &UploadOptions::new())
            .await
            .unwrap_err(),
        StorageConfig::new("not a url", &service_key).unwrap_err(),
        StorageConfig::new(&env.server.supabase_url(), "bad\nkey").unwrap_err(),
    ];
    // A server that cannot be reached.
    let nowhere = Storage::new(
        StorageConfig::new("http://127.0.0.1:9", &service_key)
            .unwrap()
            .retry(RetryPolicy::NONE),
    )
    .unwrap();
    errors.push(
        nowhere
            .documents()
            .list("", &ListOptions::new())
            .await
            .unwrap_err(),
    );
    let expired_error = &errors[2];
    // An expired bearer token: 403, as Supabase Storage answers it.
    assert_eq!(api(expired_error).0, 403, "{expired_error:?}");
    assert!(
        expired_error.to_string().contains("jwt expired"),
        "{expired_error}"
    );
    assert!(
        matches!(errors[7], StorageError::Transport(_)),
        "{:?}",
        errors[7]
    );
    for e in &errors {
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            shown.push(s.to_string());
            source = s.source();
        }
    }
    for text in &shown {
        for secret in [&service_key, &anon_key, &jwt, &expired_jwt] {
            assert!(!text.contains(secret.as_str()), "a secret in: {text}");
            // Nor its signature alone.
            let signature = secret.rsplit('.').next().unwrap();
            assert!(!text.contains(signature), "a signature in: {text}");
        }
    }
    assert!(shown[1].contains("[redacted]"), "{}", shown[1]);
}

#[tokio::test]
async fn users_are_held_to_row_level_security() {
    let env = Env::start().await;
    let alice = uuid::Uuid::from_u128(fastrand::u128(..));
    let bob = uuid::Uuid::from_u128(fastrand::u128(..));
    let as_alice = env.user(alice);
    let as_bob = env.user(bob);
    assert_eq!(as_alice.config().role(), StorageRole::User);
    assert_eq!(env.storage.config().role(), StorageRole::ServiceRole);

    as_alice
        .documents()
        .upload(
            &format!("{alice}/cv.pdf"),
            b"%PDF-1.7".as_slice(),
            &UploadOptions::new(),
        )
        .await
        .unwrap();
    let mine = as_alice
        .documents()
        .download(&format!("{alice}/cv.pdf"))
        .await
        .unwrap();
    assert_eq!(mine.into_bytes().await.unwrap(), "%PDF-1.7");
    // Bob cannot see Alice's object ...
    let hidden = as_bob
        .documents()
        .download(&format!("{alice}/cv.pdf"))
        .await
        .unwrap_err();
    assert!(hidden.is_not_found(), "{hidden:?}");
    assert!(
        as_bob
            .documents()
            .list_all(&alice.to_string(), &ListOptions::new())
            .await
            .unwrap()
            .is_empty()
    );
    // ... nor overwrite it.
    let denied = as_bob
        .documents()
        .upload(
            &format!("{alice}/cv.pdf"),
            b"evil".as_slice(),
            &UploadOptions::new()
                .content_type("application/pdf")
                .upsert(true),
        )
        .await
        .unwrap_err();
    assert!(api(&denied) == (403, ErrorCode::AccessDenied), "{denied:?}");
    // The anon role may not write at all.
    let anon = env.storage.as_user(&env.server.anon_key()).unwrap();
    let denied = anon
        .documents()
        .upload("anon/x.txt", "x", &text())
        .await
        .unwrap_err();
    assert_eq!(api(&denied), (403, ErrorCode::AccessDenied), "{denied:?}");
    // The service role sees everything.
    let all = env
        .documents()
        .download(&format!("{alice}/cv.pdf"))
        .await
        .unwrap();
    assert_eq!(all.into_bytes().await.unwrap(), "%PDF-1.7");
}

/// What storage-js wrote, the Rust client reads; what the Rust client wrote, storage-js reads
/// (and lists). In a bucket without type limits: storage-js sends `application/octet-stream`.
#[tokio::test]
async fn interop_with_storage_js() {
    if jobpilot_storage_server::skip_js() {
        eprintln!("JOBPILOT_SKIP_JS=1: skipping the storage-js interop test");
        return;
    }
    let env = Env::start().await;
    env.create_bucket("INSERT INTO storage.buckets (id, name) VALUES ('interop', 'interop')")
        .await;
    let spec = BucketSpec {
        id: "interop",
        public: false,
        file_size_limit: None,
        allowed_mime_types: None,
    };
    let bucket = env.storage.bucket(&spec);
    let node_env = [
        ("STORAGE_URL", env.server.storage_url()),
        ("STORAGE_KEY", env.server.service_role_key()),
    ];
    let run = |mode: &'static str| {
        let node_env = node_env.clone();
        async move {
            let out = jobpilot_storage_server::run_node_script(
                "interop.mjs",
                &[mode, "interop", "shared/dir"],
                &node_env,
            )
            .await
            .unwrap();
            assert!(
                out.status.success(),
                "interop.mjs {mode}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    run("write").await;
    let text = bucket.download("shared/dir/from-js.txt").await.unwrap();
    assert_eq!(text.content_type(), Some("text/plain"));
    assert_eq!(text.into_bytes().await.unwrap(), "hello from storage-js");
    let bin = bucket.download("shared/dir/from-js.bin").await.unwrap();
    let bytes = bin.into_bytes().await.unwrap();
    assert_eq!(bytes.len(), 1024 * 1024);
    assert!(
        bytes
            .iter()
            .enumerate()
            .all(|(i, b)| *b == ((i * 31 + 7) % 256) as u8)
    );

    bucket
        .upload(
            "shared/dir/from-rust.txt",
            "hello from the rust client",
            &UploadOptions::new().content_type("text/plain"),
        )
        .await
        .unwrap();
    let rust_bin: Vec<u8> = (0..1024 * 1024)
        .map(|i| ((i * 17 + 3) % 256) as u8)
        .collect();
    let file = env.dir.path().join("from-rust.bin");
    std::fs::write(&file, &rust_bin).unwrap();
    bucket
        .upload_file("shared/dir/from-rust.bin", &file, &UploadOptions::new())
        .await
        .unwrap();
    run("read").await;
    let names: Vec<String> = bucket
        .list_all("shared/dir", &ListOptions::new())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        names,
        [
            "from-js.bin",
            "from-js.txt",
            "from-rust.bin",
            "from-rust.txt"
        ]
    );
}

/// The README's "The storage client" section shows the example above, verbatim.
#[test]
fn the_readme_example_is_the_one_tested_here() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("The storage client"))
        .expect("the section");
    let start = section.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let end = section[start..].find("```").expect("its end") + start;
    let source = include_str!("storage.rs");
    let from = source.find("// README example start\n").unwrap() + 24;
    let to = source.find("// README example end").unwrap();
    assert_eq!(&section[start..end], &source[from..to]);
}

#[tokio::test]
async fn the_readme_example_runs_as_a_user() {
    let env = Env::start().await;
    let user = uuid::Uuid::from_u128(fastrand::u128(..));
    // As the README says: a service for end users acts as them (row-level security applies).
    let jwt = env.server.user_jwt(user, Duration::from_secs(3600));
    let config =
        StorageConfig::for_user(&env.server.supabase_url(), &env.server.anon_key(), &jwt).unwrap();
    assert_eq!(config.role(), StorageRole::User);
    let as_user = Storage::new(config).unwrap();
    let file = env.dir.path().join("resume.pdf");
    std::fs::write(&file, b"%PDF-1.7 resume").unwrap();
    let link = store_resume(&as_user, user, &file).await.unwrap();
    let got = reqwest::get(&link).await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), b"%PDF-1.7 resume");
    assert_eq!(my_files(&as_user, user).await.unwrap(), ["resume.pdf"]);
    // Another user sees nothing of it.
    let other = env.user(uuid::Uuid::from_u128(fastrand::u128(..)));
    assert!(my_files(&other, user).await.unwrap().is_empty());
}

/// `StorageConfig::from_env` reads `SUPABASE_URL`, `SUPABASE_SERVICE_ROLE_KEY` and
/// `SUPABASE_ANON_KEY`. The environment is process-wide, so the test binary runs itself with
/// the variables set, running only `from_env_in_a_child_process`.
#[test]
fn from_env_reads_the_supabase_variables() {
    let exe = std::env::current_exe().unwrap();
    for case in ["set", "missing"] {
        let mut command = std::process::Command::new(&exe);
        command
            .args(["--ignored", "--exact", "from_env_in_a_child_process"])
            .env("JOBPILOT_FROM_ENV_CASE", case)
            .env_remove("SUPABASE_URL")
            .env_remove("SUPABASE_SERVICE_ROLE_KEY")
            .env_remove("SUPABASE_ANON_KEY");
        if case == "set" {
            command
                .env("SUPABASE_URL", "https://project.supabase.co/")
                .env("SUPABASE_SERVICE_ROLE_KEY", "service-key-value")
                .env("SUPABASE_ANON_KEY", "anon-key-value");
        }
        let out = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{case}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 passed"), "{case}: {stdout}");
    }
}

#[test]
#[ignore = "run by from_env_reads_the_supabase_variables, with the variables set"]
fn from_env_in_a_child_process() {
    match std::env::var("JOBPILOT_FROM_ENV_CASE").as_deref() {
        Ok("set") => {
            let config = StorageConfig::from_env().unwrap();
            assert_eq!(
                config.storage_url(),
                "https://project.supabase.co/storage/v1"
            );
            assert_eq!(config.role(), StorageRole::ServiceRole);
            let user = config.with_user_jwt("user-jwt-value").unwrap();
            assert_eq!(user.role(), StorageRole::User);
            let shown = format!("{user:?}");
            for secret in ["service-key-value", "anon-key-value", "user-jwt-value"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert!(Storage::from_env().is_ok());
        }
        Ok("missing") => {
            let err = StorageConfig::from_env().unwrap_err();
            assert_eq!(
                err.to_string(),
                "storage configuration: SUPABASE_URL is not set (or not UTF-8)"
            );
        }
        _ => {}
    }
}
