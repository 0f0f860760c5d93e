//! `storage.rs`: the generated crate's Supabase Storage client (ADR-2 keeps Supabase for file
//! storage only; issue 7): `Storage` and one typed handle per bucket declared in
//! `schema/`, over Storage's REST API (`/storage/v1/object/…`).
//!
//! Like `db.rs`, almost all of it is fixed runtime code, written here with `quote!` in sections
//! (each a function below); what depends on the schema is the buckets: one `BucketSpec`
//! constant each (id, public flag, size limit, content types) and one `Storage` method each
//! returning the bucket's handle ([`bucket_items`]). The client has no way to reach PostgREST:
//! every request goes to the storage root's `/object/…` routes.

use super::RustRenderError;
use super::items::CrateItems;
use super::scope::{doc, ident, inner_doc};
use crate::model::{Bucket, Schema};
use crate::naming::field_name;
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use std::collections::BTreeMap;

/// The methods of the generated `Storage` (a bucket's method may not take one of these names).
const STORAGE_METHODS: &[&str] = &[
    "new",
    "from_env",
    "with_client",
    "as_user",
    "config",
    "bucket",
    "download_signed_url",
    "url",
    "tries",
    "send",
    "send_body",
    "answer",
    "api_error",
    "json",
    "clone",
    "fmt",
];

/// The associated constants of the generated `BucketSpec` that are not buckets.
const SPEC_CONSTANTS: &[&str] = &["ALL"];

