//! The result classes: what a transfer did, and what a listing or a HEAD says about objects.
//!
//! They are frozen Python objects with read-only attributes, built from the library's outputs.
//! Times are kept as seconds since the epoch and become timezone-aware `datetime`s when read.

use std::time::SystemTime;

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Seconds since the epoch (negative before it).
fn seconds(time: Option<SystemTime>) -> Option<f64> {
    time.map(|t| match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    })
}

/// A UTC `datetime` of `seconds` since the epoch.
fn datetime(py: Python<'_>, seconds: Option<f64>) -> PyResult<Option<Bound<'_, PyAny>>> {
    let Some(seconds) = seconds else { return Ok(None) };
    let module = py.import("datetime")?;
    let utc = module.getattr("timezone")?.getattr("utc")?;
    module.getattr("datetime")?.call_method1("fromtimestamp", (seconds, utc)).map(Some)
}

/// An optional string as Python's `repr` shows it (`None`, or the text in single quotes).
fn repr(value: &Option<String>) -> String {
    match value {
        Some(text) => format!("'{}'", text.escape_default()),
        None => "None".to_owned(),
    }
}

/// A checksum as `ALGORITHM`, base64 value.
fn checksum(value: Option<&s3io::checksum::ChecksumValue>) -> (Option<String>, Option<String>) {
    match value {
        Some(v) => (Some(v.algorithm.name().to_owned()), Some(v.value.clone())),
        None => (None, None),
    }
}

/// What a download did.
#[pyclass(frozen, get_all, module = "s3io._native")]
pub(crate) struct DownloadOutput {
    /// The object's size, in bytes.
    size: u64,
    /// The ETag the download was pinned to (quoted, as the store sent it).
    etag: Option<String>,
    /// GET requests the download needed (retries not counted).
    parts: u64,
    /// The algorithm of the full-object checksum that was verified (`CRC64NVME`, `CRC32C`,
    /// `MD5`), if the object carried one.
    checksum_algorithm: Option<String>,
    /// That checksum, base64 as S3 carries it.
    checksum: Option<String>,
    /// Bytes a resumed file download found complete from an earlier run.
    resumed_bytes: u64,
}

impl From<s3io::DownloadOutput> for DownloadOutput {
    fn from(output: s3io::DownloadOutput) -> Self {
        let (checksum_algorithm, checksum) = checksum(output.verified_checksum.as_ref());
        Self {
            size: output.size,
            etag: output.etag,
            parts: output.parts,
            checksum_algorithm,
            checksum,
            resumed_bytes: output.resumed_bytes,
        }
    }
}

#[pymethods]
impl DownloadOutput {
    fn __repr__(&self) -> String {
        format!(
            "DownloadOutput(size={}, etag={}, parts={}, checksum={})",
            self.size,
            repr(&self.etag),
            self.parts,
            repr(&self.checksum)
        )
    }
}

/// What an upload did.
#[pyclass(frozen, get_all, module = "s3io._native")]
pub(crate) struct UploadOutput {
    /// Bytes uploaded.
    size: u64,
    /// The new object's ETag (`"…-N"` for multipart objects).
    etag: Option<String>,
    /// Parts of the multipart upload; 0 when the object went as one PutObject.
    parts: u32,
    /// The algorithm of the full-object checksum computed and sent (`CRC64NVME` by default).
    checksum_algorithm: Option<String>,
    /// That checksum, base64.
    checksum: Option<String>,
    /// The version id, on versioned buckets.
    version_id: Option<String>,
}

impl From<s3io::UploadOutput> for UploadOutput {
    fn from(output: s3io::UploadOutput) -> Self {
        let (checksum_algorithm, checksum) = checksum(output.checksum.as_ref());
        Self {
            size: output.size,
            etag: output.etag,
            parts: output.parts,
            checksum_algorithm,
            checksum,
            version_id: output.version_id,
        }
    }
}

#[pymethods]
impl UploadOutput {
    fn __repr__(&self) -> String {
        format!(
            "UploadOutput(size={}, etag={}, parts={}, checksum={})",
            self.size,
            repr(&self.etag),
            self.parts,
            repr(&self.checksum)
        )
    }
}

/// What a server-side copy did.
#[pyclass(frozen, get_all, module = "s3io._native")]
pub(crate) struct CopyOutput {
    /// Bytes copied (the source's size).
    size: u64,
    /// The new object's ETag.
    etag: Option<String>,
    /// Parts of the multipart copy; 0 for one CopyObject.
    parts: u32,
    /// The source's ETag the copy was pinned to.
    source_etag: Option<String>,
    /// The full-object CRC64NVME of a multipart copy, checked against the source's.
    checksum: Option<String>,
}

impl From<s3io::CopyOutput> for CopyOutput {
    fn from(output: s3io::CopyOutput) -> Self {
        Self {
            size: output.size,
            etag: output.etag,
            parts: output.parts,
            source_etag: output.source_etag,
            checksum: output.checksum.map(|c| c.value),
        }
    }
}

#[pymethods]
impl CopyOutput {
    fn __repr__(&self) -> String {
        format!("CopyOutput(size={}, etag={}, parts={})", self.size, repr(&self.etag), self.parts)
    }
}

/// One object of a listing.
#[pyclass(frozen, module = "s3io._native")]
pub(crate) struct ObjectSummary {
    /// The key.
    #[pyo3(get)]
    key: String,
    /// Size in bytes.
    #[pyo3(get)]
    size: u64,
    /// The ETag, quoted.
    #[pyo3(get)]
    etag: Option<String>,
    /// The storage class.
    #[pyo3(get)]
    storage_class: Option<String>,
    last_modified: Option<f64>,
}

impl From<s3io::types::ObjectSummary> for ObjectSummary {
    fn from(object: s3io::types::ObjectSummary) -> Self {
        Self {
            key: object.key,
            size: object.size,
            etag: object.etag,
            storage_class: object.storage_class,
            last_modified: seconds(object.last_modified),
        }
    }
}

#[pymethods]
impl ObjectSummary {
    /// Last modification time (UTC).
    #[getter]
    fn last_modified<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        datetime(py, self.last_modified)
    }

    fn __repr__(&self) -> String {
        format!("ObjectSummary(key={}, size={}, etag={})", repr(&Some(self.key.clone())), self.size, repr(&self.etag))
    }
}

