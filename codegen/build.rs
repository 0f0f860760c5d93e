//! Fingerprints the sources of the serialized model (`src/model/`) and of introspection
//! (`src/introspect/`) for the keys of the on-disk cache (`src/cache.rs`): its entries are in a
//! binary form without field names, so an entry written by a build with another shape of the
//! model must never be read by this one; and most entries hold what introspection read (the
//! migrations' states, live databases), which a build that reads catalogs differently must not
//! take for its own.
//!
//! Also fingerprints the SQL renderer (`src/render/`): a proof's template database is named by
//! the start state's model rather than by the script rendered from it (`src/diff/prove.rs`),
//! so a build that renders a model differently must name its templates differently.

use std::fs;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let model = fingerprint(&["src/model", "src/introspect"])?;
    println!("cargo:rustc-env=CODEGEN_MODEL_FINGERPRINT={model}");
    let render = fingerprint(&["src/render"])?;
    println!("cargo:rustc-env=CODEGEN_RENDER_FINGERPRINT={render}");
    Ok(())
}

/// FNV-1a, 64 bits, over the path and bytes of every file under `dirs`, in hex.
fn fingerprint(dirs: &[&str]) -> std::io::Result<String> {
    let mut files = Vec::new();
    for dir in dirs {
        let dir = Path::new(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        collect(dir, &mut files)?;
    }
    files.sort();
    // Each file's path and bytes, length-prefixed.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |bytes: &[u8]| {
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for path in &files {
        add(path.to_string_lossy().as_bytes());
        add(&fs::read(path)?);
    }
    Ok(format!("{hash:016x}"))
}

/// Every file under `dir`, recursively.
fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}