/// `storage.rs`.
pub fn render(items: &CrateItems<'_>) -> Result<TokenStream, RustRenderError> {
    let docs = inner_doc(
        "JobPilot's Supabase Storage client (ADR-2 keeps Supabase for file storage only): \
         [`Storage`] holds the connection pool and the credentials (the service-role key, or an \
         end user's JWT: [`Storage::as_user`]); one method per bucket declared in `schema/` \
         returns its typed handle ([`Bucket`]), which checks the bucket's declared size limit, \
         content types and every object key before anything is sent. Uploads and downloads \
         stream (a file is never held in memory whole); idempotent calls are retried with \
         backoff on timeouts and 5xx answers; errors carry the API's JSON error \
         ([`StorageError::Api`]) and never a key or a JWT. Only the storage root's `/object/…` \
         routes are reached: nothing here reads or writes tables.",
    );
    let buckets = bucket_items(items.schema)?;
    let sections = [
        uses(),
        config(),
        checks(),
        errors(),
        bodies(),
        answers(),
        client(),
        bucket(),
    ];
    Ok(quote! { #docs #(#sections)* #buckets })
}

/// The `use` items.
fn uses() -> TokenStream {
    quote! {
        use std::fmt;
        use std::path::{Path, PathBuf};
        use std::pin::Pin;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::time::Duration;

        use bytes::Bytes;
        use chrono::{DateTime, Utc};
        use futures_util::{Stream, StreamExt, TryStreamExt};
        use reqwest::header::{
            AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue,
        };
        use reqwest::{Body, Client, Method, Response};
        use serde::{Deserialize, Serialize};
        use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
        use tokio_util::io::ReaderStream;
        use uuid::Uuid;
    }
}

/// The client's settings: its constants, secrets kept out of `Debug`, the retry policy and
/// [`StorageConfig`] (URL, keys, timeouts).
fn config() -> TokenStream {
    quote! {
        /// The longest object key the client sends, in bytes (Supabase Storage's own limit is about
        /// this; a longer key is refused before anything is sent).
        pub const MAX_KEY_BYTES: usize = 1024;

        /// The size of the chunks a file or reader is read in while it is uploaded.
        const CHUNK_SIZE: usize = 64 * 1024;

        /// How much of an error answer's body is read (error bodies are small JSON objects).
        const MAX_ERROR_BODY: usize = 64 * 1024;

        /// What replaces a secret wherever one could appear in a message.
        const REDACTED: &str = "[redacted]";

        /// A key or token: kept out of every `Debug` and `Display`.
        #[derive(Clone, PartialEq, Eq)]
        struct Secret(Arc<str>);

        impl Secret {
            fn new(value: &str) -> Secret {
                Secret(Arc::from(value))
            }

            fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for Secret {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }

        /// Whose rights the requests carry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum StorageRole {
            /// The project's service-role key: row-level security does not apply.
            ServiceRole,
            /// An end user's JWT: the bucket's policies on `storage.objects` decide.
            User,
        }

        /// How the retries of idempotent requests wait: up to `max_attempts` tries in all, the `n`-th
        /// retry after a random delay between half and all of `initial_backoff × 2ⁿ⁻¹` (at most
        /// `max_backoff`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct RetryPolicy {
            /// Tries in all, the first included (1: no retry).
            pub max_attempts: u32,
            /// The delay before the first retry (before jitter).
            pub initial_backoff: Duration,
            /// The longest delay between two tries.
            pub max_backoff: Duration,
        }

        impl RetryPolicy {
            /// One try, no retry.
            pub const NONE: RetryPolicy = RetryPolicy {
                max_attempts: 1,
                initial_backoff: Duration::ZERO,
                max_backoff: Duration::ZERO,
            };

            /// The delay before retry number `retry` (1 for the first), with jitter.
            pub fn delay(&self, retry: u32) -> Duration {
                let factor = 2u32.saturating_pow(retry.saturating_sub(1));
                let full = self
                    .initial_backoff
                    .saturating_mul(factor)
                    .min(self.max_backoff);
                full.mul_f64(0.5 + fastrand::f64() / 2.0)
            }
        }

        impl Default for RetryPolicy {
            /// Three tries, 200 ms then 400 ms apart (before jitter), never more than 5 s.
            fn default() -> RetryPolicy {
                RetryPolicy {
                    max_attempts: 3,
                    initial_backoff: Duration::from_millis(200),
                    max_backoff: Duration::from_secs(5),
                }
            }
        }

        /// Where the Storage API is and who calls it. Its `Debug` never shows a key or a JWT.
        #[derive(Clone)]
        pub struct StorageConfig {
            storage_url: String,
            api_key: Secret,
            anon_key: Option<Secret>,
            bearer: Secret,
            role: StorageRole,
            timeout: Duration,
            connect_timeout: Duration,
            retry: RetryPolicy,
        }

        impl fmt::Debug for StorageConfig {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("StorageConfig")
                    .field("storage_url", &self.storage_url)
                    .field("role", &self.role)
                    .field("api_key", &self.api_key)
                    .field("bearer", &self.bearer)
                    .field("timeout", &self.timeout)
                    .field("connect_timeout", &self.connect_timeout)
                    .field("retry", &self.retry)
                    .finish_non_exhaustive()
            }
        }

        impl StorageConfig {
            /// The project URL variable (`https://<project>.supabase.co`).
            pub const URL_VAR: &'static str = "SUPABASE_URL";

            /// The service-role key variable.
            pub const SERVICE_ROLE_KEY_VAR: &'static str = "SUPABASE_SERVICE_ROLE_KEY";

            /// The anon (publishable) key variable, optional: the `apikey` header of requests made
            /// as an end user.
            pub const ANON_KEY_VAR: &'static str = "SUPABASE_ANON_KEY";

            /// The storage API's path under the project URL.
            pub const STORAGE_PATH: &'static str = "/storage/v1";

            /// A configuration with the service-role key: `supabase_url` is the project URL
            /// (`SUPABASE_URL`), the storage root is that plus `/storage/v1`. Defaults: 30 s timeout
            /// (per request, and per read while a body streams), 10 s to connect, [`RetryPolicy`]'s
            /// default.
            pub fn new(
                supabase_url: &str,
                service_role_key: &str,
            ) -> Result<StorageConfig, StorageError> {
                let base = parse_base_url(supabase_url, "the Supabase URL")?;
                let key = secret(service_role_key, "the service-role key")?;
                Ok(StorageConfig {
                    storage_url: format!("{base}{}", StorageConfig::STORAGE_PATH),
                    api_key: key.clone(),
                    anon_key: None,
                    bearer: key,
                    role: StorageRole::ServiceRole,
                    timeout: Duration::from_secs(30),
                    connect_timeout: Duration::from_secs(10),
                    retry: RetryPolicy::default(),
                })
            }

            /// A configuration for an end user: requests carry `user_jwt` (the user's Supabase access
            /// token) and the project's anon key in `apikey`, so the bucket's row-level security
            /// policies apply.
            pub fn for_user(
                supabase_url: &str,
                anon_key: &str,
                user_jwt: &str,
            ) -> Result<StorageConfig, StorageError> {
                StorageConfig::new(supabase_url, anon_key)?
                    .with_anon_key(anon_key)?
                    .with_user_jwt(user_jwt)
            }

            /// From the environment: `SUPABASE_URL` and `SUPABASE_SERVICE_ROLE_KEY`, and
            /// `SUPABASE_ANON_KEY` when set (used by [`Storage::as_user`]). The error names a missing
            /// variable, never a value.
            pub fn from_env() -> Result<StorageConfig, StorageError> {
                let var = |name: &str| {
                    std::env::var(name).map_err(|_| StorageError::Config {
                        reason: format!("{name} is not set (or not UTF-8)"),
                    })
                };
                let config = StorageConfig::new(
                    &var(StorageConfig::URL_VAR)?,
                    &var(StorageConfig::SERVICE_ROLE_KEY_VAR)?,
                )?;
                match std::env::var(StorageConfig::ANON_KEY_VAR) {
                    Ok(anon) if !anon.is_empty() => config.with_anon_key(&anon),
                    _ => Ok(config),
                }
            }

            /// The anon key, sent as `apikey` by requests made as an end user (hosted Supabase wants
            /// a project key there; without one the service-role key is sent).
            pub fn with_anon_key(mut self, anon_key: &str) -> Result<StorageConfig, StorageError> {
                self.anon_key = Some(secret(anon_key, "the anon key")?);
                Ok(self)
            }

            /// The same configuration acting as the end user whose access token is `jwt`.
            pub fn with_user_jwt(mut self, jwt: &str) -> Result<StorageConfig, StorageError> {
                self.bearer = secret(jwt, "the user's JWT")?;
                if let Some(anon) = &self.anon_key {
                    self.api_key = anon.clone();
                }
                self.role = StorageRole::User;
                Ok(self)
            }

            /// Another storage root than `SUPABASE_URL` + `/storage/v1` (a self-hosted Storage
            /// server serves its routes at its root).
            pub fn with_storage_url(
                mut self,
                storage_url: &str,
            ) -> Result<StorageConfig, StorageError> {
                self.storage_url = parse_base_url(storage_url, "the storage URL")?;
                Ok(self)
            }

            /// How long a request may take, and how long a streaming body may stay silent.
            pub fn timeout(mut self, timeout: Duration) -> StorageConfig {
                self.timeout = timeout;
                self
            }

            /// How long connecting may take.
            pub fn connect_timeout(mut self, timeout: Duration) -> StorageConfig {
                self.connect_timeout = timeout;
                self
            }

            /// How idempotent requests are retried ([`RetryPolicy::NONE`]: never).
            pub fn retry(mut self, retry: RetryPolicy) -> StorageConfig {
                self.retry = retry;
                self
            }

            /// The storage root every route is under (`https://<project>.supabase.co/storage/v1`).
            pub fn storage_url(&self) -> &str {
                &self.storage_url
            }

            /// Whose rights the requests carry.
            pub fn role(&self) -> StorageRole {
                self.role
            }

            /// The retry policy.
            pub fn retry_policy(&self) -> RetryPolicy {
                self.retry
            }
        }

        /// `url` without a trailing slash, if it is an absolute `http(s)` URL (the error does not
        /// repeat it).
        fn parse_base_url(url: &str, what: &str) -> Result<String, StorageError> {
            let parsed = reqwest::Url::parse(url).map_err(|e| StorageError::Config {
                reason: format!("{what} is not a valid URL ({e})"),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
                return Err(StorageError::Config {
                    reason: format!("{what} must be an http(s) URL without a query"),
                });
            }
            Ok(url.trim_end_matches('/').to_owned())
        }

        /// A key or JWT, if it can be sent in a header.
        fn secret(value: &str, what: &str) -> Result<Secret, StorageError> {
            if value.is_empty() || HeaderValue::from_str(value).is_err() {
                return Err(StorageError::Config {
                    reason: format!("{what} is empty or not a valid header value"),
                });
            }
            Ok(Secret::new(value))
        }
    }
}

/// The checks made before anything is sent: [`BucketSpec`]'s size and content-type limits, object
/// keys, and the keys' URL encoding.
fn checks() -> TokenStream {
    quote! {
        /// A bucket declared in `schema/`: its id and the limits Storage enforces, which the client
        /// checks before sending anything.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct BucketSpec {
            /// The bucket's id (its name in URLs).
            pub id: &'static str,
            /// Whether objects are readable without a token (public URLs).
            pub public: bool,
            /// The largest object, in bytes; `None`: the server's global limit only.
            pub file_size_limit: Option<u64>,
            /// The content types accepted (`image/*` wildcards); `None`: any.
            pub allowed_mime_types: Option<&'static [&'static str]>,
        }

        impl BucketSpec {
            /// Whether `content_type` (parameters such as `; charset=utf-8` ignored, case-insensitive)
            /// is one the bucket accepts.
            pub fn allows_mime_type(&self, content_type: &str) -> bool {
                let Some(allowed) = self.allowed_mime_types else {
                    return true;
                };
                let essence = mime_essence(content_type);
                allowed.iter().any(|pattern| {
                    let pattern = mime_essence(pattern);
                    match pattern.strip_suffix("/*") {
                        Some("*") => true,
                        Some(top) => essence.split_once('/').is_some_and(|(t, _)| t == top),
                        None => pattern == essence,
                    }
                })
            }

            /// The client-side checks of an upload of `size` bytes (when known) of `content_type`.
            pub fn check_upload(
                &self,
                size: Option<u64>,
                content_type: &str,
            ) -> Result<(), StorageError> {
                if let (Some(size), Some(limit)) = (size, self.file_size_limit) {
                    if size > limit {
                        return Err(StorageError::TooLarge { size, limit });
                    }
                }
                if !self.allows_mime_type(content_type) {
                    return Err(StorageError::MimeNotAllowed {
                        mime: content_type.to_owned(),
                        allowed: self
                            .allowed_mime_types
                            .unwrap_or_default()
                            .iter()
                            .map(|m| (*m).to_owned())
                            .collect(),
                    });
                }
                Ok(())
            }
        }

        /// A content type without its parameters, trimmed and lower-cased (`Text/Plain; charset=x`
        /// → `text/plain`).
        fn mime_essence(content_type: &str) -> String {
            content_type
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        }

        /// What is wrong with an object key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum KeyProblem {
            /// The key is empty.
            Empty,
            /// The key is longer than [`MAX_KEY_BYTES`].
            TooLong {
                /// Its length in bytes.
                len: usize,
            },
            /// The key starts with `/`.
            LeadingSlash,
            /// The key has an empty segment (`a//b`, or a trailing `/`).
            EmptySegment,
            /// The key has a `.` or `..` segment.
            DotSegment,
            /// The key has a backslash.
            Backslash,
            /// The key has a control character (NUL, newline, DEL, …).
            ControlCharacter,
        }

        impl fmt::Display for KeyProblem {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    KeyProblem::Empty => f.write_str("it is empty"),
                    KeyProblem::TooLong { len } => {
                        write!(
                            f,
                            "it is {len} bytes long, over the limit of {MAX_KEY_BYTES}"
                        )
                    }
                    KeyProblem::LeadingSlash => f.write_str("it starts with `/`"),
                    KeyProblem::EmptySegment => {
                        f.write_str("it has an empty segment (`//` or a trailing `/`)")
                    }
                    KeyProblem::DotSegment => f.write_str("it has a `.` or `..` segment"),
                    KeyProblem::Backslash => f.write_str("it has a backslash"),
                    KeyProblem::ControlCharacter => f.write_str("it has a control character"),
                }
            }
        }

        /// Checks an object key: not empty, at most [`MAX_KEY_BYTES`] bytes, no leading `/`, no empty,
        /// `.` or `..` segment, no backslash, no control character. A key that passes names an object
        /// under its prefix and nothing else, whatever a user typed as a file name.
        pub fn check_key(key: &str) -> Result<(), StorageError> {
            let problem = key_problem(key);
            match problem {
                None => Ok(()),
                Some(problem) => Err(StorageError::InvalidKey {
                    key: key.to_owned(),
                    problem,
                }),
            }
        }

        fn key_problem(key: &str) -> Option<KeyProblem> {
            if key.is_empty() {
                return Some(KeyProblem::Empty);
            }
            if key.len() > MAX_KEY_BYTES {
                return Some(KeyProblem::TooLong { len: key.len() });
            }
            if key.chars().any(char::is_control) {
                return Some(KeyProblem::ControlCharacter);
            }
            if key.contains('\\') {
                return Some(KeyProblem::Backslash);
            }
            if key.starts_with('/') {
                return Some(KeyProblem::LeadingSlash);
            }
            for segment in key.split('/') {
                match segment {
                    "" => return Some(KeyProblem::EmptySegment),
                    "." | ".." => return Some(KeyProblem::DotSegment),
                    _ => {}
                }
            }
            None
        }

        /// Checks a folder prefix of a listing: empty (the bucket's top) or a key, with or without a
        /// trailing `/`.
        fn check_prefix(prefix: &str) -> Result<(), StorageError> {
            let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
            if prefix.is_empty() {
                return Ok(());
            }
            match key_problem(trimmed) {
                None => Ok(()),
                Some(problem) => Err(StorageError::InvalidKey {
                    key: prefix.to_owned(),
                    problem,
                }),
            }
        }

        /// The content type of an upload that names none, from the key's extension; unknown:
        /// `application/octet-stream`.
        pub fn guess_content_type(key: &str) -> &'static str {
            let extension = key
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .unwrap_or_default();
            match extension.as_str() {
                "pdf" => "application/pdf",
                "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "doc" => "application/msword",
                "odt" => "application/vnd.oasis.opendocument.text",
                "rtf" => "application/rtf",
                "txt" => "text/plain",
                "md" => "text/markdown",
                "csv" => "text/csv",
                "html" | "htm" => "text/html",
                "json" => "application/json",
                "xml" => "application/xml",
                "zip" => "application/zip",
                "png" => "image/png",
                "jpg" | "jpeg" => "image/jpeg",
                "gif" => "image/gif",
                "webp" => "image/webp",
                "svg" => "image/svg+xml",
                _ => "application/octet-stream",
            }
        }

        /// Percent-encodes a path segment: everything but `A–Z a–z 0–9 - . _ ~`.
        fn encode_segment(segment: &str, out: &mut String) {
            for byte in segment.bytes() {
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(byte));
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }

        /// `key` as a URL path, each segment percent-encoded (the `/`s kept).
        fn encode_key(key: &str) -> String {
            let mut out = String::with_capacity(key.len());
            for (i, segment) in key.split('/').enumerate() {
                if i > 0 {
                    out.push('/');
                }
                encode_segment(segment, &mut out);
            }
            out
        }
    }
}

