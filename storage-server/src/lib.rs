//! A **test server** that follows Supabase Storage's HTTP API — the behaviour of Supabase Storage
//! 1.11.2 as observed with `@supabase/storage-js` 2.119.1, written down in
//! `shared/docs/storage-api.md` — for the tests of JobPilot's Rust Storage client. It is not a
//! production server: no TUS, no image transformations, no S3 protocol, no multi-tenancy.
//!
//! Object rows live in the test database's `storage.objects` (read and written as the JWT's role,
//! so row-level security decides as on Supabase); object bytes live in files under a data
//! directory, streamed in and out. Routes are served under `/storage/v1` as on hosted Supabase.
//!
//! ```no_run
//! # async fn demo() -> Result<(), jobpilot_storage_server::Error> {
//! let storage = jobpilot_storage_server::start_with_temp_db(
//!     "INSERT INTO storage.buckets (id, name) VALUES ('documents', 'documents')",
//! )
//! .await?;
//! let url = storage.server.storage_url(); // http://127.0.0.1:PORT/storage/v1
//! let key = storage.server.service_role_key();
//! # Ok(()) }
//! ```
//!
//! Its fidelity is proven by driving it with Supabase's own JavaScript client
//! (`tests/storage_js.rs`, the scripts in `js/`).

mod buckets;
mod db;
mod error;
mod files;
mod jwt;
mod node;
mod objects;
mod server;
mod testing;

pub use error::{ApiError, Error};
pub use node::{ensure_node_modules, js_dir, run_node_script, skip_js};
pub use server::{Config, StorageServer};
pub use testing::{TestStorage, start_with_temp_db};
