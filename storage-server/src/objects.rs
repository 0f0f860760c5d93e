//! `/object` routes: upload (raw or multipart, streamed to disk), download (streamed, `Range`),
//! signed URLs, signed upload URLs, list, list-v2, info, copy, move, remove.
//!
//! Reads and writes of `storage.objects` run as the JWT's role ([`db::begin`]), so row-level
//! security decides what a user may do; bucket look-ups and signed-URL downloads run as the
//! superuser, as in Supabase Storage.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde_json::{Map, Value, json};

use crate::buckets::{self, BucketRules, like_escape, ts};
use crate::db::{self, Auth, json_col};
use crate::error::ApiError;
use crate::files::{self, Received, new_version};
use crate::jwt;
use crate::server::{AppState, Target, claims, json_body, ok_json};

/// What an upsert (`x-upsert: true`, or a copy or move onto an existing key) does when the key
/// exists: the row takes the new object's owner, version and metadata.
// language=PostgreSQL
const UPSERT: &str = "ON CONFLICT (bucket_id, name) DO UPDATE SET owner = EXCLUDED.owner, \
     owner_id = EXCLUDED.owner_id, version = EXCLUDED.version, metadata = EXCLUDED.metadata, \
     user_metadata = EXCLUDED.user_metadata, updated_at = now(), last_accessed_at = now()";
/// Signed upload URLs live two hours, as on Supabase.
const UPLOAD_URL_LIFETIME: i64 = 2 * 3600;

/// At most this much of a refused request body is read (and dropped) before answering, so the
/// client reads the answer instead of a reset connection.
const DRAIN_LIMIT: u64 = 256 * 1024 * 1024;

/// The message of a missing path in a many-signed-URLs answer.
const NOT_SIGNABLE: &str = "Either the object does not exist or you do not have access to it";

/// An object row as JSON text (`o` is `storage.objects`).
fn object_json() -> String {
    format!(
        "json_build_object('name', o.name, 'bucket_id', o.bucket_id, 'owner', o.owner, \
         'owner_id', o.owner_id, 'id', o.id, 'version', o.version, 'updated_at', {}, \
         'created_at', {}, 'last_accessed_at', {}, 'metadata', o.metadata, \
         'user_metadata', o.user_metadata)::text",
        ts("o.updated_at"),
        ts("o.created_at"),
        ts("o.last_accessed_at")
    )
}

/// Object keys the server refuses: empty, or with control characters.
fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.chars().any(char::is_control) {
        return Err(ApiError::invalid_key(key));
    }
    Ok(())
}

/// What an upload carried besides its bytes.
struct Upload {
    received: Received,
    mime: String,
    cache_control: String,
    user_metadata: Option<Value>,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads what is left of a body and drops it (at most [`DRAIN_LIMIT`] bytes).
async fn drain(body: Body) {
    let mut body = body;
    let mut read = 0u64;
    while read < DRAIN_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => {
                read += frame.data_ref().map_or(0, |d| d.len() as u64);
            }
            _ => break,
        }
    }
}