/// The errors: the API's JSON error body ([`ApiError`], [`ErrorCode`]) and [`StorageError`].
fn errors() -> TokenStream {
    quote! {
        /// A code of the Storage API's error body (`code`).
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum ErrorCode {
            /// `NoSuchKey`: no object at that key (or row-level security hides it).
            NoSuchKey,
            /// `NoSuchBucket`.
            NoSuchBucket,
            /// `KeyAlreadyExists`: an upload without upsert to an existing key.
            KeyAlreadyExists,
            /// `ResourceNotEmpty`.
            ResourceNotEmpty,
            /// `AccessDenied`: row-level security or privileges refused the request.
            AccessDenied,
            /// `InvalidJWT`: a bad or expired token (a signed URL's included).
            InvalidJwt,
            /// `InvalidSignature`.
            InvalidSignature,
            /// `EntityTooLarge`: over the bucket's or the server's size limit.
            EntityTooLarge,
            /// `InvalidMimeType`: a content type the bucket does not accept.
            InvalidMimeType,
            /// `InvalidKey`: a key the server refuses.
            InvalidKey,
            /// `InvalidRequest`: a request the server's schema refuses.
            InvalidRequest,
            /// Any other code, as sent.
            Other(String),
        }

        impl ErrorCode {
            fn parse(code: &str) -> ErrorCode {
                match code {
                    "NoSuchKey" => ErrorCode::NoSuchKey,
                    "NoSuchBucket" => ErrorCode::NoSuchBucket,
                    "KeyAlreadyExists" => ErrorCode::KeyAlreadyExists,
                    "ResourceNotEmpty" => ErrorCode::ResourceNotEmpty,
                    "AccessDenied" => ErrorCode::AccessDenied,
                    "InvalidJWT" => ErrorCode::InvalidJwt,
                    "InvalidSignature" => ErrorCode::InvalidSignature,
                    "EntityTooLarge" => ErrorCode::EntityTooLarge,
                    "InvalidMimeType" => ErrorCode::InvalidMimeType,
                    "InvalidKey" => ErrorCode::InvalidKey,
                    "InvalidRequest" => ErrorCode::InvalidRequest,
                    other => ErrorCode::Other(other.to_owned()),
                }
            }

            /// The code as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    ErrorCode::NoSuchKey => "NoSuchKey",
                    ErrorCode::NoSuchBucket => "NoSuchBucket",
                    ErrorCode::KeyAlreadyExists => "KeyAlreadyExists",
                    ErrorCode::ResourceNotEmpty => "ResourceNotEmpty",
                    ErrorCode::AccessDenied => "AccessDenied",
                    ErrorCode::InvalidJwt => "InvalidJWT",
                    ErrorCode::InvalidSignature => "InvalidSignature",
                    ErrorCode::EntityTooLarge => "EntityTooLarge",
                    ErrorCode::InvalidMimeType => "InvalidMimeType",
                    ErrorCode::InvalidKey => "InvalidKey",
                    ErrorCode::InvalidRequest => "InvalidRequest",
                    ErrorCode::Other(code) => code,
                }
            }
        }

        impl fmt::Display for ErrorCode {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// An error answer of the Storage API, from its JSON body: Storage answers HTTP 400 for most
        /// errors and puts the real status, as a string, in `statusCode`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct ApiError {
            /// The real status (the body's `statusCode`; the HTTP status when the body has none).
            pub status: u16,
            /// The error code (`code`; `error` when the body has no code).
            pub code: ErrorCode,
            /// The body's `error` field.
            pub error: String,
            /// The body's `message`.
            pub message: String,
        }

        /// The JSON error body.
        #[derive(Deserialize)]
        struct ErrorBody {
            #[serde(rename = "statusCode", default)]
            status_code: Option<serde_json::Value>,
            #[serde(default)]
            code: Option<String>,
            #[serde(default)]
            error: Option<String>,
            #[serde(default)]
            message: Option<String>,
        }

        /// Why a storage call failed. No variant holds a key or a JWT; messages from the server are
        /// scrubbed of them too.
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum StorageError {
            /// The API answered with an error.
            Api(ApiError),
            /// No answer in time (after the retries, for idempotent calls).
            Timeout,
            /// The request could not be sent or its answer not read (connection refused or reset,
            /// TLS, …); reqwest's error, with the URL removed.
            Transport(reqwest::Error),
            /// An object key the client refuses to send.
            InvalidKey {
                /// The key.
                key: String,
                /// What is wrong with it.
                problem: KeyProblem,
            },
            /// An upload over the bucket's size limit (found before sending when the size is known,
            /// else while streaming, which is then aborted).
            TooLarge {
                /// The size (or the bytes counted when the stream was aborted).
                size: u64,
                /// The bucket's limit.
                limit: u64,
            },
            /// An upload of a content type the bucket does not accept.
            MimeNotAllowed {
                /// The content type.
                mime: String,
                /// The bucket's accepted types.
                allowed: Vec<String>,
            },
            /// A public URL of a private bucket.
            NotPublic {
                /// The bucket.
                bucket: String,
            },
            /// A URL that is not a signed URL of this storage (it is not repeated: it may hold a
            /// token).
            NotASignedUrl,
            /// A stream given to an upload was already used by a previous try.
            BodyConsumed,
            /// A success answer the client does not understand.
            UnexpectedResponse {
                /// The HTTP status.
                status: u16,
                /// What did not parse.
                reason: String,
            },
            /// The configuration is incomplete or invalid.
            Config {
                /// What is wrong (never a value of a key).
                reason: String,
            },
            /// Reading or writing a local file.
            Io(std::io::Error),
        }

        impl fmt::Display for StorageError {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    StorageError::Api(e) => write!(
                        f,
                        "storage API error {} {} ({}): {}",
                        e.status, e.code, e.error, e.message
                    ),
                    StorageError::Timeout => f.write_str("the storage request timed out"),
                    StorageError::Transport(e) => write!(f, "storage request failed: {e}"),
                    StorageError::InvalidKey { key, problem } => {
                        write!(f, "invalid object key {key:?}: {problem}")
                    }
                    StorageError::TooLarge { size, limit } => write!(
                        f,
                        "the object is {size} bytes or more, over the bucket's limit of {limit} bytes"
                    ),
                    StorageError::MimeNotAllowed { mime, allowed } => write!(
                        f,
                        "content type `{mime}` is not accepted by the bucket (accepted: {})",
                        allowed.join(", ")
                    ),
                    StorageError::NotPublic { bucket } => {
                        write!(f, "bucket `{bucket}` is not public: use a signed URL")
                    }
                    StorageError::NotASignedUrl => {
                        f.write_str("not a signed download URL of this storage")
                    }
                    StorageError::BodyConsumed => {
                        f.write_str("the upload's stream was already used")
                    }
                    StorageError::UnexpectedResponse { status, reason } => {
                        write!(f, "unexpected storage answer (HTTP {status}): {reason}")
                    }
                    StorageError::Config { reason } => write!(f, "storage configuration: {reason}"),
                    StorageError::Io(e) => write!(f, "storage file I/O: {e}"),
                }
            }
        }

        impl std::error::Error for StorageError {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                match self {
                    StorageError::Transport(e) => Some(e),
                    StorageError::Io(e) => Some(e),
                    _ => None,
                }
            }
        }

        impl From<std::io::Error> for StorageError {
            fn from(e: std::io::Error) -> StorageError {
                StorageError::Io(e)
            }
        }

        impl StorageError {
            /// The API error, if the server answered with one.
            pub fn api(&self) -> Option<&ApiError> {
                match self {
                    StorageError::Api(e) => Some(e),
                    _ => None,
                }
            }

            /// The API's error code, if the server answered with an error.
            pub fn code(&self) -> Option<&ErrorCode> {
                self.api().map(|e| &e.code)
            }

            /// Whether the object (or bucket) does not exist, or row-level security hides it.
            pub fn is_not_found(&self) -> bool {
                self.api().is_some_and(|e| e.status == 404)
            }

            /// Whether another try may succeed: a timeout, a connection failure, a 5xx or a 429.
            /// The client retries only idempotent calls.
            pub fn is_transient(&self) -> bool {
                match self {
                    StorageError::Timeout => true,
                    StorageError::Transport(e) => e.is_connect() || e.is_request(),
                    StorageError::Api(e) => e.status >= 500 || e.status == 429,
                    StorageError::UnexpectedResponse { status, .. } => *status >= 500,
                    _ => false,
                }
            }

            fn transport(e: reqwest::Error) -> StorageError {
                if e.is_timeout() {
                    StorageError::Timeout
                } else {
                    StorageError::Transport(e.without_url())
                }
            }
        }
    }
}