/// One page of a listing.
#[pyclass(frozen, get_all, module = "s3io._native")]
pub(crate) struct ListPage {
    /// Objects, in key order.
    objects: Vec<Py<ObjectSummary>>,
    /// Common prefixes ("directories") when a delimiter was given.
    common_prefixes: Vec<String>,
    /// The token of the next page; `None` on the last page.
    next_token: Option<String>,
}

impl ListPage {
    pub(crate) fn new(py: Python<'_>, page: s3io::types::ListObjectsPage) -> PyResult<Self> {
        let objects = page.objects.into_iter().map(|o| Py::new(py, ObjectSummary::from(o))).collect::<PyResult<_>>()?;
        Ok(Self { objects, common_prefixes: page.common_prefixes, next_token: page.next_continuation_token })
    }
}

/// What HeadObject says about an object.
#[pyclass(frozen, module = "s3io._native")]
pub(crate) struct ObjectInfo {
    /// Size in bytes.
    #[pyo3(get)]
    size: u64,
    /// The ETag, quoted.
    #[pyo3(get)]
    etag: Option<String>,
    /// `Content-Type`.
    #[pyo3(get)]
    content_type: Option<String>,
    /// The storage class, when not STANDARD.
    #[pyo3(get)]
    storage_class: Option<String>,
    /// The version id, on versioned buckets.
    #[pyo3(get)]
    version_id: Option<String>,
    last_modified: Option<f64>,
    metadata: Vec<(String, String)>,
    checksums: Vec<(String, String)>,
}

impl From<s3io::types::ObjectInfo> for ObjectInfo {
    fn from(info: s3io::types::ObjectInfo) -> Self {
        Self {
            size: info.content_length,
            etag: info.etag,
            content_type: info.content_type,
            storage_class: info.storage_class,
            version_id: info.version_id,
            last_modified: seconds(info.last_modified),
            metadata: info.metadata,
            checksums: info.checksums.into_iter().map(|c| (c.algorithm.name().to_owned(), c.value)).collect(),
        }
    }
}

#[pymethods]
impl ObjectInfo {
    /// Last modification time (UTC).
    #[getter]
    fn last_modified<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        datetime(py, self.last_modified)
    }

    /// User metadata (`x-amz-meta-*`), names without the prefix.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in &self.metadata {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    /// Full-object checksums the store returned, by algorithm (`{"CRC64NVME": "…"}`).
    #[getter]
    fn checksums<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (algorithm, value) in &self.checksums {
            dict.set_item(algorithm, value)?;
        }
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!("ObjectInfo(size={}, etag={})", self.size, repr(&self.etag))
    }
}
