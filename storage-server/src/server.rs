//! The server: start/stop, keys, fault injection, and the request dispatch.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::db::{Auth, Pool};
use crate::error::{ApiError, Error};
use crate::files::Store;
use crate::jwt;
use crate::{buckets, objects};

/// Where the routes are served, as on hosted Supabase.
pub(crate) const PREFIX: &str = "/storage/v1";

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The test database (with the Supabase bootstrap applied): `postgres://user@host:port/db`.
    /// The user must be a superuser (or a member of `anon`, `authenticated` and `service_role`).
    pub database_url: String,
    /// The project's JWT secret: API keys, user JWTs and signed-URL tokens are HS256 with it.
    pub jwt_secret: String,
    /// Where object bytes are kept (created when missing).
    pub data_dir: std::path::PathBuf,
}

/// Injected failures and delays, and the request counter.
#[derive(Debug, Default)]
struct Faults {
    /// (requests left to fail, their status).
    fail: Mutex<(usize, u16)>,
    /// (requests left to delay, the delay).
    delay: Mutex<(usize, Duration)>,
    requests: AtomicU64,
}

/// What every request handler sees.
pub(crate) struct AppState {
    pub(crate) pool: Pool,
    pub(crate) secret: String,
    pub(crate) store: Store,
    faults: Faults,
}

/// A running test Storage server (see the crate docs).
pub struct StorageServer {
    state: Arc<AppState>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for StorageServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageServer")
            .field("url", &self.supabase_url())
            .finish()
    }
}

/// Ten years: the lifetime of the API keys this server hands out.
const KEY_LIFETIME: i64 = 10 * 365 * 24 * 3600;

