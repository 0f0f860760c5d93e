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

/// A key: the SHA-256 (hex) of `format`, the toolkit's version and every part, each part
/// delimited so that moving bytes from one part to the next changes the key.
pub fn key<'a>(format: &str, parts: impl IntoIterator<Item = &'a [u8]>) -> String {
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
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The entry of `key`, when there is a readable one.
pub fn read<T: DeserializeOwned>(key: &str) -> Option<T> {
    let text = std::fs::read(dir().join(format!("{key}.json"))).ok()?;
    let entry: Entry<T> = serde_json::from_slice(&text).ok()?;
    (entry.key == key).then_some(entry.value)
}

/// Stores `value` as the entry of `key` (best effort).
pub fn write<T: Serialize>(key: &str, value: &T) {
    let entry = Entry {
        key: key.to_owned(),
        value,
    };
    let dir = dir();
    let Ok(text) = serde_json::to_vec(&entry) else {
        return;
    };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let path = dir.join(format!("{key}.json"));
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
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
}
