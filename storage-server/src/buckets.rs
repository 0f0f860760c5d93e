//! `/bucket` routes: create, list, get, update, empty, delete. They run as the JWT's role, so
//! row-level security on `storage.buckets` applies (the bootstrap enables it with no policy: only
//! the service role manages buckets, as on Supabase by default).

use axum::extract::Request;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::db::{self, Auth, json_col};
use crate::error::ApiError;
use crate::server::{AppState, Target, json_body, ok_json};

/// Timestamps as JavaScript's `Date.toJSON()` prints them (what the real server sends).
pub(crate) fn ts(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
}

/// A bucket row as JSON text.
fn bucket_json() -> String {
    format!(
        "json_build_object('id', b.id, 'name', b.name, 'owner', coalesce(b.owner_id, b.owner::text, ''), \
         'public', coalesce(b.public, false), 'type', 'STANDARD', 'file_size_limit', b.file_size_limit, \
         'allowed_mime_types', b.allowed_mime_types, 'created_at', {}, 'updated_at', {})::text",
        ts("b.created_at"),
        ts("b.updated_at")
    )
}

/// A bucket's upload rules, read as the superuser (as the real server does before an upload).
#[derive(Debug, Clone)]
pub(crate) struct BucketRules {
    pub public: bool,
    pub file_size_limit: Option<u64>,
    pub allowed_mime_types: Option<Vec<String>>,
}

/// Looks a bucket up as the superuser; `NoSuchBucket` when there is none.
pub(crate) async fn rules(state: &AppState, id: &str) -> Result<BucketRules, ApiError> {
    let mut conn = state.pool.get().await?;
    // language=PostgreSQL
    let sql = "SELECT coalesce(public, false), file_size_limit, allowed_mime_types \
               FROM storage.buckets WHERE id = $1";
    let row = conn
        .client()?
        .query_opt(sql, &[&id])
        .await
        .map_err(|e| ApiError::from_db(&e))?
        .ok_or_else(ApiError::no_such_bucket)?;
    let limit: Option<i64> = row.get(1);
    Ok(BucketRules {
        public: row.get(0),
        file_size_limit: limit.and_then(|l| u64::try_from(l).ok()),
        allowed_mime_types: row.get(2),
    })
}

/// `image/*`, `text/plain`, `*/*` against a content type (its parameters ignored).
pub(crate) fn mime_allowed(allowed: &[String], mime: &str) -> bool {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    allowed.is_empty()
        || allowed.iter().any(|a| {
            let a = a.trim().to_ascii_lowercase();
            a == mime
                || a == "*/*"
                || a.strip_suffix('*')
                    .is_some_and(|prefix| prefix.ends_with('/') && mime.starts_with(prefix))
        })
}

/// `20MB`, `1GB`, `300KB`, `12B` or a plain number of bytes.
fn parse_size(value: &Value) -> Result<Option<i64>, ApiError> {
    let invalid =
        || ApiError::bad_request("Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B");
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_i64().filter(|n| *n >= 0).map(Some).ok_or_else(invalid),
        Value::String(s) => {
            let s = s.trim().to_ascii_uppercase();
            let split = s
                .find(|c: char| !c.is_ascii_digit() && c != '.')
                .unwrap_or(s.len());
            let (number, unit) = s.split_at(split);
            let number: f64 = number.parse().map_err(|_| invalid())?;
            let factor: f64 = match unit.trim() {
                "" | "B" => 1.0,
                "KB" => 1024.0,
                "MB" => 1024.0 * 1024.0,
                "GB" => 1024.0 * 1024.0 * 1024.0,
                _ => return Err(invalid()),
            };
            Ok(Some((number * factor) as i64))
        }
        _ => Err(invalid()),
    }
}

fn mime_list(value: Option<&Value>) -> Result<Option<Vec<String>>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::bad_request("body/allowed_mime_types must be array of strings")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_request(
            "body/allowed_mime_types must be array",
        )),
    }
}

