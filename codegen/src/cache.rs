//! A cache of derived models on the local disk, keyed by a hash of everything they derive from
//! (so a stale entry is never found: any change of an input is another key).
//!
//! Used for the state the migrations produce (`migrate::state`, replayed on a scratch database)
//! and for the declared schema in canonical form (`verify`, parsed, validated and the lock
//! applied). Entries are JSON files named by their key in [`dir`]; they are written atomically
//! (a temporary file renamed), and an entry that cannot be read or does not parse counts as
//! absent. The cache is an optimisation only: failing to write it is not an error.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Where entries are kept: `$CODEGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/jobpilot-codegen`, else
/// `~/.cache/jobpilot-codegen`, else the temporary directory.
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CODEGEN_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("jobpilot-codegen");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("jobpilot-codegen");
    }
    std::env::temp_dir().join("jobpilot-codegen")
}

/// How many entries of one kind are kept: writing one removes the oldest beyond this, so the
/// cache does not grow without end (an entry of a big schema is megabytes).
pub const KEEP: usize = 16;

/// The key of an entry: its kind (`format`, which also versions the entry's shape) and a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    format: &'static str,
    hash: String,
}

impl Key {
    /// The hash (64 lower-case hex digits), for keys of things that are not files here (the
    /// proof's template databases).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The entry's file name: `<format>-<hash>.json`.
    fn file_name(&self) -> String {
        format!("{}-{}.json", self.format, self.hash)
    }
}

/// A key: `format` and the SHA-256 (hex) of the toolkit's version and every part, each part
/// delimited so that moving bytes from one part to the next changes the key.
pub fn key<'a>(format: &'static str, parts: impl IntoIterator<Item = &'a [u8]>) -> Key {
    let mut h = Sha256::new();
    let mut add = |part: &[u8]| {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    };
    add(format.as_bytes());
    add(env!("CARGO_PKG_VERSION").as_bytes());
    for part in parts {
        add(part);
    }
    let hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Key { format, hash }
}

/// The entry of `key`, when there is a readable one.
pub fn read<T: DeserializeOwned>(key: &Key) -> Option<T> {
    let text = std::fs::read(dir().join(key.file_name())).ok()?;
    let entry: Entry<T> = serde_json::from_slice(&text).ok()?;
    (entry.key == key.hash).then_some(entry.value)
}

/// Stores `value` as the entry of `key` (best effort), then removes the oldest entries of the
/// same kind beyond [`KEEP`].
pub fn write<T: Serialize>(key: &Key, value: &T) {
    let entry = Entry {
        key: key.hash.clone(),
        value,
    };
    let dir = dir();
    let Ok(text) = serde_json::to_vec(&entry) else {
        return;
    };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let path = dir.join(key.file_name());
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    evict(&dir, key.format);
}

/// Removes the oldest entries of kind `format` in `dir` beyond [`KEEP`] (by modification time).
fn evict(dir: &std::path::Path, format: &str) {
    let prefix = format!("{format}-");
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = read
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".json")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if entries.len() <= KEEP {
        return;
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, path) in entries.into_iter().skip(KEEP) {
        let _ = std::fs::remove_file(path);
    }
}

/// An entry on disk: its key again (a file renamed by hand is not taken for another entry).
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry<T> {
    key: String,
    value: T,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_key_depends_on_every_part_and_on_where_parts_end() {
        let k = |parts: &[&[u8]]| key("test-v1", parts.iter().copied());
        assert_eq!(k(&[b"ab", b"c"]), k(&[b"ab", b"c"]));
        assert_ne!(k(&[b"ab", b"c"]), k(&[b"a", b"bc"]));
        assert_ne!(k(&[b"ab", b"c"]), k(&[b"ab", b"d"]));
        assert_ne!(key("test-v1", [&b"x"[..]]), key("test-v2", [&b"x"[..]]));
    }

    #[test]
    fn eviction_keeps_the_newest_entries_of_one_kind_only() {
        let dir = std::env::temp_dir().join(format!("jp_cache_evict_{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for i in 0..KEEP + 3 {
            let path = dir.join(format!("kind-a-{i:04}.json"));
            std::fs::write(&path, "{}").unwrap();
            // The first three are the oldest.
            let when = if i < 3 {
                old
            } else {
                std::time::SystemTime::now()
            };
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
        std::fs::write(dir.join("other-0000.json"), "{}").unwrap();
        evict(&dir, "kind-a");
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), KEEP + 1, "{left:?}");
        for i in 0..3 {
            assert!(!left.contains(&format!("kind-a-{i:04}.json")), "{left:?}");
        }
        assert!(left.contains(&"other-0000.json".to_owned()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