/// What goes up and comes down: upload options and bodies (bytes, files and streams, counted
/// against the limit) and downloads (streamed).
fn bodies() -> TokenStream {
    quote! {
        /// How an upload is stored.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct UploadOptions {
            /// The content type; `None`: guessed from the key's extension ([`guess_content_type`]).
            pub content_type: Option<String>,
            /// Overwrite an existing object (`x-upsert: true`); else an existing key is an error
            /// ([`ErrorCode::KeyAlreadyExists`]).
            pub upsert: bool,
            /// The `Cache-Control` max-age the object is served with.
            pub cache_max_age: Option<Duration>,
        }

        impl UploadOptions {
            /// No content type (guessed), no upsert, the server's cache control.
            pub fn new() -> UploadOptions {
                UploadOptions::default()
            }

            /// The content type.
            pub fn content_type(mut self, content_type: &str) -> UploadOptions {
                self.content_type = Some(content_type.to_owned());
                self
            }

            /// Overwrite an existing object.
            pub fn upsert(mut self, upsert: bool) -> UploadOptions {
                self.upsert = upsert;
                self
            }

            /// The `Cache-Control` max-age.
            pub fn cache_max_age(mut self, max_age: Duration) -> UploadOptions {
                self.cache_max_age = Some(max_age);
                self
            }

            /// The content type sent for `key`.
            fn content_type_for(&self, key: &str) -> String {
                self.content_type
                    .clone()
                    .unwrap_or_else(|| guess_content_type(key).to_owned())
            }
        }

        /// A boxed stream of chunks.
        type ChunkStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

        /// What an upload sends: bytes in memory, a file (read in chunks while sending, never whole)
        /// or a stream. Bytes and files can be sent again, so an upsert of them is retried; a stream
        /// is sent once.
        pub struct UploadBody(BodyKind);

        enum BodyKind {
            Bytes(Bytes),
            File(PathBuf),
            Stream {
                stream: Option<ChunkStream>,
                len: Option<u64>,
            },
        }

        impl fmt::Debug for UploadBody {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match &self.0 {
                    BodyKind::Bytes(b) => f.debug_tuple("Bytes").field(&b.len()).finish(),
                    BodyKind::File(p) => f.debug_tuple("File").field(p).finish(),
                    BodyKind::Stream { len, .. } => {
                        f.debug_struct("Stream").field("len", len).finish()
                    }
                }
            }
        }

        impl UploadBody {
            /// The file at `path`, streamed in chunks of 64 KiB (its size is read before sending, for
            /// the size check and `Content-Length`).
            pub fn file(path: impl Into<PathBuf>) -> UploadBody {
                UploadBody(BodyKind::File(path.into()))
            }

            /// A stream of chunks, of `len` bytes when known (the size check is then made before
            /// sending; else the bytes are counted while streaming and the upload is aborted past the
            /// bucket's limit).
            pub fn stream<S, E>(stream: S, len: Option<u64>) -> UploadBody
            where
                S: Stream<Item = Result<Bytes, E>> + Send + 'static,
                E: Into<Box<dyn std::error::Error + Send + Sync>>,
            {
                let stream = stream.map_err(|e| std::io::Error::other(e.into()));
                UploadBody(BodyKind::Stream {
                    stream: Some(Box::pin(stream)),
                    len,
                })
            }

            /// Whatever an `AsyncRead` yields, in chunks of 64 KiB, `len` bytes when known.
            pub fn reader<R>(reader: R, len: Option<u64>) -> UploadBody
            where
                R: AsyncRead + Send + 'static,
            {
                UploadBody::stream(ReaderStream::with_capacity(reader, CHUNK_SIZE), len)
            }

            /// Whether it can be sent again (bytes and files).
            fn replayable(&self) -> bool {
                !matches!(self.0, BodyKind::Stream { .. })
            }

            /// The size, when known before sending.
            async fn len(&self) -> Result<Option<u64>, StorageError> {
                Ok(match &self.0 {
                    BodyKind::Bytes(b) => u64::try_from(b.len()).ok(),
                    BodyKind::File(path) => Some(tokio::fs::metadata(path).await?.len()),
                    BodyKind::Stream { len, .. } => *len,
                })
            }

            /// The body of one try, counted by `counter`, with its length when known.
            async fn take(
                &mut self,
                counter: &Arc<Counter>,
            ) -> Result<(Body, Option<u64>), StorageError> {
                match &mut self.0 {
                    BodyKind::Bytes(b) => {
                        let len = u64::try_from(b.len()).ok();
                        let chunk = b.clone();
                        counter.add(len.unwrap_or(u64::MAX));
                        if counter.exceeded() {
                            return Err(counter.too_large());
                        }
                        Ok((Body::from(chunk), len))
                    }
                    BodyKind::File(path) => {
                        let file = tokio::fs::File::open(&*path).await?;
                        let len = file.metadata().await?.len();
                        let stream = ReaderStream::with_capacity(file, CHUNK_SIZE);
                        Ok((counted(Box::pin(stream), counter), Some(len)))
                    }
                    BodyKind::Stream { stream, len } => {
                        let stream = stream.take().ok_or(StorageError::BodyConsumed)?;
                        Ok((counted(stream, counter), *len))
                    }
                }
            }
        }

        impl From<Bytes> for UploadBody {
            fn from(bytes: Bytes) -> UploadBody {
                UploadBody(BodyKind::Bytes(bytes))
            }
        }

        impl From<Vec<u8>> for UploadBody {
            fn from(bytes: Vec<u8>) -> UploadBody {
                UploadBody(BodyKind::Bytes(Bytes::from(bytes)))
            }
        }

        impl From<&'static [u8]> for UploadBody {
            fn from(bytes: &'static [u8]) -> UploadBody {
                UploadBody(BodyKind::Bytes(Bytes::from_static(bytes)))
            }
        }

        impl From<String> for UploadBody {
            fn from(text: String) -> UploadBody {
                UploadBody(BodyKind::Bytes(Bytes::from(text)))
            }
        }

        impl From<&'static str> for UploadBody {
            fn from(text: &'static str) -> UploadBody {
                UploadBody(BodyKind::Bytes(Bytes::from_static(text.as_bytes())))
            }
        }

        /// Bytes sent by one try, against a limit (the bucket's, or the declared length).
        struct Counter {
            sent: AtomicU64,
            limit: u64,
            exceeded: AtomicBool,
        }

        impl Counter {
            fn new(limit: Option<u64>) -> Arc<Counter> {
                Arc::new(Counter {
                    sent: AtomicU64::new(0),
                    limit: limit.unwrap_or(u64::MAX),
                    exceeded: AtomicBool::new(false),
                })
            }

            /// Counts `n` bytes; false when that passes the limit.
            fn add(&self, n: u64) -> bool {
                let sent = self.sent.fetch_add(n, Ordering::Relaxed).saturating_add(n);
                if sent > self.limit {
                    self.exceeded.store(true, Ordering::Relaxed);
                    return false;
                }
                true
            }

            fn exceeded(&self) -> bool {
                self.exceeded.load(Ordering::Relaxed)
            }

            fn too_large(&self) -> StorageError {
                StorageError::TooLarge {
                    size: self.sent.load(Ordering::Relaxed),
                    limit: self.limit,
                }
            }
        }

        /// A request body that counts its chunks and fails past the counter's limit.
        fn counted(stream: ChunkStream, counter: &Arc<Counter>) -> Body {
            let counter = Arc::clone(counter);
            Body::wrap_stream(stream.map(move |chunk| {
                let chunk = chunk?;
                if counter.add(u64::try_from(chunk.len()).unwrap_or(u64::MAX)) {
                    Ok(chunk)
                } else {
                    Err(std::io::Error::other(
                        "the upload passed the bucket's size limit",
                    ))
                }
            }))
        }

        /// An uploaded object.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct UploadedObject {
            /// Its key in the bucket.
            pub key: String,
            /// Its id (`storage.objects.id`), when the server says.
            pub id: Option<Uuid>,
        }

        /// The answer to an upload or a copy: `Key` is `bucket/key`.
        #[derive(Deserialize)]
        struct KeyAnswer {
            #[serde(rename = "Id", default)]
            id: Option<Uuid>,
        }

        /// A download: the answer's body, read as it arrives. Dropping it closes the connection's
        /// transfer. Its `Debug` shows the status, type and length, not the response (whose URL may
        /// hold a signed URL's token).
        pub struct Download {
            response: Response,
        }

        impl fmt::Debug for Download {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("Download")
                    .field("status", &self.response.status().as_u16())
                    .field("content_type", &self.content_type())
                    .field("content_length", &self.content_length())
                    .finish()
            }
        }

        impl Download {
            /// The object's content type.
            pub fn content_type(&self) -> Option<&str> {
                self.response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
            }

            /// The body's length, when the server says.
            pub fn content_length(&self) -> Option<u64> {
                self.response.content_length()
            }

            /// The next chunk of the body; `None` at the end.
            pub async fn chunk(&mut self) -> Result<Option<Bytes>, StorageError> {
                self.response.chunk().await.map_err(StorageError::transport)
            }

            /// The body as a stream of chunks.
            pub fn bytes_stream(self) -> impl Stream<Item = Result<Bytes, StorageError>> + Send {
                self.response
                    .bytes_stream()
                    .map_err(StorageError::transport)
            }

            /// The whole body in memory (for small objects).
            pub async fn into_bytes(self) -> Result<Bytes, StorageError> {
                self.response.bytes().await.map_err(StorageError::transport)
            }

            /// Writes the body to `writer` chunk by chunk; the bytes written.
            pub async fn write_to<W>(mut self, writer: &mut W) -> Result<u64, StorageError>
            where
                W: AsyncWrite + Unpin + ?Sized,
            {
                let mut written = 0u64;
                while let Some(chunk) = self.chunk().await? {
                    writer.write_all(&chunk).await?;
                    written =
                        written.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
                }
                writer.flush().await?;
                Ok(written)
            }

            /// Writes the body to a new file at `path` (replacing one there), chunk by chunk, and
            /// syncs it to disk; the bytes written. On failure the partial file is removed.
            pub async fn save_to_file(self, path: impl AsRef<Path>) -> Result<u64, StorageError> {
                let path = path.as_ref();
                let mut file = tokio::fs::File::create(path).await?;
                let outcome = self.write_to(&mut file).await;
                let outcome = match outcome {
                    Ok(n) => file.sync_all().await.map(|()| n).map_err(StorageError::Io),
                    Err(e) => Err(e),
                };
                drop(file);
                if outcome.is_err() {
                    let _ = tokio::fs::remove_file(path).await;
                }
                outcome
            }
        }
    }
}