/// Bucket names as storage-js and the server accept them.
fn valid_bucket_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.trim() == name
        && !name.contains(['/', '\\'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_!.*'() &$@=;:+,?-".contains(c))
}

pub(crate) async fn create(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let body = json_body(request).await?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("body must have required property 'name'"))?
        .to_owned();
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(&name)
        .to_owned();
    if !valid_bucket_name(&id) || !valid_bucket_name(&name) {
        return Err(ApiError::invalid_bucket_name());
    }
    let public = body.get("public").and_then(Value::as_bool).unwrap_or(false);
    let limit = parse_size(body.get("file_size_limit").unwrap_or(&Value::Null))?;
    let mimes = mime_list(body.get("allowed_mime_types"))?;
    let owner = auth.owner();
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, &auth).await?;
    // language=PostgreSQL
    let sql = "INSERT INTO storage.buckets (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types) \
               VALUES ($1, $2, $3::text::uuid, $3, $4, $5, $6)";
    tx.execute(sql, &[&id, &name, &owner, &public, &limit, &mimes])
        .await
        .map_err(|e| match ApiError::from_db(&e) {
            err if err.code == "KeyAlreadyExists" => ApiError::bucket_exists(),
            err => err,
        })?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    Ok(ok_json(json!({ "name": id })))
}

pub(crate) async fn list(
    state: &AppState,
    request: Request,
    target: &Target,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let q = &target.query;
    let number = |name: &str| -> Result<Option<i64>, ApiError> {
        q.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("querystring/{name} must be integer"))
                })
            })
            .transpose()
    };
    let limit = number("limit")?;
    let offset = number("offset")?.unwrap_or(0);
    let column = match q.get("sortColumn").map(String::as_str) {
        None => "b.name",
        Some("id") => "b.id",
        Some("name") => "b.name",
        Some("created_at") => "b.created_at",
        Some("updated_at") => "b.updated_at",
        Some(_) => {
            return Err(ApiError::bad_request(
                "querystring/sortColumn must be equal to one of the allowed values",
            ));
        }
    };
    let order = match q.get("sortOrder").map(String::as_str) {
        None | Some("asc") => "ASC",
        Some("desc") => "DESC",
        Some(_) => {
            return Err(ApiError::bad_request(
                "querystring/sortOrder must be equal to one of the allowed values",
            ));
        }
    };
    let search = q.get("search").cloned().unwrap_or_default();
    let pattern = format!("%{}%", like_escape(&search));
    // language=PostgreSQL
    let sql = format!(
        "SELECT {} FROM storage.buckets b WHERE b.name ILIKE $1 \
         ORDER BY {column} {order}, b.id LIMIT $2 OFFSET $3",
        bucket_json()
    );
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, &auth).await?;
    let rows = tx
        .query(&sql, &[&pattern, &limit, &offset])
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    let buckets = rows
        .iter()
        .map(|row| json_col(row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ok_json(Value::Array(buckets)))
}

/// `text` with LIKE's wildcards and escape character escaped.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(crate) async fn get(
    state: &AppState,
    request: Request,
    id: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, &auth).await?;
    // language=PostgreSQL
    let sql = format!(
        "SELECT {} FROM storage.buckets b WHERE b.id = $1",
        bucket_json()
    );
    let row = tx
        .query_opt(&sql, &[&id])
        .await
        .map_err(|e| ApiError::from_db(&e))?
        .ok_or_else(ApiError::no_such_bucket)?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    Ok(ok_json(json_col(&row, 0)?))
}