impl StorageServer {
    /// Binds 127.0.0.1 on a free port and serves in a background task of the current runtime.
    pub async fn start(config: Config) -> Result<StorageServer, Error> {
        if config.jwt_secret.is_empty() {
            return Err(Error::Config("jwt_secret is empty".into()));
        }
        let pool = Pool::new(&config.database_url)?;
        // Fail now, not on the first request, when the database is unreachable.
        drop(pool.connect().await?);
        let store = Store::open(&config.data_dir)?;
        let state = Arc::new(AppState {
            pool,
            secret: config.jwt_secret,
            store,
            faults: Faults::default(),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::io("binding 127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the bound address", e))?;
        let app = Router::new()
            .fallback(entry)
            .layer(DefaultBodyLimit::disable())
            .with_state(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(StorageServer {
            state,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, like a project's `SUPABASE_URL`.
    pub fn supabase_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The storage root, `supabase_url() + "/storage/v1"` (what storage-js's `StorageClient` takes).
    pub fn storage_url(&self) -> String {
        format!("{}{PREFIX}", self.supabase_url())
    }

    fn key(&self, role: &str) -> String {
        let now = jwt::now();
        let claims = claims(json!({
            "iss": "supabase-test",
            "role": role,
            "iat": now,
            "exp": now + KEY_LIFETIME,
        }));
        jwt::sign(&claims, &self.state.secret)
    }

    /// The service-role key: an HS256 JWT with `role: service_role` (bypasses row-level security).
    pub fn service_role_key(&self) -> String {
        self.key("service_role")
    }

    /// The anon key: `role: anon`.
    pub fn anon_key(&self) -> String {
        self.key("anon")
    }

    /// A signed-in user's access token: `role: authenticated`, `sub: user_id`, expiring after
    /// `expires_in`.
    pub fn user_jwt(&self, user_id: uuid::Uuid, expires_in: Duration) -> String {
        let now = jwt::now();
        let lifetime = i64::try_from(expires_in.as_secs()).unwrap_or(KEY_LIFETIME);
        let claims = claims(json!({
            "iss": "supabase-test",
            "aud": "authenticated",
            "sub": user_id.to_string(),
            "role": "authenticated",
            "iat": now,
            "exp": now.saturating_add(lifetime),
        }));
        jwt::sign(&claims, &self.state.secret)
    }

    /// The next `n` requests answer HTTP `status` with Supabase's error JSON (retry tests). The
    /// request body is read and dropped first, so a client sees the answer, not a reset.
    pub fn fail_next(&self, n: usize, status: u16) {
        if let Ok(mut fail) = self.state.faults.fail.lock() {
            *fail = (n, status);
        }
    }

    /// The next `n` requests wait `delay` before they are handled (client timeout tests).
    pub fn delay_next(&self, n: usize, delay: Duration) {
        if let Ok(mut slot) = self.state.faults.delay.lock() {
            *slot = (n, delay);
        }
    }

    /// Requests received so far (injected failures included).
    pub fn requests(&self) -> u64 {
        self.state.faults.requests.load(Ordering::SeqCst)
    }

    /// Stops accepting connections and waits for open requests to end.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for StorageServer {
    fn drop(&mut self) {
        self.stop_now();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub(crate) fn claims(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Takes one unit from a `(count, value)` slot.
fn take<T: Copy>(slot: &Mutex<(usize, T)>) -> Option<T> {
    let mut slot = slot.lock().ok()?;
    if slot.0 == 0 {
        return None;
    }
    slot.0 -= 1;
    Some(slot.1)
}

/// Every request: count, delay, fail, or dispatch.
async fn entry(State(state): State<Arc<AppState>>, request: Request) -> Response {
    state.faults.requests.fetch_add(1, Ordering::SeqCst);
    if let Some(delay) = take(&state.faults.delay) {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = take(&state.faults.fail) {
        let mut body = request.into_body();
        while let Some(Ok(_)) = body.frame().await {}
        return ApiError::injected(status).into_response();
    }
    match dispatch(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// A parsed request target.
pub(crate) struct Target {
    /// Percent-decoded path segments after `/storage/v1`.
    pub segments: Vec<String>,
    /// Query parameters.
    pub query: HashMap<String, String>,
}

impl Target {
    fn parse(request: &Request) -> Result<Option<Self>, ApiError> {
        let Some(rest) = request.uri().path().strip_prefix(PREFIX) else {
            return Ok(None);
        };
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let segments = rest
            .split('/')
            .map(|s| {
                percent_decode_str(s)
                    .decode_utf8()
                    .map(|s| s.into_owned())
                    .map_err(|_| ApiError::bad_request("the path is not valid UTF-8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let query = form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        Ok(Some(Self { segments, query }))
    }
}

async fn dispatch(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let Some(target) = Target::parse(&request)? else {
        return Err(ApiError::not_found_route(method.as_str(), &path));
    };
    let segs: Vec<&str> = target.segments.iter().map(String::as_str).collect();
    let key = |from: usize| segs[from.min(segs.len())..].join("/");
    let m = &method;
    let (get, post, put, delete) = (
        m == Method::GET || m == Method::HEAD,
        m == Method::POST,
        m == Method::PUT,
        m == Method::DELETE,
    );
    match segs.as_slice() {
        ["bucket"] | ["bucket", ""] if get => buckets::list(state, request, &target).await,
        ["bucket"] | ["bucket", ""] if post => buckets::create(state, request).await,
        ["bucket", id] if get => buckets::get(state, request, id).await,
        ["bucket", id] if put => buckets::update(state, request, id).await,
        ["bucket", id] if delete => buckets::delete(state, request, id).await,
        ["bucket", id, "empty"] if post => buckets::empty(state, request, id).await,

        ["object", "sign", bucket] if post => objects::sign_many(state, request, bucket).await,
        ["object", "sign", bucket, _, ..] if post => {
            objects::sign(state, request, bucket, &key(3)).await
        }
        ["object", "sign", bucket, _, ..] if get => {
            objects::signed_download(state, request, &target, bucket, &key(3)).await
        }
        ["object", "upload", "sign", bucket, _, ..] if post => {
            objects::sign_upload(state, request, bucket, &key(4)).await
        }
        ["object", "upload", "sign", bucket, _, ..] if put => {
            objects::signed_upload(state, request, &target, bucket, &key(4)).await
        }
        ["object", "list", bucket] if post => objects::list(state, request, bucket).await,
        ["object", "list-v2", bucket] if post => objects::list_v2(state, request, bucket).await,
        ["object", "info", "authenticated" | "public", bucket, _, ..] if get => {
            objects::info(state, request, bucket, &key(4)).await
        }
        ["object", "info", bucket, _, ..] if get => {
            objects::info(state, request, bucket, &key(3)).await
        }
        ["object", "copy"] if post => objects::copy(state, request).await,
        ["object", "move"] if post => objects::move_object(state, request).await,
        ["object", "public", bucket, _, ..] if get => {
            objects::public_download(state, request, &target, bucket, &key(3)).await
        }
        ["object", "authenticated", bucket, _, ..] if get => {
            objects::download(state, request, &target, bucket, &key(3)).await
        }
        ["object", bucket] if delete => objects::remove_many(state, request, bucket).await,
        ["object", bucket, _, ..] if post || put => {
            objects::upload(state, request, bucket, &key(2), put).await
        }
        ["object", bucket, _, ..] if get => {
            objects::download(state, request, &target, bucket, &key(2)).await
        }
        ["object", bucket, _, ..] if delete => {
            objects::remove(state, request, bucket, &key(2)).await
        }
        _ => Err(ApiError::not_found_route(method.as_str(), &path)),
    }
}

impl AppState {
    /// The request's identity from `Authorization: Bearer <JWT>`.
    pub(crate) fn auth(&self, headers: &HeaderMap) -> Result<Auth, ApiError> {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(ApiError::missing_authorization());
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::access_denied("invalid authorization header"))?;
        let token = match value.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => value[7..].trim_start(),
            _ => value,
        };
        let claims =
            jwt::verify(token, &self.secret).map_err(|e| ApiError::access_denied(e.to_string()))?;
        let role = claims
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("anon")
            .to_owned();
        Ok(Auth { role, claims })
    }
}

/// Reads a small JSON request body (at most 1 MiB); an empty body is `{}`.
pub(crate) async fn json_body(request: Request) -> Result<Map<String, Value>, ApiError> {
    let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .map_err(|_| ApiError::bad_request("body is too large or unreadable"))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("body must be object")),
        Err(e) => Err(ApiError::bad_request(format!("body is not JSON: {e}"))),
    }
}

/// A JSON answer with status 200.
pub(crate) fn ok_json(value: Value) -> Response {
    let mut response = (axum::http::StatusCode::OK, value.to_string()).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