/// Streams an upload (raw body or the file part of a multipart form) into a temporary file,
/// enforcing the bucket's size limit and MIME types.
async fn receive(
    state: &AppState,
    request: Request,
    rules: &BucketRules,
) -> Result<Upload, ApiError> {
    let headers = request.headers().clone();
    let content_type = header_str(&headers, "content-type")
        .unwrap_or_default()
        .to_owned();
    let limit = rules.file_size_limit;
    let allowed = rules.allowed_mime_types.clone().unwrap_or_default();
    if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let mut cache_control = None;
        let mut user_metadata = None;
        let mut file = None;
        // A refused file part is still read to the end (and dropped), so the client gets the
        // answer rather than a reset connection.
        let mut refusal = None;
        loop {
            let field = form
                .next_field()
                .await
                .map_err(|e| ApiError::bad_request(e.body_text()))?;
            let Some(mut field) = field else { break };
            let is_file =
                field.file_name().is_some() || field.name().unwrap_or_default().is_empty();
            if is_file && file.is_none() && refusal.is_none() {
                let mime = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let mut incoming = if buckets::mime_allowed(&allowed, &mime) {
                    Some(state.store.receive(limit).await?)
                } else {
                    refusal = Some(ApiError::invalid_mime_type(&mime));
                    None
                };
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| ApiError::bad_request(e.body_text()))?
                {
                    if let Some(writer) = incoming.as_mut()
                        && let Err(e) = writer.push(&chunk).await
                    {
                        refusal = Some(e);
                        incoming = None;
                    }
                }
                if let Some(writer) = incoming {
                    file = Some((writer.finish().await?, mime));
                }
            } else if is_file {
                while let Some(_chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| ApiError::bad_request(e.body_text()))?
                {}
            } else {
                let name = field.name().unwrap_or_default().to_owned();
                let text = field
                    .text()
                    .await
                    .map_err(|e| ApiError::bad_request(e.body_text()))?;
                match name.as_str() {
                    "cacheControl" => cache_control = Some(text),
                    "metadata" => user_metadata = serde_json::from_str(&text).ok(),
                    _ => {}
                }
            }
        }
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        let Some((received, mime)) = file else {
            return Err(ApiError::bad_request("No content provided"));
        };
        let cache_control = match cache_control {
            Some(seconds) if seconds.trim().chars().all(|c| c.is_ascii_digit()) => {
                format!("max-age={}", seconds.trim())
            }
            Some(other) => other,
            None => "no-cache".to_owned(),
        };
        return Ok(Upload {
            received,
            mime,
            cache_control,
            user_metadata,
        });
    }
    let body = request.into_body();
    let mime = if content_type.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        content_type
    };
    let declared: Option<u64> = header_str(&headers, "content-length").and_then(|v| v.parse().ok());
    let refusal = if !buckets::mime_allowed(&allowed, &mime) {
        Some(ApiError::invalid_mime_type(&mime))
    } else if limit.zip(declared).is_some_and(|(limit, len)| len > limit) {
        Some(ApiError::entity_too_large())
    } else {
        None
    };
    if let Some(refusal) = refusal {
        drain(body).await;
        return Err(refusal);
    }
    let user_metadata = header_str(&headers, "x-metadata").and_then(|v| {
        let bytes = base64::engine::general_purpose::STANDARD.decode(v).ok()?;
        serde_json::from_slice(&bytes).ok()
    });
    let cache_control = header_str(&headers, "cache-control")
        .unwrap_or("no-cache")
        .to_owned();
    let mut incoming = state.store.receive(limit).await?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if let Some(data) = frame.data_ref()
            && let Err(e) = incoming.push(data).await
        {
            drain(body).await;
            return Err(e);
        }
    }
    Ok(Upload {
        received: incoming.finish().await?,
        mime,
        cache_control,
        user_metadata,
    })
}

/// Writes an uploaded object's row (as `auth`) and puts its bytes in place; returns its id.
async fn store(
    state: &AppState,
    auth: &Auth,
    owner: Option<String>,
    bucket: &str,
    key: &str,
    upload: Upload,
    upsert: bool,
) -> Result<String, ApiError> {
    let version = new_version();
    let id = new_version();
    let mut conn = state.pool.get().await?;
    // language=PostgreSQL
    let old_sql = "SELECT version FROM storage.objects WHERE bucket_id = $1 AND name = $2";
    let old: Option<String> = conn
        .client()?
        .query_opt(old_sql, &[&bucket, &key])
        .await
        .map_err(|e| ApiError::from_db(&e))?
        .and_then(|row| row.get(0));
    let tx = db::begin(conn.client()?, auth).await?;
    let on_conflict = if upsert { UPSERT } else { "" };
    // language=PostgreSQL
    let sql = format!(
        "INSERT INTO storage.objects (id, bucket_id, name, owner, owner_id, version, metadata, user_metadata) \
         VALUES ($1::text::uuid, $2, $3, $4::text::uuid, $4, $5, \
                 jsonb_build_object('eTag', $6::text, 'size', $7::bigint, 'mimetype', $8::text, \
                   'cacheControl', $9::text, 'lastModified', {}, 'contentLength', $7::bigint, \
                   'httpStatusCode', 200), \
                 $10::text::jsonb) {on_conflict}",
        ts("now()")
    );
    let etag = format!("\"{}\"", upload.received.md5);
    let size = i64::try_from(upload.received.size).unwrap_or(i64::MAX);
    let user_metadata = upload.user_metadata.as_ref().map(Value::to_string);
    tx.execute(
        &sql,
        &[
            &id,
            &bucket,
            &key,
            &owner,
            &version,
            &etag,
            &size,
            &upload.mime,
            &upload.cache_control,
            &user_metadata,
        ],
    )
    .await
    .map_err(|e| ApiError::from_db(&e))?;
    // The id stays the old row's on an upsert.
    // language=PostgreSQL
    let id_sql = "SELECT id::text FROM storage.objects WHERE bucket_id = $1 AND name = $2";
    let id = match tx.query_opt(id_sql, &[&bucket, &key]).await {
        Ok(Some(row)) => row.get(0),
        _ => id,
    };
    state.store.commit(upload.received, &version).await?;
    if let Err(e) = tx.commit().await {
        state.store.remove(&version).await;
        return Err(ApiError::from_db(&e));
    }
    if let Some(old) = old.filter(|old| *old != version) {
        state.store.remove(&old).await;
    }
    Ok(id)
}