/// Listings (options, entries, pages), object details and signed URLs.
fn answers() -> TokenStream {
    quote! {
        /// The column a listing is sorted by.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum SortColumn {
            /// The name (the default).
            #[default]
            Name,
            /// `created_at`.
            CreatedAt,
            /// `updated_at`.
            UpdatedAt,
            /// `last_accessed_at`.
            LastAccessedAt,
        }

        /// A sort direction.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum SortOrder {
            /// Ascending (the default).
            #[default]
            Asc,
            /// Descending.
            Desc,
        }

        /// Which page of a listing, in which order, filtered how.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct ListOptions {
            /// Entries per page (default 100).
            pub limit: u32,
            /// Entries skipped.
            pub offset: u32,
            /// The sort column.
            pub sort_by: SortColumn,
            /// The sort direction.
            pub order: SortOrder,
            /// Only entries whose name starts with this (case-insensitive).
            pub search: Option<String>,
        }

        impl Default for ListOptions {
            fn default() -> ListOptions {
                ListOptions {
                    limit: 100,
                    offset: 0,
                    sort_by: SortColumn::Name,
                    order: SortOrder::Asc,
                    search: None,
                }
            }
        }

        impl ListOptions {
            /// The first page of 100, by name.
            pub fn new() -> ListOptions {
                ListOptions::default()
            }

            /// Entries per page (at least 1).
            pub fn limit(mut self, limit: u32) -> ListOptions {
                self.limit = limit.max(1);
                self
            }

            /// Entries skipped.
            pub fn offset(mut self, offset: u32) -> ListOptions {
                self.offset = offset;
                self
            }

            /// The sort column and direction.
            pub fn sort(mut self, column: SortColumn, order: SortOrder) -> ListOptions {
                self.sort_by = column;
                self.order = order;
                self
            }

            /// Only entries whose name starts with `search`.
            pub fn search(mut self, search: &str) -> ListOptions {
                self.search = Some(search.to_owned());
                self
            }
        }

        /// The body of a listing request.
        #[derive(Serialize)]
        struct ListRequest<'a> {
            prefix: &'a str,
            limit: u32,
            offset: u32,
            #[serde(rename = "sortBy")]
            sort_by: SortRequest,
            search: &'a str,
        }

        #[derive(Serialize)]
        struct SortRequest {
            column: SortColumn,
            order: SortOrder,
        }

        /// The body of a signed-URL request (one key in the path, or several in `paths`).
        #[derive(Serialize)]
        struct SignRequest<'a> {
            #[serde(rename = "expiresIn")]
            expires_in: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            paths: Option<&'a [String]>,
        }

        /// The body of a removal of several objects.
        #[derive(Serialize)]
        struct RemoveRequest<'a> {
            prefixes: &'a [String],
        }

        /// The body of a move or a copy.
        #[derive(Serialize)]
        struct TransferRequest<'a> {
            #[serde(rename = "bucketId")]
            bucket_id: &'a str,
            #[serde(rename = "sourceKey")]
            source_key: &'a str,
            #[serde(rename = "destinationKey")]
            destination_key: &'a str,
        }

        /// A request body as JSON (serializing these types cannot fail; the error is kept anyway).
        fn to_json<T: Serialize>(body: &T) -> Result<serde_json::Value, StorageError> {
            serde_json::to_value(body).map_err(|e| StorageError::Config {
                reason: format!("cannot encode a request body: {e}"),
            })
        }

        /// An object's metadata as listings report it.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct ObjectMetadata {
            /// Its size in bytes.
            #[serde(default)]
            pub size: Option<u64>,
            /// Its content type.
            #[serde(default)]
            pub mimetype: Option<String>,
            /// Its `Cache-Control`.
            #[serde(rename = "cacheControl", default)]
            pub cache_control: Option<String>,
            /// Its ETag.
            #[serde(rename = "eTag", default)]
            pub etag: Option<String>,
            /// When it was last written (HTTP date).
            #[serde(rename = "lastModified", default)]
            pub last_modified: Option<String>,
        }

        /// An entry of a listing: an object, or a folder (a common prefix: no id, no metadata).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct ObjectEntry {
            /// Its name, relative to the listed folder.
            pub name: String,
            /// The object's id; `None` for a folder.
            #[serde(default)]
            pub id: Option<Uuid>,
            /// When it was created.
            #[serde(default)]
            pub created_at: Option<DateTime<Utc>>,
            /// When it was last updated.
            #[serde(default)]
            pub updated_at: Option<DateTime<Utc>>,
            /// When it was last read.
            #[serde(default)]
            pub last_accessed_at: Option<DateTime<Utc>>,
            /// Size, content type and the like; `None` for a folder.
            #[serde(default)]
            pub metadata: Option<ObjectMetadata>,
        }

        impl ObjectEntry {
            /// Whether the entry is a folder rather than an object.
            pub fn is_folder(&self) -> bool {
                self.id.is_none()
            }

            /// The object's size, when known.
            pub fn size(&self) -> Option<u64> {
                self.metadata.as_ref().and_then(|m| m.size)
            }
        }

        /// One page of a listing, and the options of the next (`None` on the last page).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct ListPage {
            /// The entries.
            pub entries: Vec<ObjectEntry>,
            /// The options that fetch the next page; `None` when this one was not full.
            pub next: Option<ListOptions>,
        }

        /// An object's details (`GET /object/info`).
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        pub struct ObjectInfo {
            /// Its id.
            #[serde(default)]
            pub id: Option<Uuid>,
            /// Its key in the bucket.
            #[serde(default)]
            pub name: Option<String>,
            /// Its bucket.
            #[serde(default)]
            pub bucket_id: Option<String>,
            /// Its size in bytes.
            #[serde(default)]
            pub size: Option<u64>,
            /// Its content type.
            #[serde(default)]
            pub content_type: Option<String>,
            /// Its `Cache-Control`.
            #[serde(default)]
            pub cache_control: Option<String>,
            /// Its ETag.
            #[serde(default)]
            pub etag: Option<String>,
            /// When it was last written.
            #[serde(default)]
            pub last_modified: Option<DateTime<Utc>>,
            /// When it was created.
            #[serde(default)]
            pub created_at: Option<DateTime<Utc>>,
            /// Its version.
            #[serde(default)]
            pub version: Option<String>,
        }

        /// A signed download URL of a batch, or why there is none for that path.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct SignedUrl {
            /// The object's key.
            pub key: String,
            /// The absolute URL, or the server's reason (a missing object).
            pub url: Result<String, String>,
        }

        #[derive(Deserialize)]
        struct SignedUrlAnswer {
            #[serde(rename = "signedURL", alias = "signedUrl")]
            signed_url: String,
        }

        #[derive(Deserialize)]
        struct SignedUrlsEntry {
            #[serde(default)]
            path: Option<String>,
            #[serde(rename = "signedURL", alias = "signedUrl", default)]
            signed_url: Option<String>,
            #[serde(default)]
            error: Option<String>,
        }

        /// A URL an upload can be sent to without credentials, until its token expires.
        #[derive(Clone, PartialEq, Eq)]
        pub struct SignedUploadUrl {
            /// The absolute URL (token included).
            pub url: String,
            /// The token alone.
            pub token: String,
            /// The object's key.
            pub key: String,
        }

        impl fmt::Debug for SignedUploadUrl {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("SignedUploadUrl")
                    .field("key", &self.key)
                    .field("token", &REDACTED)
                    .finish_non_exhaustive()
            }
        }

        /// The `token` query parameter of a URL.
        fn query_token(url: &str) -> Option<String> {
            let parsed = reqwest::Url::parse(url).ok()?;
            let (_, token) = parsed.query_pairs().find(|(name, _)| name == "token")?;
            Some(token.into_owned())
        }

        #[derive(Deserialize)]
        struct SignedUploadAnswer {
            url: String,
            #[serde(default)]
            token: Option<String>,
        }
    }
}

