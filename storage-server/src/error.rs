//! The library's errors ([`Error`]) and the HTTP error answers of the API ([`ApiError`]).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What can go wrong starting, running or driving the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be reached or refused a statement.
    #[error("{context}: {source}")]
    Database {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The PostgreSQL harness failed (temporary database).
    #[error(transparent)]
    Pgkit(#[from] pgkit::Error),
    /// A configuration value is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Node.js or npm is missing, or `npm ci` failed.
    #[error("{0}")]
    Node(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn db(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        Self::Database {
            context: context.into(),
            source,
        }
    }
}

/// An error answer in Supabase Storage's shape: HTTP 400 (500 for internal errors, or the status
/// itself for injected failures) with `{"statusCode": "404", "code": …, "error": …, "message": …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The real status, sent as a string in the body.
    pub status: u16,
    /// The machine-readable code (`NoSuchKey`, `KeyAlreadyExists`, …).
    pub code: &'static str,
    /// The older `error` field (`not_found`, `Duplicate`, …; the code when there is none).
    pub error: String,
    /// The human-readable message.
    pub message: String,
    /// The HTTP status of the answer.
    pub http_status: u16,
}

impl ApiError {
    fn new(
        status: u16,
        code: &'static str,
        error: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            error: error.unwrap_or(code).to_owned(),
            message: message.into(),
            http_status: if status == 500 { 500 } else { 400 },
        }
    }

    /// An answer with exactly this HTTP status (injected failures, `fail_next`).
    pub fn injected(status: u16) -> Self {
        let (code, message) = match status {
            500 => ("InternalError", "Internal server error"),
            502 => ("InternalError", "Bad gateway"),
            503 => (
                "DatabaseConnectionLimit",
                "The database has reached its maximum number of connections. Please try again later.",
            ),
            504 => (
                "DatabaseTimeout",
                "The connection to the database timed out",
            ),
            429 => ("SlowDown", "Too many requests"),
            _ => ("InternalError", "Injected failure"),
        };
        Self {
            http_status: status,
            ..Self::new(status, code, None, message)
        }
    }

    pub(crate) fn no_such_key() -> Self {
        Self::new(404, "NoSuchKey", Some("not_found"), "Object not found")
    }

    pub(crate) fn no_such_bucket() -> Self {
        Self::new(
            404,
            "NoSuchBucket",
            Some("Bucket not found"),
            "Bucket not found",
        )
    }

    pub(crate) fn key_exists() -> Self {
        Self::new(
            409,
            "KeyAlreadyExists",
            Some("Duplicate"),
            "The resource already exists",
        )
    }

    pub(crate) fn bucket_exists() -> Self {
        Self::new(
            409,
            "BucketAlreadyExists",
            Some("Duplicate"),
            "The resource already exists",
        )
    }

    pub(crate) fn bucket_not_empty() -> Self {
        Self::new(
            409,
            "ResourceNotEmpty",
            None,
            "The bucket you tried to delete is not empty",
        )
    }

    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        Self::new(403, "AccessDenied", Some("Unauthorized"), message)
    }

    pub(crate) fn invalid_jwt(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidJWT", None, message)
    }

    pub(crate) fn invalid_signature(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidSignature", None, message)
    }

    /// A request that does not fit the route's schema (fastify's validation errors).
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidRequest", Some("Bad Request"), message)
    }

    pub(crate) fn missing_authorization() -> Self {
        Self::bad_request("headers must have required property 'authorization'")
    }

    pub(crate) fn invalid_key(key: &str) -> Self {
        Self::new(400, "InvalidKey", None, format!("Invalid key: {key}"))
    }

    pub(crate) fn invalid_bucket_name() -> Self {
        Self::new(
            400,
            "InvalidBucketName",
            Some("Invalid Input"),
            "Bucket name invalid",
        )
    }

    pub(crate) fn invalid_mime_type(mime: &str) -> Self {
        Self::new(
            415,
            "InvalidMimeType",
            Some("invalid_mime_type"),
            format!("mime type {mime} is not supported"),
        )
    }

    pub(crate) fn entity_too_large() -> Self {
        Self::new(
            413,
            "EntityTooLarge",
            Some("Payload too large"),
            "The object exceeded the maximum allowed size",
        )
    }

    pub(crate) fn invalid_range() -> Self {
        Self::new(
            400,
            "InvalidRange",
            Some("invalid_range"),
            "invalid range provided",
        )
    }

    pub(crate) fn not_found_route(method: &str, path: &str) -> Self {
        Self {
            http_status: 404,
            ..Self::new(
                404,
                "NotFound",
                Some("Not Found"),
                format!("Route {method}:{path} not found"),
            )
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", Some("Internal"), message)
    }

    /// Maps a database error: RLS and privilege refusals → 403 `AccessDenied`, unique violations →
    /// 409 `KeyAlreadyExists`, anything else → 500.
    pub(crate) fn from_db(error: &tokio_postgres::Error) -> Self {
        match error.as_db_error() {
            Some(db) if db.code().code() == "42501" => Self::access_denied(db.message()),
            Some(db) if db.code().code() == "23505" => Self::key_exists(),
            Some(db) => Self::internal(format!("database error: {}", db.message())),
            None => Self::internal(format!("database error: {error}")),
        }
    }

    pub(crate) fn from_io(context: &str, error: &std::io::Error) -> Self {
        Self::internal(format!("{context}: {error}"))
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "statusCode": self.status.to_string(),
            "code": self.code,
            "error": self.error,
            "message": self.message,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, self.body().to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}