/// `POST`/`PUT /object/{bucket}/{key}`.
pub(crate) async fn upload(
    state: &AppState,
    request: Request,
    bucket: &str,
    key: &str,
    put: bool,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    check_key(key)?;
    let upsert = put
        || header_str(request.headers(), "x-upsert")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let rules = buckets::rules(state, bucket).await?;
    let upload = receive(state, request, &rules).await?;
    let owner = auth.owner();
    let id = store(state, &auth, owner, bucket, key, upload, upsert).await?;
    Ok(ok_json(
        json!({ "Id": id, "Key": format!("{bucket}/{key}") }),
    ))
}

/// The row fields a download needs.
struct Found {
    version: String,
    metadata: Value,
    last_modified: String,
}

/// Finds an object as `auth` (RLS decides); `NoSuchKey` when it is missing or hidden.
async fn find(state: &AppState, auth: &Auth, bucket: &str, key: &str) -> Result<Found, ApiError> {
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, auth).await?;
    // language=PostgreSQL
    let sql = "SELECT version, coalesce(metadata, '{}')::text, \
               to_char(coalesce(updated_at, created_at, now()) AT TIME ZONE 'GMT', 'Dy, DD Mon YYYY HH24:MI:SS \"GMT\"') \
               FROM storage.objects WHERE bucket_id = $1 AND name = $2";
    let row = tx
        .query_opt(sql, &[&bucket, &key])
        .await
        .map_err(|e| ApiError::from_db(&e))?
        .ok_or_else(ApiError::no_such_key)?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    let version: Option<String> = row.get(0);
    let metadata = db::json_col(&row, 1)?;
    Ok(Found {
        version: version.ok_or_else(ApiError::no_such_key)?,
        metadata,
        last_modified: row.get(2),
    })
}

/// Streams an object, honouring `Range` and `?download=`.
async fn serve(
    state: &AppState,
    headers: &HeaderMap,
    target: &Target,
    key: &str,
    found: Found,
) -> Result<Response, ApiError> {
    let file = state.store.open_version(&found.version).await?;
    let size = file
        .metadata()
        .await
        .map_err(|e| ApiError::from_io("reading an object", &e))?
        .len();
    let range = files::parse_range(header_str(headers, "range"), size)?;
    let (status, start, len) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        None => (StatusCode::OK, 0, size),
    };
    let body = files::stream(file, start, len).await?;
    let meta = |name: &str| found.metadata.get(name).and_then(Value::as_str);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            h.insert(name, value);
        }
    };
    set(
        header::CONTENT_TYPE,
        meta("mimetype").unwrap_or("application/octet-stream"),
    );
    set(header::CONTENT_LENGTH, &len.to_string());
    set(header::ACCEPT_RANGES, "bytes");
    set(
        header::CACHE_CONTROL,
        meta("cacheControl").unwrap_or("no-cache"),
    );
    if let Some(etag) = meta("eTag") {
        set(header::ETAG, etag);
    }
    set(header::LAST_MODIFIED, &found.last_modified);
    if let Some((start, end)) = range {
        set(
            header::CONTENT_RANGE,
            &format!("bytes {start}-{end}/{size}"),
        );
    }
    if let Some(download) = target.query.get("download") {
        let name = if download.is_empty() {
            key.rsplit('/').next().unwrap_or(key)
        } else {
            download
        };
        let encoded =
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
        set(
            header::CONTENT_DISPOSITION,
            &format!("attachment; filename*=UTF-8''{encoded};"),
        );
    }
    Ok(response)
}