/// [`Storage`]: the HTTP client, the credentials, sending with retries and reading error answers.
fn client() -> TokenStream {
    quote! {
        /// One request: how it is sent and retried.
        struct Call<'a> {
            method: Method,
            url: &'a str,
            json: Option<serde_json::Value>,
            idempotent: bool,
            /// Whether the whole exchange is bounded by the timeout (not for transfers, whose bodies
            /// take as long as they take; each read is bounded).
            whole: bool,
            /// Whether the credentials are sent (not to signed URLs).
            auth: bool,
            /// Other headers.
            headers: HeaderMap,
        }

        /// The Storage client: one connection pool, one identity. Clone it freely (clones share the
        /// pool). Its handles per bucket ([`Bucket`]) do the work; it has no way to reach the
        /// database's tables: every request goes to the storage root's `/object/…` routes.
        #[derive(Clone)]
        pub struct Storage {
            http: Client,
            config: Arc<StorageConfig>,
            auth: HeaderMap,
        }

        impl fmt::Debug for Storage {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("Storage")
                    .field("config", &self.config)
                    .finish_non_exhaustive()
            }
        }

        impl Storage {
            /// A client with `config`.
            pub fn new(config: StorageConfig) -> Result<Storage, StorageError> {
                let http = Client::builder()
                    .connect_timeout(config.connect_timeout)
                    .read_timeout(config.timeout)
                    .build()
                    .map_err(|e| StorageError::Config {
                        reason: format!("cannot build the HTTP client: {}", e.without_url()),
                    })?;
                Storage::with_client(http, config)
            }

            /// A client from the environment ([`StorageConfig::from_env`]).
            pub fn from_env() -> Result<Storage, StorageError> {
                Storage::new(StorageConfig::from_env()?)
            }

            fn with_client(http: Client, config: StorageConfig) -> Result<Storage, StorageError> {
                let header = |value: String| {
                    HeaderValue::from_str(&value)
                        .map(|mut v| {
                            v.set_sensitive(true);
                            v
                        })
                        .map_err(|_| StorageError::Config {
                            reason: "a key is not a valid header value".to_owned(),
                        })
                };
                let mut auth = HeaderMap::new();
                auth.insert(
                    AUTHORIZATION,
                    header(format!("Bearer {}", config.bearer.expose()))?,
                );
                auth.insert("apikey", header(config.api_key.expose().to_owned())?);
                Ok(Storage {
                    http,
                    config: Arc::new(config),
                    auth,
                })
            }

            /// The same client (and connection pool) acting as the end user whose access token is
            /// `jwt`: row-level security applies.
            pub fn as_user(&self, jwt: &str) -> Result<Storage, StorageError> {
                let config = (*self.config).clone().with_user_jwt(jwt)?;
                Storage::with_client(self.http.clone(), config)
            }

            /// Its configuration.
            pub fn config(&self) -> &StorageConfig {
                &self.config
            }

            /// The handle of a bucket.
            pub fn bucket<'s>(&'s self, spec: &'s BucketSpec) -> Bucket<'s> {
                Bucket {
                    storage: self,
                    spec,
                }
            }

            /// Fetches a signed download URL (from [`Bucket::signed_url`]) without credentials. Only
            /// this storage's signed URLs are fetched; an expired token is an
            /// [`ErrorCode::InvalidJwt`] error.
            pub async fn download_signed_url(&self, url: &str) -> Result<Download, StorageError> {
                let prefix = format!("{}/object/sign/", self.config.storage_url);
                if !url.starts_with(&prefix) || !url.contains("?token=") {
                    return Err(StorageError::NotASignedUrl);
                }
                let call = Call {
                    method: Method::GET,
                    url,
                    json: None,
                    idempotent: true,
                    whole: false,
                    auth: false,
                    headers: HeaderMap::new(),
                };
                Ok(Download {
                    response: self.send(call).await?,
                })
            }

            /// `path` under the storage root (`/object/…`, segments already encoded).
            fn url(&self, path: &str) -> String {
                format!("{}{path}", self.config.storage_url)
            }

            fn tries(&self, idempotent: bool) -> u32 {
                if idempotent {
                    self.config.retry.max_attempts.max(1)
                } else {
                    1
                }
            }

            /// Sends `call`, retrying transient failures of idempotent calls; a success answer, or
            /// the error.
            async fn send(&self, call: Call<'_>) -> Result<Response, StorageError> {
                let tries = self.tries(call.idempotent);
                let mut attempt = 1;
                loop {
                    let mut request = self.http.request(call.method.clone(), call.url);
                    request = request.headers(call.headers.clone());
                    if call.auth {
                        request = request.headers(self.auth.clone());
                    }
                    if call.whole {
                        request = request.timeout(self.config.timeout);
                    }
                    if let Some(json) = &call.json {
                        request = request.json(json);
                    }
                    let outcome = self.answer(request.send().await).await;
                    match outcome {
                        Err(e) if attempt < tries && e.is_transient() => {
                            tokio::time::sleep(self.config.retry.delay(attempt)).await;
                            attempt += 1;
                        }
                        other => return other,
                    }
                }
            }

            /// Sends an upload: `body` with `headers`; retried when `idempotent` and the body can be
            /// sent again.
            async fn send_body(
                &self,
                call: Call<'_>,
                body: &mut UploadBody,
                limit: Option<u64>,
            ) -> Result<Response, StorageError> {
                let tries = if body.replayable() {
                    self.tries(call.idempotent)
                } else {
                    1
                };
                let mut attempt = 1;
                loop {
                    let counter = Counter::new(limit);
                    let (payload, len) = body.take(&counter).await?;
                    let mut request = self
                        .http
                        .request(call.method.clone(), call.url)
                        .headers(call.headers.clone())
                        .body(payload);
                    if call.auth {
                        request = request.headers(self.auth.clone());
                    }
                    if let Some(len) = len {
                        request = request.header(CONTENT_LENGTH, len);
                    }
                    let outcome = self.answer(request.send().await).await;
                    if counter.exceeded() {
                        return Err(counter.too_large());
                    }
                    match outcome {
                        Err(e) if attempt < tries && e.is_transient() => {
                            tokio::time::sleep(self.config.retry.delay(attempt)).await;
                            attempt += 1;
                        }
                        other => return other,
                    }
                }
            }

            /// A success answer, or the API's error.
            async fn answer(
                &self,
                sent: Result<Response, reqwest::Error>,
            ) -> Result<Response, StorageError> {
                let response = sent.map_err(StorageError::transport)?;
                if response.status().is_success() {
                    return Ok(response);
                }
                Err(self.api_error(response).await)
            }

            /// The error of a failed answer, from its JSON body (status from `statusCode`), scrubbed
            /// of this client's secrets.
            async fn api_error(&self, mut response: Response) -> StorageError {
                let http_status = response.status().as_u16();
                let mut body = Vec::new();
                while body.len() < MAX_ERROR_BODY {
                    match response.chunk().await {
                        Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                        Ok(None) => break,
                        Err(e) => return StorageError::transport(e),
                    }
                }
                let scrub = |text: String| {
                    let mut text = text;
                    for secret in [&self.config.bearer, &self.config.api_key] {
                        if !secret.expose().is_empty() {
                            text = text.replace(secret.expose(), REDACTED);
                        }
                    }
                    text
                };
                match serde_json::from_slice::<ErrorBody>(&body) {
                    Ok(parsed) => {
                        let status = match &parsed.status_code {
                            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
                            Some(serde_json::Value::Number(n)) => {
                                n.as_u64().and_then(|n| u16::try_from(n).ok())
                            }
                            _ => None,
                        }
                        .unwrap_or(http_status);
                        let error = parsed.error.unwrap_or_default();
                        let code = parsed.code.clone().unwrap_or_else(|| error.clone());
                        StorageError::Api(ApiError {
                            status,
                            code: ErrorCode::parse(&code),
                            error: scrub(error),
                            message: scrub(parsed.message.unwrap_or_default()),
                        })
                    }
                    Err(_) => {
                        let text = String::from_utf8_lossy(&body);
                        let text: String = text.chars().take(200).collect();
                        StorageError::Api(ApiError {
                            status: http_status,
                            code: ErrorCode::Other(format!("HTTP {http_status}")),
                            error: String::new(),
                            message: scrub(text),
                        })
                    }
                }
            }

            /// Reads a JSON answer.
            async fn json<T: serde::de::DeserializeOwned>(
                response: Response,
            ) -> Result<T, StorageError> {
                let status = response.status().as_u16();
                let body = response.bytes().await.map_err(StorageError::transport)?;
                serde_json::from_slice(&body).map_err(|e| StorageError::UnexpectedResponse {
                    status,
                    reason: e.to_string(),
                })
            }
        }
    }
}

