//! Object bytes on disk. Every stored version is one file `objects/<version uuid>` under the data
//! directory, named by the server and never by the object key, so no key (`../x`, absolute paths,
//! NUL bytes) can reach outside the data directory. Uploads stream into `tmp/` and are renamed into
//! place; downloads stream from the file.

use std::path::{Path, PathBuf};

use axum::body::Body;
use md5::{Digest, Md5};
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio_util::io::ReaderStream;

use crate::error::{ApiError, Error};

/// Read and write buffer size for object bytes.
const CHUNK: usize = 256 * 1024;

/// The data directory.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    objects: PathBuf,
    tmp: PathBuf,
}

/// A new random version id (a v4 UUID, as Supabase Storage uses).
pub(crate) fn new_version() -> String {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

impl Store {
    pub(crate) fn open(root: &Path) -> Result<Self, Error> {
        let store = Self {
            objects: root.join("objects"),
            tmp: root.join("tmp"),
        };
        for dir in [&store.objects, &store.tmp] {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        Ok(store)
    }

    /// The file of a version; `version` must be one this server made (a UUID).
    fn path(&self, version: &str) -> Result<PathBuf, ApiError> {
        match uuid::Uuid::parse_str(version) {
            Ok(id) => Ok(self.objects.join(id.to_string())),
            Err(_) => Err(ApiError::internal(format!(
                "object version {version:?} is not one of this server's"
            ))),
        }
    }

    /// Starts receiving an upload into a temporary file.
    pub(crate) async fn receive(&self, limit: Option<u64>) -> Result<Incoming, ApiError> {
        let path = self.tmp.join(new_version());
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| ApiError::from_io("creating an upload file", &e))?;
        Ok(Incoming {
            path: Some(path),
            file: BufWriter::with_capacity(CHUNK, file),
            size: 0,
            limit,
            md5: Md5::new(),
        })
    }

    /// Moves a finished upload into place as `version`.
    pub(crate) async fn commit(&self, upload: Received, version: &str) -> Result<(), ApiError> {
        let target = self.path(version)?;
        let mut upload = upload;
        let Some(from) = upload.path.take() else {
            return Err(ApiError::internal("upload committed twice"));
        };
        tokio::fs::rename(&from, &target)
            .await
            .map_err(|e| ApiError::from_io("storing an upload", &e))
    }

    /// Copies the bytes of one version to a new one.
    pub(crate) async fn copy(&self, from: &str, to: &str) -> Result<(), ApiError> {
        tokio::fs::copy(self.path(from)?, self.path(to)?)
            .await
            .map(drop)
            .map_err(|e| ApiError::from_io("copying an object", &e))
    }

    /// Deletes the file of a version (best effort: a missing file is fine).
    pub(crate) async fn remove(&self, version: &str) {
        if let Ok(path) = self.path(version) {
            let _ = tokio::fs::remove_file(path).await;
        }
    }

    /// Opens a version for reading; a missing file is `NoSuchKey`.
    pub(crate) async fn open_version(&self, version: &str) -> Result<tokio::fs::File, ApiError> {
        tokio::fs::File::open(self.path(version)?)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => ApiError::no_such_key(),
                _ => ApiError::from_io("opening an object", &e),
            })
    }
}

/// An upload being written.
pub(crate) struct Incoming {
    path: Option<PathBuf>,
    file: BufWriter<tokio::fs::File>,
    size: u64,
    limit: Option<u64>,
    md5: Md5,
}

/// A complete upload in its temporary file (removed on drop unless committed).
pub(crate) struct Received {
    path: Option<PathBuf>,
    /// Bytes received.
    pub size: u64,
    /// Lower-case hex MD5 of the bytes.
    pub md5: String,
}

impl Incoming {
    /// Appends a chunk; past the bucket's limit the upload fails with `EntityTooLarge`.
    pub(crate) async fn push(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        self.size += chunk.len() as u64;
        if self.limit.is_some_and(|limit| self.size > limit) {
            return Err(ApiError::entity_too_large());
        }
        self.md5.update(chunk);
        self.file
            .write_all(chunk)
            .await
            .map_err(|e| ApiError::from_io("writing an upload", &e))
    }

    pub(crate) async fn finish(mut self) -> Result<Received, ApiError> {
        self.file
            .flush()
            .await
            .map_err(|e| ApiError::from_io("writing an upload", &e))?;
        let digest = std::mem::take(&mut self.md5).finalize();
        Ok(Received {
            path: self.path.take(),
            size: self.size,
            md5: digest.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for Received {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The byte range a `Range` header asks for, as an inclusive `(start, end)`; `Ok(None)` for no
/// header or a form this server ignores (several ranges: the whole object is sent, as HTTP allows).
pub(crate) fn parse_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(header) = header else {
        return Ok(None);
    };
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Err(ApiError::invalid_range());
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Err(ApiError::invalid_range());
    };
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| ApiError::invalid_range())
    };
    let (start, end) = match (start.trim().is_empty(), end.trim().is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => {
            let n = parse(end)?;
            if n == 0 || size == 0 {
                return Err(ApiError::invalid_range());
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, true) => (parse(start)?, size.saturating_sub(1)),
        (false, false) => (parse(start)?, parse(end)?.min(size.saturating_sub(1))),
        (true, true) => return Err(ApiError::invalid_range()),
    };
    if start >= size || start > end {
        return Err(ApiError::invalid_range());
    }
    Ok(Some((start, end)))
}

/// A body streaming `len` bytes of `file` from `start`.
pub(crate) async fn stream(
    mut file: tokio::fs::File,
    start: u64,
    len: u64,
) -> Result<Body, ApiError> {
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| ApiError::from_io("reading an object", &e))?;
    }
    use tokio::io::AsyncReadExt as _;
    Ok(Body::from_stream(ReaderStream::with_capacity(
        file.take(len),
        CHUNK,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10).unwrap(), None);
        assert_eq!(parse_range(Some("bytes=0-3"), 10).unwrap(), Some((0, 3)));
        assert_eq!(parse_range(Some("bytes=5-"), 10).unwrap(), Some((5, 9)));
        assert_eq!(parse_range(Some("bytes=-4"), 10).unwrap(), Some((6, 9)));
        assert_eq!(parse_range(Some("bytes=8-100"), 10).unwrap(), Some((8, 9)));
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10).unwrap(), None);
        for bad in [
            "bytes=10-",
            "bytes=5-2",
            "items=0-1",
            "bytes=x-1",
            "bytes=-",
        ] {
            assert!(parse_range(Some(bad), 10).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_are_uuids() {
        let v = new_version();
        assert_eq!(uuid::Uuid::parse_str(&v).unwrap().get_version_num(), 4);
        assert_ne!(v, new_version());
    }
}