/// `GET /object/{bucket}/{key}` and `/object/authenticated/{bucket}/{key}`.
pub(crate) async fn download(
    state: &AppState,
    request: Request,
    target: &Target,
    bucket: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let found = find(state, &auth, bucket, key).await?;
    serve(state, request.headers(), target, key, found).await
}

/// `GET /object/public/{bucket}/{key}`: no auth, public buckets only.
pub(crate) async fn public_download(
    state: &AppState,
    request: Request,
    target: &Target,
    bucket: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let rules = buckets::rules(state, bucket).await?;
    if !rules.public {
        return Err(ApiError::no_such_bucket());
    }
    let found = find(state, &Auth::superuser(), bucket, key).await?;
    serve(state, request.headers(), target, key, found).await
}

/// `expiresIn` from a body: an integer of at least 1.
fn expires_in(body: &Map<String, Value>) -> Result<i64, ApiError> {
    match body.get("expiresIn") {
        None => Err(ApiError::bad_request(
            "body must have required property 'expiresIn'",
        )),
        Some(v) => match v.as_f64() {
            Some(n) if n.fract() == 0.0 && n >= 1.0 => Ok(n as i64),
            Some(n) if n.fract() == 0.0 => {
                Err(ApiError::bad_request("body/expiresIn must be >= 1"))
            }
            _ => Err(ApiError::bad_request("body/expiresIn must be integer")),
        },
    }
}

fn signed_url(state: &AppState, bucket: &str, key: &str, expires_in: i64) -> String {
    let now = jwt::now();
    let url = format!("{bucket}/{key}");
    let token = jwt::sign(
        &claims(json!({ "url": url, "iat": now, "exp": now.saturating_add(expires_in) })),
        &state.secret,
    );
    format!("/object/sign/{url}?token={token}")
}

/// `POST /object/sign/{bucket}/{key}` → `{"signedURL": "/object/sign/…?token=…"}`.
pub(crate) async fn sign(
    state: &AppState,
    request: Request,
    bucket: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let body = json_body(request).await?;
    let expires_in = expires_in(&body)?;
    find(state, &auth, bucket, key).await?;
    Ok(ok_json(
        json!({ "signedURL": signed_url(state, bucket, key, expires_in) }),
    ))
}

/// `POST /object/sign/{bucket}` with `{"expiresIn", "paths"}`: one entry per path, in order.
pub(crate) async fn sign_many(
    state: &AppState,
    request: Request,
    bucket: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let body = json_body(request).await?;
    let expires_in = expires_in(&body)?;
    let paths: Vec<String> = match body.get("paths") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::bad_request("body/paths must be array of strings"))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::bad_request(
                "body must have required property 'paths'",
            ));
        }
    };
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, &auth).await?;
    // language=PostgreSQL
    let sql = "SELECT name FROM storage.objects WHERE bucket_id = $1 AND name = ANY($2)";
    let rows = tx
        .query(sql, &[&bucket, &paths])
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    let found: std::collections::HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let entries: Vec<Value> = paths
        .iter()
        .map(|path| {
            if found.contains(path) {
                json!({
                    "error": null,
                    "path": path,
                    "signedURL": signed_url(state, bucket, path, expires_in),
                })
            } else {
                json!({ "error": NOT_SIGNABLE, "path": path, "signedURL": null })
            }
        })
        .collect();
    Ok(ok_json(Value::Array(entries)))
}

/// Checks a signed-URL token against the path it is used on.
fn check_token(
    state: &AppState,
    target: &Target,
    bucket: &str,
    key: &str,
) -> Result<Map<String, Value>, ApiError> {
    let token = target
        .query
        .get("token")
        .ok_or_else(|| ApiError::bad_request("querystring must have required property 'token'"))?;
    let claims =
        jwt::verify(token, &state.secret).map_err(|e| ApiError::invalid_jwt(e.to_string()))?;
    if claims.get("url").and_then(Value::as_str) != Some(&format!("{bucket}/{key}")) {
        return Err(ApiError::invalid_signature(
            "The url do not match the signature",
        ));
    }
    Ok(claims)
}