/// [`Bucket`]: every object operation of one bucket.
fn bucket() -> TokenStream {
    quote! {
        /// A bucket's handle: every object operation, with the bucket's declared limits checked before
        /// anything is sent. Cheap to copy.
        #[derive(Debug, Clone, Copy)]
        pub struct Bucket<'s> {
            storage: &'s Storage,
            spec: &'s BucketSpec,
        }

        impl<'s> Bucket<'s> {
            /// The bucket as declared.
            pub fn spec(&self) -> &'s BucketSpec {
                self.spec
            }

            /// The bucket's id.
            pub fn id(&self) -> &'s str {
                self.spec.id
            }

            /// `/object/<route><bucket>/<key>` under the storage root.
            fn object_url(&self, route: &str, key: &str) -> String {
                let mut path = format!("/object/{route}");
                encode_segment(self.spec.id, &mut path);
                if !key.is_empty() {
                    path.push('/');
                    path.push_str(&encode_key(key));
                }
                self.storage.url(&path)
            }

            /// The checks and headers of an upload of `body` to `key`.
            async fn prepare_upload(
                &self,
                key: &str,
                body: &UploadBody,
                options: &UploadOptions,
            ) -> Result<HeaderMap, StorageError> {
                check_key(key)?;
                let content_type = options.content_type_for(key);
                self.spec.check_upload(body.len().await?, &content_type)?;
                let mut headers = HeaderMap::new();
                let value = |text: &str| {
                    HeaderValue::from_str(text).map_err(|_| StorageError::MimeNotAllowed {
                        mime: text.to_owned(),
                        allowed: Vec::new(),
                    })
                };
                headers.insert(CONTENT_TYPE, value(&content_type)?);
                if options.upsert {
                    headers.insert("x-upsert", HeaderValue::from_static("true"));
                }
                if let Some(max_age) = options.cache_max_age {
                    headers.insert(
                        CACHE_CONTROL,
                        value(&format!("max-age={}", max_age.as_secs()))?,
                    );
                }
                Ok(headers)
            }

            /// An upload (`POST`) or an update (`PUT`). A `POST` without upsert is not idempotent: a
            /// first try that stored the object would make a second fail with `KeyAlreadyExists`, so
            /// it is sent once.
            async fn put_object(
                &self,
                method: Method,
                key: &str,
                body: impl Into<UploadBody>,
                options: &UploadOptions,
            ) -> Result<UploadedObject, StorageError> {
                let mut body = body.into();
                let headers = self.prepare_upload(key, &body, options).await?;
                let url = self.object_url("", key);
                let idempotent = method == Method::PUT || options.upsert;
                let call = Call {
                    method,
                    url: &url,
                    json: None,
                    idempotent,
                    whole: false,
                    auth: true,
                    headers,
                };
                let response = self
                    .storage
                    .send_body(call, &mut body, self.spec.file_size_limit)
                    .await?;
                let answer: KeyAnswer = Storage::json(response).await?;
                Ok(UploadedObject {
                    key: key.to_owned(),
                    id: answer.id,
                })
            }

            /// Uploads `body` (bytes, [`UploadBody::file`], [`UploadBody::stream`] …) to `key`: the key,
            /// the size (when known) and the content type are checked first. Retried on transient
            /// failures only with `upsert` and a body that can be sent again.
            pub async fn upload(
                &self,
                key: &str,
                body: impl Into<UploadBody>,
                options: &UploadOptions,
            ) -> Result<UploadedObject, StorageError> {
                self.put_object(Method::POST, key, body, options).await
            }

            /// Uploads the file at `path`, streamed (never held in memory whole).
            pub async fn upload_file(
                &self,
                key: &str,
                path: impl AsRef<Path>,
                options: &UploadOptions,
            ) -> Result<UploadedObject, StorageError> {
                self.upload(key, UploadBody::file(path.as_ref()), options)
                    .await
            }

            /// Replaces the object at `key` (`PUT`, which creates it when missing, as Supabase
            /// Storage does). Retried on transient failures when the body can be sent again.
            pub async fn update(
                &self,
                key: &str,
                body: impl Into<UploadBody>,
                options: &UploadOptions,
            ) -> Result<UploadedObject, StorageError> {
                self.put_object(Method::PUT, key, body, options).await
            }

            /// Downloads the object at `key`: the body streams as it is read.
            pub async fn download(&self, key: &str) -> Result<Download, StorageError> {
                check_key(key)?;
                let url = self.object_url("authenticated/", key);
                let call = Call {
                    method: Method::GET,
                    url: &url,
                    json: None,
                    idempotent: true,
                    whole: false,
                    auth: true,
                    headers: HeaderMap::new(),
                };
                Ok(Download {
                    response: self.storage.send(call).await?,
                })
            }

            /// Downloads the object at `key` into a file at `path`, chunk by chunk; the bytes written.
            pub async fn download_to_file(
                &self,
                key: &str,
                path: impl AsRef<Path>,
            ) -> Result<u64, StorageError> {
                self.download(key).await?.save_to_file(path).await
            }

            /// The object's details.
            pub async fn info(&self, key: &str) -> Result<ObjectInfo, StorageError> {
                check_key(key)?;
                let url = self.object_url("info/", key);
                let response = self
                    .storage
                    .send(Call {
                        method: Method::GET,
                        url: &url,
                        json: None,
                        idempotent: true,
                        whole: true,
                        auth: true,
                        headers: HeaderMap::new(),
                    })
                    .await?;
                Storage::json(response).await
            }

            /// Whether an object exists at `key` (and is visible to this client).
            pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
                match self.info(key).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.is_not_found() => Ok(false),
                    Err(e) => Err(e),
                }
            }

            /// The public URL of the object at `key` (public buckets only; nothing is sent).
            pub fn public_url(&self, key: &str) -> Result<String, StorageError> {
                check_key(key)?;
                if !self.spec.public {
                    return Err(StorageError::NotPublic {
                        bucket: self.spec.id.to_owned(),
                    });
                }
                Ok(self.object_url("public/", key))
            }

            /// A URL that downloads the object at `key` without credentials for `expires_in` (whole
            /// seconds, at least 1).
            pub async fn signed_url(
                &self,
                key: &str,
                expires_in: Duration,
            ) -> Result<String, StorageError> {
                check_key(key)?;
                let url = self.object_url("sign/", key);
                let response = self
                    .storage
                    .send(Call {
                        method: Method::POST,
                        url: &url,
                        json: Some(to_json(&SignRequest {
                            expires_in: expires_in.as_secs().max(1),
                            paths: None,
                        })?),
                        idempotent: true,
                        whole: true,
                        auth: true,
                        headers: HeaderMap::new(),
                    })
                    .await?;
                let answer: SignedUrlAnswer = Storage::json(response).await?;
                Ok(self.storage.url(&answer.signed_url))
            }

            /// Signed URLs for several keys at once; a missing object gets its error in its entry.
            pub async fn signed_urls<I, K>(
                &self,
                keys: I,
                expires_in: Duration,
            ) -> Result<Vec<SignedUrl>, StorageError>
            where
                I: IntoIterator<Item = K>,
                K: AsRef<str>,
            {
                let keys: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_owned()).collect();
                for key in &keys {
                    check_key(key)?;
                }
                let url = self.object_url("sign/", "");
                let response = self
                    .storage
                    .send(Call {
                        method: Method::POST,
                        url: &url,
                        json: Some(to_json(&SignRequest {
                            expires_in: expires_in.as_secs().max(1),
                            paths: Some(&keys),
                        })?),
                        idempotent: true,
                        whole: true,
                        auth: true,
                        headers: HeaderMap::new(),
                    })
                    .await?;
                let answer: Vec<SignedUrlsEntry> = Storage::json(response).await?;
                Ok(answer
                    .into_iter()
                    .zip(keys)
                    .map(|(entry, key)| SignedUrl {
                        key: entry.path.unwrap_or(key),
                        url: match (entry.signed_url, entry.error) {
                            (Some(url), None) => Ok(self.storage.url(&url)),
                            (_, Some(error)) => Err(error),
                            (None, None) => Err("no URL".to_owned()),
                        },
                    })
                    .collect())
            }

            /// A URL an upload to `key` can be sent to without credentials (for two hours, the
            /// server's default); `upsert` lets it overwrite.
            pub async fn signed_upload_url(
                &self,
                key: &str,
                upsert: bool,
            ) -> Result<SignedUploadUrl, StorageError> {
                check_key(key)?;
                let url = self.object_url("upload/sign/", key);
                let mut call = Call {
                    method: Method::POST,
                    url: &url,
                    json: None,
                    idempotent: true,
                    whole: true,
                    auth: true,
                    headers: HeaderMap::new(),
                };
                if upsert {
                    call.headers
                        .insert("x-upsert", HeaderValue::from_static("true"));
                }
                let response = self.storage.send(call).await?;
                let answer: SignedUploadAnswer = Storage::json(response).await?;
                let absolute = self.storage.url(&answer.url);
                let token = match answer.token {
                    Some(token) => token,
                    None => {
                        query_token(&absolute).ok_or_else(|| StorageError::UnexpectedResponse {
                            status: 200,
                            reason: "the signed upload URL has no token".to_owned(),
                        })?
                    }
                };
                Ok(SignedUploadUrl {
                    url: absolute,
                    token,
                    key: key.to_owned(),
                })
            }

            /// Uploads `body` to a signed upload URL of this bucket, without credentials; the checks
            /// are the same as [`Bucket::upload`]'s.
            pub async fn upload_to_signed_url(
                &self,
                signed: &SignedUploadUrl,
                body: impl Into<UploadBody>,
                options: &UploadOptions,
            ) -> Result<UploadedObject, StorageError> {
                let mut body = body.into();
                let headers = self.prepare_upload(&signed.key, &body, options).await?;
                let prefix = self.object_url("upload/sign/", "");
                if !signed.url.starts_with(&prefix) {
                    return Err(StorageError::NotASignedUrl);
                }
                let call = Call {
                    method: Method::PUT,
                    url: &signed.url,
                    json: None,
                    idempotent: false,
                    whole: false,
                    auth: false,
                    headers,
                };
                let response = self
                    .storage
                    .send_body(call, &mut body, self.spec.file_size_limit)
                    .await?;
                let answer: KeyAnswer = Storage::json(response).await?;
                Ok(UploadedObject {
                    key: signed.key.clone(),
                    id: answer.id,
                })
            }

            /// One page of the entries in the folder `prefix` (`""`: the bucket's top; with or without
            /// a trailing `/`): objects, and sub-folders (entries without an id).
            pub async fn list(
                &self,
                prefix: &str,
                options: &ListOptions,
            ) -> Result<ListPage, StorageError> {
                check_prefix(prefix)?;
                let url = self.object_url("list/", "");
                let body = ListRequest {
                    prefix,
                    limit: options.limit.max(1),
                    offset: options.offset,
                    sort_by: SortRequest {
                        column: options.sort_by,
                        order: options.order,
                    },
                    search: options.search.as_deref().unwrap_or_default(),
                };
                let json = to_json(&body)?;
                let response = self
                    .storage
                    .send(Call {
                        method: Method::POST,
                        url: &url,
                        json: Some(json),
                        idempotent: true,
                        whole: true,
                        auth: true,
                        headers: HeaderMap::new(),
                    })
                    .await?;
                let entries: Vec<ObjectEntry> = Storage::json(response).await?;
                let full = u32::try_from(entries.len()).is_ok_and(|n| n >= body.limit);
                let next = full.then(|| {
                    let mut next = options.clone();
                    next.offset = options.offset.saturating_add(body.limit);
                    next
                });
                Ok(ListPage { entries, next })
            }

            /// Every entry in the folder `prefix`, page after page.
            pub async fn list_all(
                &self,
                prefix: &str,
                options: &ListOptions,
            ) -> Result<Vec<ObjectEntry>, StorageError> {
                let mut page = self.list(prefix, options).await?;
                let mut entries = std::mem::take(&mut page.entries);
                while let Some(next) = page.next {
                    page = self.list(prefix, &next).await?;
                    entries.append(&mut page.entries);
                }
                Ok(entries)
            }

            /// Removes the object at `key` (a missing one is [`ErrorCode::NoSuchKey`]).
            pub async fn remove(&self, key: &str) -> Result<(), StorageError> {
                check_key(key)?;
                let url = self.object_url("", key);
                self.storage
                    .send(Call {
                        method: Method::DELETE,
                        url: &url,
                        json: None,
                        idempotent: true,
                        whole: true,
                        auth: true,
                        headers: HeaderMap::new(),
                    })
                    .await?;
                Ok(())
            }

            /// Removes the objects at `keys`; the keys removed (missing ones are left out).
            pub async fn remove_many<I, K>(&self, keys: I) -> Result<Vec<String>, StorageError>
            where
                I: IntoIterator<Item = K>,
                K: AsRef<str>,
            {
                let keys: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_owned()).collect();
                for key in &keys {
                    check_key(key)?;
                }
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let url = self.object_url("", "");
                let response = self
                    .storage
                    .send(Call {
                        method: Method::DELETE,
                        url: &url,
                        json: Some(to_json(&RemoveRequest { prefixes: &keys })?),
                        idempotent: true,
                        whole: true,
                        auth: true,
                        headers: HeaderMap::new(),
                    })
                    .await?;
                #[derive(Deserialize)]
                struct Removed {
                    name: String,
                }
                let removed: Vec<Removed> = Storage::json(response).await?;
                Ok(removed.into_iter().map(|r| r.name).collect())
            }

            /// Moves (renames) the object at `from` to `to` in this bucket. Not retried.
            pub async fn move_object(&self, from: &str, to: &str) -> Result<(), StorageError> {
                self.transfer("move", from, to).await.map(|_| ())
            }

            /// Copies the object at `from` to `to` in this bucket. Not retried.
            pub async fn copy_object(
                &self,
                from: &str,
                to: &str,
            ) -> Result<UploadedObject, StorageError> {
                let response = self.transfer("copy", from, to).await?;
                let answer: KeyAnswer = Storage::json(response).await?;
                Ok(UploadedObject {
                    key: to.to_owned(),
                    id: answer.id,
                })
            }

            /// A move or a copy (`route`) of `from` to `to`.
            async fn transfer(
                &self,
                route: &str,
                from: &str,
                to: &str,
            ) -> Result<Response, StorageError> {
                check_key(from)?;
                check_key(to)?;
                let url = self.storage.url(&format!("/object/{route}"));
                self.storage
                    .send(Call {
                        method: Method::POST,
                        url: &url,
                        json: Some(to_json(&TransferRequest {
                            bucket_id: self.spec.id,
                            source_key: from,
                            destination_key: to,
                        })?),
                        idempotent: false,
                        whole: true,
                        auth: true,
                        headers: HeaderMap::new(),
                    })
                    .await
            }
        }
    }
}

