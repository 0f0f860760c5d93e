//! Supabase Storage buckets: rows of `storage.buckets` that the declared schema governs.

use serde::{Deserialize, Serialize};

/// A bucket (`INSERT INTO storage.buckets …`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// `id` (also the name in the Storage API's URLs).
    pub id: String,
    /// `name` (Supabase keeps it equal to `id`).
    pub name: String,
    /// `public`: objects readable without a token.
    pub public: bool,
    /// `file_size_limit` in bytes; `None` = the server's global limit.
    pub file_size_limit: Option<i64>,
    /// `allowed_mime_types` (`image/*` wildcards allowed); `None` = any type.
    pub allowed_mime_types: Option<Vec<String>>,
}