/// `GET /object/sign/{bucket}/{key}?token=…`: no auth; a bad or expired token is `InvalidJWT`.
pub(crate) async fn signed_download(
    state: &AppState,
    request: Request,
    target: &Target,
    bucket: &str,
    key: &str,
) -> Result<Response, ApiError> {
    check_token(state, target, bucket, key)?;
    let found = find(state, &Auth::superuser(), bucket, key).await?;
    serve(state, request.headers(), target, key, found).await
}

/// `POST /object/upload/sign/{bucket}/{key}` → `{"url": "/object/upload/sign/…?token=…", "token"}`.
/// Like Supabase, it checks now that the caller could upload there (RLS insert, no existing
/// object unless `x-upsert: true`).
pub(crate) async fn sign_upload(
    state: &AppState,
    request: Request,
    bucket: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    check_key(key)?;
    let upsert =
        header_str(request.headers(), "x-upsert").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    buckets::rules(state, bucket).await?;
    let mut conn = state.pool.get().await?;
    // language=PostgreSQL
    let exists_sql = "SELECT 1 FROM storage.objects WHERE bucket_id = $1 AND name = $2";
    let exists = conn
        .client()?
        .query_opt(exists_sql, &[&bucket, &key])
        .await
        .map_err(|e| ApiError::from_db(&e))?
        .is_some();
    if exists && !upsert {
        return Err(ApiError::key_exists());
    }
    if !exists {
        // Try the insert as the caller and roll it back: RLS answers now.
        let tx = db::begin(conn.client()?, &auth).await?;
        // language=PostgreSQL
        let probe = "INSERT INTO storage.objects (bucket_id, name, owner, owner_id) \
                     VALUES ($1, $2, $3::text::uuid, $3)";
        tx.execute(probe, &[&bucket, &key, &auth.owner()])
            .await
            .map_err(|e| ApiError::from_db(&e))?;
        tx.rollback().await.map_err(|e| ApiError::from_db(&e))?;
    }
    let now = jwt::now();
    let url = format!("{bucket}/{key}");
    let token = jwt::sign(
        &claims(json!({
            "owner": auth.owner(),
            "url": url,
            "upsert": upsert,
            "iat": now,
            "exp": now + UPLOAD_URL_LIFETIME,
        })),
        &state.secret,
    );
    Ok(ok_json(json!({
        "url": format!("/object/upload/sign/{url}?token={token}"),
        "token": token,
    })))
}

/// `PUT /object/upload/sign/{bucket}/{key}?token=…`: the upload, as the token's owner.
pub(crate) async fn signed_upload(
    state: &AppState,
    request: Request,
    target: &Target,
    bucket: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let claims = match check_token(state, target, bucket, key) {
        Ok(claims) => claims,
        Err(e) => {
            drain(request.into_body()).await;
            return Err(e);
        }
    };
    let owner = claims
        .get("owner")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let upsert = claims
        .get("upsert")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let rules = buckets::rules(state, bucket).await?;
    let upload = receive(state, request, &rules).await?;
    let id = store(
        state,
        &Auth::superuser(),
        owner,
        bucket,
        key,
        upload,
        upsert,
    )
    .await?;
    Ok(ok_json(
        json!({ "Id": id, "Key": format!("{bucket}/{key}") }),
    ))
}

/// `sortBy.column` of a list request, checked against the columns that exist.
fn sort_column(
    body: &Map<String, Value>,
    allowed: &[&'static str],
) -> Result<(&'static str, &'static str), ApiError> {
    let sort = body.get("sortBy").and_then(Value::as_object);
    let column = sort
        .and_then(|s| s.get("column"))
        .and_then(Value::as_str)
        .unwrap_or("name");
    let column = allowed
        .iter()
        .find(|c| **c == column)
        .ok_or_else(|| ApiError::bad_request(format!("invalid sortBy column: {column}")))?;
    let order = match sort
        .and_then(|s| s.get("order"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("asc") => "ASC",
        Some("desc") => "DESC",
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid sortBy order: {other}"
            )));
        }
    };
    Ok((column, order))
}

fn int_field(body: &Map<String, Value>, name: &str, default: i64) -> Result<i64, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_i64()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::bad_request(format!("body/{name} must be integer"))),
    }
}

