//! A cache of derived models on the local disk, keyed by a hash of everything they derive from
//! (so a stale entry is never found: any change of an input is another key).
//!
//! Used for the state the migrations produce (`migrate::state`, replayed on a scratch database)
//! and for the declared schema in canonical form (`verify`, parsed, validated and the lock
//! applied). Entries are files in postcard's compact binary form of the serde model (reading
//! one is several times faster than the same entry as JSON), named by their key in [`dir`];
//! they are written atomically (a temporary file renamed), and an entry that cannot be read or
//! does not parse counts as absent. The cache is an optimisation only: failing to write it is not an error.

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

/// The extension of entry files.
const EXTENSION: &str = "bin";

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

    /// The entry's file name: `<format>-<hash>.bin`.
    fn file_name(&self) -> String {
        format!("{}-{}.{EXTENSION}", self.format, self.hash)
    }
}

/// A key: `format` and the SHA-256 (hex) of the toolkit's version, the fingerprint of its
/// model's source (so an entry is never read by a build whose model has another shape) and every
/// part, each part delimited so that moving bytes from one part to the next changes the key.
pub fn key<'a>(format: &'static str, parts: impl IntoIterator<Item = &'a [u8]>) -> Key {
    let mut h = Sha256::new();
    let mut add = |part: &[u8]| {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    };
    add(format.as_bytes());
    add(env!("CARGO_PKG_VERSION").as_bytes());
    // The shape of the model the entry holds and the introspection that fills most entries
    // (build.rs): the binary form has no field names.
    add(env!("CODEGEN_MODEL_FINGERPRINT").as_bytes());
    for part in parts {
        add(part);
    }
    let hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Key { format, hash }
}

/// The entry of `key`, when there is a readable one.
pub fn read<T: DeserializeOwned>(key: &Key) -> Option<T> {
    read_in(&dir(), key)
}

/// [`read`] from `dir`.
pub fn read_in<T: DeserializeOwned>(dir: &std::path::Path, key: &Key) -> Option<T> {
    let text = std::fs::read(dir.join(key.file_name())).ok()?;
    let entry: Entry<T> = postcard::from_bytes(&text).ok()?;
    (entry.key == key.hash).then_some(entry.value)
}

/// Stores `value` as the entry of `key` (best effort), then removes the oldest entries of the
/// same kind beyond [`KEEP`].
pub fn write<T: Serialize>(key: &Key, value: &T) {
    write_in(&dir(), key, value);
}

/// [`write`] into `dir`.
pub fn write_in<T: Serialize>(dir: &std::path::Path, key: &Key, value: &T) {
    let entry = Entry {
        key: key.hash.clone(),
        value,
    };
    let Ok(text) = postcard::to_stdvec(&entry) else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let path = dir.join(key.file_name());
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    evict(dir, key.format);
}

/// Removes the oldest entries of kind `format` in `dir` beyond [`KEEP`] (by modification time).
fn evict(dir: &std::path::Path, format: &str) {
    let prefix = format!("{format}-");
    let suffix = format!(".{EXTENSION}");
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = read
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(&suffix)
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

    /// The shipped schema, with an enum label renamed (a field the JSON form once left out
    /// when empty: the binary form must write every field), comes back equal; a truncated
    /// entry and an entry of another key read as absent.
    #[test]
    fn a_schema_comes_back_equal_and_a_damaged_entry_is_absent() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let paths = crate::project::Paths::at(root);
        let loaded = crate::project::load_schema(&paths).unwrap();
        let lock = crate::project::read_lock(&paths).unwrap();
        let mut schema = crate::project::canonical_schema(&loaded, &lock).unwrap();
        let renamed = schema.enums.values_mut().next().unwrap();
        renamed.renamed_labels = vec![("new".into(), "old".into())];
        assert!(schema.enums.values().any(|e| e.renamed_labels.is_empty()));

        let dir = std::env::temp_dir().join(format!("jp_cache_round_{}", fastrand::u64(..)));
        let k = key("test-round-v1", [&b"schema"[..]]);
        write_in(&dir, &k, &schema);
        let back: crate::model::Schema = read_in(&dir, &k).unwrap();
        assert_eq!(back, schema);

        let other = key("test-round-v1", [&b"another"[..]]);
        std::fs::copy(dir.join(k.file_name()), dir.join(other.file_name())).unwrap();
        assert!(read_in::<crate::model::Schema>(&dir, &other).is_none());

        let path = dir.join(k.file_name());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read_in::<crate::model::Schema>(&dir, &k).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn eviction_keeps_the_newest_entries_of_one_kind_only() {
        let dir = std::env::temp_dir().join(format!("jp_cache_evict_{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for i in 0..KEEP + 3 {
            let path = dir.join(format!("kind-a-{i:04}.bin"));
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
        std::fs::write(dir.join("other-0000.bin"), "{}").unwrap();
        evict(&dir, "kind-a");
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), KEEP + 1, "{left:?}");
        for i in 0..3 {
            assert!(!left.contains(&format!("kind-a-{i:04}.bin")), "{left:?}");
        }
        assert!(left.contains(&"other-0000.bin".to_owned()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