pub(crate) async fn update(
    state: &AppState,
    request: Request,
    id: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let body: Map<String, Value> = json_body(request).await?;
    let public = body.get("public").and_then(Value::as_bool);
    let set_limit = body.contains_key("file_size_limit");
    let limit = parse_size(body.get("file_size_limit").unwrap_or(&Value::Null))?;
    let set_mimes = body.contains_key("allowed_mime_types");
    let mimes = mime_list(body.get("allowed_mime_types"))?;
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, &auth).await?;
    // language=PostgreSQL
    let sql = "UPDATE storage.buckets SET public = coalesce($2, public), \
               file_size_limit = CASE WHEN $3 THEN $4 ELSE file_size_limit END, \
               allowed_mime_types = CASE WHEN $5 THEN $6 ELSE allowed_mime_types END, \
               updated_at = now() WHERE id = $1";
    let n = tx
        .execute(sql, &[&id, &public, &set_limit, &limit, &set_mimes, &mimes])
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    if n == 0 {
        return Err(ApiError::no_such_bucket());
    }
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    Ok(ok_json(json!({ "message": "Successfully updated" })))
}

pub(crate) async fn empty(
    state: &AppState,
    request: Request,
    id: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    rules(state, id).await?;
    let versions = delete_objects(state, &auth, id, None).await?;
    for version in versions {
        state.store.remove(&version).await;
    }
    Ok(ok_json(json!({ "message": "Successfully emptied" })))
}

/// Deletes a bucket's objects (all, or those named) as `auth`; returns the deleted rows' versions.
async fn delete_objects(
    state: &AppState,
    auth: &Auth,
    bucket: &str,
    names: Option<&[String]>,
) -> Result<Vec<String>, ApiError> {
    let mut conn = state.pool.get().await?;
    let tx = db::begin(conn.client()?, auth).await?;
    // language=PostgreSQL
    let sql = "DELETE FROM storage.objects WHERE bucket_id = $1 AND ($2::text[] IS NULL OR name = ANY($2)) \
               RETURNING version";
    let names: Option<Vec<String>> = names.map(<[String]>::to_vec);
    let rows = tx
        .query(sql, &[&bucket, &names])
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    Ok(rows
        .iter()
        .filter_map(|r| r.get::<_, Option<String>>(0))
        .collect())
}

pub(crate) async fn delete(
    state: &AppState,
    request: Request,
    id: &str,
) -> Result<Response, ApiError> {
    let auth = state.auth(request.headers())?;
    let mut conn = state.pool.get().await?;
    // language=PostgreSQL
    let any = "SELECT EXISTS (SELECT 1 FROM storage.objects WHERE bucket_id = $1)";
    let not_empty: bool = conn
        .client()?
        .query_one(any, &[&id])
        .await
        .map_err(|e| ApiError::from_db(&e))?
        .get(0);
    let tx = db::begin(conn.client()?, &auth).await?;
    // language=PostgreSQL
    let exists = tx
        .query_opt("SELECT 1 FROM storage.buckets WHERE id = $1", &[&id])
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    if exists.is_none() {
        return Err(ApiError::no_such_bucket());
    }
    if not_empty {
        return Err(ApiError::bucket_not_empty());
    }
    // language=PostgreSQL
    let n = tx
        .execute("DELETE FROM storage.buckets WHERE id = $1", &[&id])
        .await
        .map_err(|e| ApiError::from_db(&e))?;
    if n == 0 {
        return Err(ApiError::access_denied("Access denied"));
    }
    tx.commit().await.map_err(|e| ApiError::from_db(&e))?;
    Ok(ok_json(json!({ "message": "Successfully deleted" })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_wildcards() {
        let allowed = vec!["image/*".to_owned(), "text/plain".to_owned()];
        assert!(mime_allowed(&allowed, "image/png"));
        assert!(mime_allowed(&allowed, "text/plain;charset=UTF-8"));
        assert!(!mime_allowed(&allowed, "application/pdf"));
        assert!(!mime_allowed(&allowed, "imagex/png"));
        assert!(mime_allowed(&[], "anything/else"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(&json!("1MB")).unwrap(), Some(1 << 20));
        assert_eq!(parse_size(&json!(10)).unwrap(), Some(10));
        assert_eq!(parse_size(&json!(null)).unwrap(), None);
        assert!(parse_size(&json!("ten")).is_err());
    }
}