/// `POST /object/list/{bucket}`: one level under `prefix` (a folder, `/` added when missing),
/// folders first-class with `id: null`, sorted, then `offset`/`limit`.
pub(crate) async fn list(
    state: &AppState,
    request: Request,
    bucket: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let body = json_body(request).await?;
    let mut prefix = body
        .get("prefix")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("body must have required property 'prefix'"))?
        .to_owned();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    let limit = int_field(&body, "limit", 100)?;
    let offset = int_field(&body, "offset", 0)?;
    let search = body
        .get("search")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (column, order) = sort_column(
        &body,
        &["name", "id", "updated_at", "created_at", "last_accessed_at"],
    )?;
    let pattern = format!("{}{}%", like_escape(&prefix), like_escape(search));
    let prefix_len = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
    let sort = if column == "name" {
        format!("e.name COLLATE \"C\" {order}")
    } else {
        format!("e.{column} {order}, e.name COLLATE \"C\"")
    };
    // language=PostgreSQL
    let sql = format!(
        "WITH matched AS ( \
           SELECT o.*, substr(o.name, $2 + 1) AS rest FROM storage.objects o \
           WHERE o.bucket_id = $1 AND o.name ILIKE $3 \
         ), e AS ( \
           SELECT split_part(rest, '/', 1) AS name, NULL::uuid AS id, NULL::timestamptz AS updated_at, \
                  NULL::timestamptz AS created_at, NULL::timestamptz AS last_accessed_at, NULL::jsonb AS metadata \
           FROM matched WHERE strpos(rest, '/') > 0 GROUP BY 1 \
           UNION ALL \
           SELECT rest, id, updated_at, created_at, last_accessed_at, metadata FROM matched \
           WHERE strpos(rest, '/') = 0 \
         ) \
         SELECT json_build_object('name', e.name, 'id', e.id, 'updated_at', {}, 'created_at', {}, \
                'last_accessed_at', {}, 'metadata', e.metadata)::text \
         FROM e ORDER BY {sort} LIMIT $4 OFFSET $5",
        ts("e.updated_at"),
        ts("e.created_at"),
        ts("e.last_accessed_at"),
    );
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, &auth).await?;
    let rows = tx
        .query(&sql, &[&bucket, &prefix_len, &pattern, &limit, &offset])
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    let entries = rows
        .iter()
        .map(|row| json_col(row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ok_json(Value::Array(entries)))
}

/// `POST /object/list-v2/{bucket}`: keys under `prefix` (as given), cursor-paginated; with
/// `with_delimiter` the keys below the next `/` are folded into folders.
pub(crate) async fn list_v2(
    state: &AppState,
    request: Request,
    bucket: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let body = json_body(request).await?;
    let prefix = body
        .get("prefix")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let limit = int_field(&body, "limit", 1000)?.clamp(1, 1000);
    let cursor = body
        .get("cursor")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let delimiter = body
        .get("with_delimiter")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (_, order) = sort_column(&body, &["name"])?;
    let (cmp, dir) = if order == "DESC" {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let prefix_len = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
    let pattern = format!("{}%", like_escape(&prefix));
    // language=PostgreSQL
    let sql = format!(
        "WITH matched AS ( \
           SELECT o.*, substr(o.name, $2 + 1) AS rest FROM storage.objects o \
           WHERE o.bucket_id = $1 AND o.name LIKE $3 \
         ), e AS ( \
           SELECT $4::text || split_part(rest, '/', 1) || '/' AS key, true AS folder, NULL::text AS obj \
           FROM matched WHERE $5 AND strpos(rest, '/') > 0 GROUP BY 1 \
           UNION ALL \
           SELECT o.name, false, {} FROM matched o WHERE NOT $5 OR strpos(o.rest, '/') = 0 \
         ) \
         SELECT key, folder, obj FROM e WHERE $6 = '' OR key COLLATE \"C\" {cmp} $6 COLLATE \"C\" \
         ORDER BY key COLLATE \"C\" {dir} LIMIT $7",
        object_json()
    );
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, &auth).await?;
    let rows = tx
        .query(
            &sql,
            &[
                &bucket,
                &prefix_len,
                &pattern,
                &prefix,
                &delimiter,
                &cursor,
                &(limit + 1),
            ],
        )
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    let has_next = rows.len() as i64 > limit;
    let mut folders = Vec::new();
    let mut objects = Vec::new();
    let mut last = None;
    for row in rows
        .iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        let key: String = row.get(0);
        let folder: bool = row.get(1);
        if folder {
            folders.push(json!({ "name": key, "key": key }));
        } else {
            let mut object = json_col(row, 2)?;
            if let Some(map) = object.as_object_mut() {
                map.insert("key".into(), Value::String(key.clone()));
            }
            objects.push(object);
        }
        last = Some(key);
    }
    let mut result = json!({ "hasNext": has_next, "folders": folders, "objects": objects });
    if has_next && let (Some(last), Some(map)) = (last, result.as_object_mut()) {
        map.insert("nextCursor".into(), Value::String(last));
    }
    Ok(ok_json(result))
}