/// The Rust names of a bucket: its `Storage` method and its `BucketSpec` constant.
struct BucketNames {
    method: String,
    constant: String,
}

impl BucketNames {
    /// `documents` → `Storage::documents`, `BucketSpec::DOCUMENTS`.
    fn of(bucket: &Bucket) -> BucketNames {
        let method = field_name(&bucket.id);
        let constant = method.trim_start_matches("r#").to_ascii_uppercase();
        BucketNames { method, constant }
    }
}

/// "10 MiB" for a size in bytes that is a whole number of KiB, MiB or GiB, else "N bytes".
fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes % unit == 0 {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

/// How a bucket is described in its docs: "private, at most 10 MiB per object, content types
/// `application/pdf`, `text/plain`".
fn describe(bucket: &Bucket) -> String {
    let mut parts = vec![if bucket.public { "public" } else { "private" }.to_owned()];
    if let Some(limit) = bucket.file_size_limit.and_then(|l| u64::try_from(l).ok()) {
        parts.push(format!("at most {} per object", human_size(limit)));
    }
    match bucket.allowed_mime_types.as_deref() {
        Some(types) if !types.is_empty() => {
            let types: Vec<String> = types.iter().map(|t| format!("`{t}`")).collect();
            parts.push(format!("content types {}", types.join(", ")));
        }
        _ => parts.push("any content type".to_owned()),
    }
    parts.join(", ")
}

/// The schema's buckets: one `BucketSpec` constant each (and `BucketSpec::ALL`, in id order)
/// and one `Storage` method each returning the bucket's handle. A bucket whose Rust name is
/// taken (by another bucket, or by the client's own items) is an error naming both.
pub fn bucket_items(schema: &Schema) -> Result<TokenStream, RustRenderError> {
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for name in STORAGE_METHODS {
        taken.insert(
            (*name).to_owned(),
            "a method of `Storage` itself".to_owned(),
        );
    }
    for name in SPEC_CONSTANTS {
        taken.insert(
            (*name).to_owned(),
            "a constant of `BucketSpec` itself".to_owned(),
        );
    }
    let mut constants = TokenStream::new();
    let mut methods = TokenStream::new();
    let mut all = Vec::new();
    for bucket in schema.buckets.values() {
        let names = BucketNames::of(bucket);
        for name in [&names.method, &names.constant] {
            if let Some(owner) = taken.get(name) {
                return Err(RustRenderError::BucketName {
                    bucket: bucket.id.clone(),
                    name: name.clone(),
                    taken: owner.clone(),
                });
            }
            taken.insert(name.clone(), format!("the name of bucket `{}`", bucket.id));
        }
        let method = ident(&names.method)?;
        let constant = ident(&names.constant)?;
        let id = &bucket.id;
        let public = bucket.public;
        let limit = match bucket.file_size_limit.and_then(|l| u64::try_from(l).ok()) {
            Some(limit) => {
                let limit = Literal::u64_unsuffixed(limit);
                quote!(Some(#limit))
            }
            None => quote!(None),
        };
        let types = match bucket.allowed_mime_types.as_deref() {
            Some(types) if !types.is_empty() => quote!(Some(&[#(#types),*])),
            _ => quote!(None),
        };
        let description = describe(bucket);
        let const_doc = doc(&format!(
            "The `{id}` bucket as declared in `schema/`: {description}."
        ));
        let method_doc = doc(&format!(
            "The handle of the `{id}` bucket ({description}): uploads are checked against \
             [`BucketSpec::{}`] before they are sent.",
            names.constant
        ));
        constants.extend(quote! {
            #const_doc
            pub const #constant: BucketSpec = BucketSpec {
                id: #id,
                public: #public,
                file_size_limit: #limit,
                allowed_mime_types: #types,
            };
        });
        methods.extend(quote! {
            #method_doc
            pub fn #method(&self) -> Bucket<'_> {
                self.bucket(&BucketSpec::#constant)
            }
        });
        all.push(constant);
    }
    let methods = if methods.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            impl Storage {
                #methods
            }
        }
    };
    Ok(quote! {
        impl BucketSpec {
            #constants

            /// Every bucket declared in `schema/`, in id order.
            pub const ALL: &'static [BucketSpec] = &[#(BucketSpec::#all),*];
        }

        #methods
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(id: &str, public: bool, limit: Option<i64>, types: Option<&[&str]>) -> Bucket {
        Bucket {
            id: id.to_owned(),
            name: id.to_owned(),
            public,
            file_size_limit: limit,
            allowed_mime_types: types.map(|t| t.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn schema(buckets: Vec<Bucket>) -> Schema {
        let mut schema = Schema::default();
        for b in buckets {
            schema.buckets.insert(b.id.clone(), b);
        }
        schema
    }

    fn text(ts: TokenStream) -> String {
        let file: syn::File = syn::parse2(ts).unwrap();
        prettyplease::unparse(&file)
    }

    #[test]
    fn each_bucket_gets_a_constant_and_a_handle() {
        let schema = schema(vec![
            bucket(
                "documents",
                false,
                Some(10 * 1024 * 1024),
                Some(&["application/pdf", "text/plain"]),
            ),
            bucket("avatar-images", true, None, Some(&["image/*"])),
            bucket("type", false, Some(1000), Some(&[])),
        ]);
        insta::assert_snapshot!(text(bucket_items(&schema).unwrap()));
    }

    #[test]
    fn the_fixture_buckets() {
        let schema = crate::render::fixture::every_field_schema();
        insta::assert_snapshot!(text(bucket_items(&schema).unwrap()));
    }

    #[test]
    fn no_buckets_no_handles() {
        let out = text(bucket_items(&Schema::default()).unwrap());
        assert!(
            out.contains("pub const ALL: &'static [BucketSpec] = &[];"),
            "{out}"
        );
        assert!(!out.contains("impl Storage"), "{out}");
    }

    #[test]
    fn taken_names_are_errors() {
        let err = bucket_items(&schema(vec![bucket("new", false, None, None)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bucket `new` would get the Rust name `new`, which is a method of `Storage` itself; \
             Rust names of buckets come from their ids (in snake_case and upper case): rename the \
             bucket"
        );
        let err = bucket_items(&schema(vec![
            bucket("my-files", false, None, None),
            bucket("my_files", false, None, None),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bucket `my_files` would get the Rust name `my_files`, which is the name of bucket `my-files`"),
            "{err}"
        );
        let err = bucket_items(&schema(vec![bucket("all", false, None, None)])).unwrap_err();
        assert!(
            err.to_string()
                .contains("`ALL`, which is a constant of `BucketSpec` itself"),
            "{err}"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(10 * 1024 * 1024), "10 MiB");
        assert_eq!(human_size(2 << 30), "2 GiB");
        assert_eq!(human_size(1536), "1536 bytes");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(1000), "1000 bytes");
    }
}