/// `GET /object/info/{bucket}/{key}`.
pub(crate) async fn info(
    state: &AppState,
    request: Request,
    bucket: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, &auth).await?;
    // language=PostgreSQL
    let sql = format!(
        "SELECT json_build_object('id', o.id, 'name', o.name, 'version', o.version, \
           'bucket_id', o.bucket_id, 'size', (o.metadata->>'size')::bigint, \
           'content_type', o.metadata->>'mimetype', 'cache_control', o.metadata->>'cacheControl', \
           'etag', o.metadata->>'eTag', 'metadata', coalesce(o.user_metadata, '{{}}'::jsonb), \
           'last_modified', {}, 'created_at', {}, 'updated_at', {})::text \
         FROM storage.objects o WHERE o.bucket_id = $1 AND o.name = $2",
        ts("o.updated_at"),
        ts("o.created_at"),
        ts("o.updated_at"),
    );
    let row = tx
        .query_opt(&sql, &[&bucket, &key])
        .await
        .map_err(|e| ApiError::from_db(&e))?
        .ok_or_else(ApiError::no_such_key)?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    Ok(ok_json(json_col(&row, 0)?))
}

/// The `bucketId`, `sourceKey`, `destinationKey` (and `destinationBucket`) of copy and move.
fn transfer_fields(
    body: &Map<String, Value>,
) -> Result<(String, String, String, String), ApiError> {
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::bad_request(format!("body must have required property '{name}'"))
            })
    };
    let bucket = field("bucketId")?;
    let source = field("sourceKey")?;
    let destination = field("destinationKey")?;
    let destination_bucket = body
        .get("destinationBucket")
        .and_then(Value::as_str)
        .map_or_else(|| bucket.clone(), str::to_owned);
    check_key(&source)?;
    check_key(&destination)?;
    Ok((bucket, source, destination, destination_bucket))
}

/// `POST /object/copy`: the source must be readable and the destination insertable by the caller.
pub(crate) async fn copy(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let upsert =
        header_str(request.headers(), "x-upsert").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let body = json_body(request).await?;
    let (bucket, source, destination, dest_bucket) = transfer_fields(&body)?;
    buckets::rules(state, &dest_bucket).await?;
    let copy_metadata = body
        .get("copyMetadata")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let new_meta = body.get("metadata").and_then(Value::as_object).cloned();
    let mut conn = state.pool.get().await?;
    // language=PostgreSQL
    let old_sql = "SELECT version FROM storage.objects WHERE bucket_id = $1 AND name = $2";
    let old: Option<String> = conn
        .client()?
        .query_opt(old_sql, &[&dest_bucket, &destination])
        .await
        .map_err(|e| ApiError::from_db(&e))?
        .and_then(|row| row.get(0));
    let tx = db::begin(conn.client()?, &auth).await?;
    // language=PostgreSQL
    let src_sql = "SELECT version, coalesce(metadata, '{}')::text, user_metadata::text \
                   FROM storage.objects WHERE bucket_id = $1 AND name = $2";
    let row = tx
        .query_opt(src_sql, &[&bucket, &source])
        .await
        .map_err(|e| ApiError::from_db(&e))?
        .ok_or_else(ApiError::no_such_key)?;
    let src_version: Option<String> = row.get(0);
    let src_version = src_version.ok_or_else(ApiError::no_such_key)?;
    let mut metadata = json_col(&row, 1)?;
    let user_metadata: Option<String> = if copy_metadata { row.get(2) } else { None };
    if let (Some(map), Some(new_meta)) = (
        metadata.as_object_mut(),
        new_meta.filter(|_| !copy_metadata),
    ) {
        for (from, to) in [("mimetype", "mimetype"), ("cacheControl", "cacheControl")] {
            if let Some(v) = new_meta.get(from) {
                map.insert(to.into(), v.clone());
            }
        }
    }
    let version = new_version();
    let id = new_version();
    let on_conflict = if upsert { UPSERT } else { "" };
    // language=PostgreSQL
    let sql = format!(
        "INSERT INTO storage.objects (id, bucket_id, name, owner, owner_id, version, metadata, user_metadata) \
         VALUES ($1::text::uuid, $2, $3, $4::text::uuid, $4, $5, \
                 $6::text::jsonb || jsonb_build_object('lastModified', {}), $7::text::jsonb) {on_conflict}",
        ts("now()")
    );
    tx.execute(
        &sql,
        &[
            &id,
            &dest_bucket,
            &destination,
            &auth.owner(),
            &version,
            &metadata.to_string(),
            &user_metadata,
        ],
    )
    .await
    .map_err(|e| ApiError::from_db(&e))?;
    state.store.copy(&src_version, &version).await?;
    if let Err(e) = tx.commit().await {
        state.store.remove(&version).await;
        return Err(ApiError::from_db(&e));
    }
    if let Some(old) = old.filter(|old| *old != version) {
        state.store.remove(&old).await;
    }
    Ok(ok_json(json!({
        "Id": id,
        "Key": format!("{dest_bucket}/{destination}"),
    })))
}

/// `POST /object/move`: an update of the row's bucket and name as the caller (the bytes stay).
pub(crate) async fn move_object(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let body = json_body(request).await?;
    let (bucket, source, destination, dest_bucket) = transfer_fields(&body)?;
    buckets::rules(state, &dest_bucket).await?;
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, &auth).await?;
    // language=PostgreSQL
    let sql = "UPDATE storage.objects SET bucket_id = $3, name = $4, updated_at = now() \
               WHERE bucket_id = $1 AND name = $2";
    let n = tx
        .execute(sql, &[&bucket, &source, &dest_bucket, &destination])
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    if n == 0 {
        return Err(ApiError::no_such_key());
    }
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    Ok(ok_json(json!({ "message": "Successfully moved" })))
}

/// Deletes objects by name as `auth`; returns the deleted rows (JSON) and their versions.
async fn delete_rows(
    state: &AppState,
    auth: &Auth,
    bucket: &str,
    names: &[String],
) -> Result<(Vec<Value>, Vec<String>), ApiError> {
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, auth).await?;
    // language=PostgreSQL
    let sql = format!(
        "DELETE FROM storage.objects o WHERE o.bucket_id = $1 AND o.name = ANY($2) \
         RETURNING {}, o.version",
        object_json()
    );
    let rows = tx
        .query(&sql, &[&bucket, &names])
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    let mut deleted = Vec::with_capacity(rows.len());
    let mut versions = Vec::with_capacity(rows.len());
    for row in &rows {
        deleted.push(json_col(row, 0)?);
        if let Some(version) = row.get::<_, Option<String>>(1) {
            versions.push(version);
        }
    }
    Ok((deleted, versions))
}

/// `DELETE /object/{bucket}/{key}`.
pub(crate) async fn remove(
    state: &AppState,
    request: Request,
    bucket: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let (deleted, versions) = delete_rows(state, &auth, bucket, &[key.to_owned()]).await?;
    if deleted.is_empty() {
        return Err(ApiError::no_such_key());
    }
    for version in versions {
        state.store.remove(&version).await;
    }
    Ok(ok_json(json!({ "message": "Successfully deleted" })))
}

/// `DELETE /object/{bucket}` with `{"prefixes": [...]}` → the deleted objects.
pub(crate) async fn remove_many(
    state: &AppState,
    request: Request,
    bucket: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let body = json_body(request).await?;
    let names: Vec<String> = match body.get("prefixes") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Object(o) => o
                    .get("path")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::bad_request("body/prefixes must be array of strings")),
                _ => Err(ApiError::bad_request(
                    "body/prefixes must be array of strings",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::bad_request(
                "body must have required property 'prefixes'",
            ));
        }
    };
    if names.is_empty() {
        return Err(ApiError::bad_request(
            "body/prefixes must NOT have fewer than 1 items",
        ));
    }
    let (deleted, versions) = delete_rows(state, &auth, bucket, &names).await?;
    for version in versions {
        state.store.remove(&version).await;
    }
    Ok(ok_json(Value::Array(deleted)))
}
