//! The `Client` class: one s3io client (one connection pool, one memory limit), and a method per
//! operation, each in a blocking form and an `*_async` form returning an awaitable.
//!
//! Settings map to the library's `ClientBuilder`, `TransferConfig` and `RetryConfig`: sizes in
//! bytes, times in seconds. Each operation is built once, by its `*_op` method, as a library
//! future plus its [`Control`] (cancellation, progress), then run by [`run::blocking`] or
//! [`run::awaitable`]. The two Python methods of an operation are written by one declaration in
//! `client_methods!`, so each is a shim over its `*_op` and the blocking and awaitable forms
//! cannot drift apart (in signature, argument conversion or errors).

use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use s3io::config::{AddressingStyle, ChecksumMode, RetryConfig, TransferConfig};
use s3io::CredentialsSource;

use crate::error::to_py;
use crate::memory::{readonly_bytes, Destination};
use crate::outputs::{CopyOutput, DownloadOutput, ListPage, ObjectInfo, UploadOutput};
use crate::run::{self, Control};

/// Seconds (a Python float) as a `Duration`, rejecting negative and non-finite values.
fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        PyValueError::new_err(format!("{name} must be a finite, non-negative number of seconds, not {value}"))
    })
}

/// A client of one S3-compatible store.
#[pyclass(frozen, subclass, module = "s3io._native")]
pub(crate) struct Client {
    inner: s3io::Client,
}

/// Writes `Client`'s `#[pymethods]` block (pyo3 takes one per class): the `methods` as given,
/// and for each declaration in `operations`
///
/// ```text
/// /// Doc.
/// #[pyo3(signature = (...))]
/// fn name / name_async(arg: Type, ...) -> Output = name_op;
/// ```
///
/// the two Python methods of that operation: `name(...)`, documented by the declaration's doc,
/// which runs the future `self.name_op(arg, ...)` returns with [`run::blocking`] (the GIL
/// released) and returns `Output`; and `name_async(...)`, with the same signature, documented as
/// "`name` as an awaitable (`AsyncClient.name`)", which hands the future to [`run::awaitable`].
/// Argument conversion and its errors happen in `name_op`, before either runs anything.
/// (rustfmt does not format inside the invocation: keep its layout by hand.)
macro_rules! client_methods {
    (
        methods { $($methods:tt)* }
        operations {
            $(
                $(#[doc = $doc:tt])*
                $(#[pyo3(signature = $signature:tt)])?
                fn $name:ident / $name_async:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $out:ty = $op:ident;
            )*
        }
    ) => {
        #[pymethods]
        impl Client {
            $($methods)*

            $(
                $(#[doc = $doc])*
                $(#[pyo3(signature = $signature)])?
                #[allow(clippy::too_many_arguments)] // An operation's parameters, as Python keywords.
                fn $name<'py>(&self, py: Python<'py>, $($arg: $ty),*) -> PyResult<$out> {
                    let (control, future) = self.$op($($arg),*)?;
                    run::blocking(py, control, future)
                }

                #[doc = concat!("`", stringify!($name), "` as an awaitable (`AsyncClient.", stringify!($name), "`).")]
                $(#[pyo3(signature = $signature)])?
                #[allow(clippy::too_many_arguments)] // As the blocking form.
                fn $name_async<'py>(&self, py: Python<'py>, $($arg: $ty),*) -> PyResult<Bound<'py, PyAny>> {
                    let (control, future) = self.$op($($arg),*)?;
                    run::awaitable(py, control, future)
                }
            )*
        }
    };
}

client_methods! {
    methods {
        #[new]
        #[pyo3(signature = (
            endpoint = None, *, region = None, access_key_id = None, secret_access_key = None,
            session_token = None, profile = None, anonymous = false, addressing_style = None,
            part_size = None, concurrency = None, memory_limit = None, multipart_threshold = None,
            max_attempts = None, retry_timeout = None, connect_timeout = None, read_timeout = None,
            stall_timeout = None, checksum_mode = None,
        ))]
        #[allow(clippy::too_many_arguments)] // One keyword argument per setting, as Python APIs go.
        fn new(
            py: Python<'_>,
            endpoint: Option<String>,
            region: Option<String>,
            access_key_id: Option<String>,
            secret_access_key: Option<String>,
            session_token: Option<String>,
            profile: Option<String>,
            anonymous: bool,
            addressing_style: Option<&str>,
            part_size: Option<u64>,
            concurrency: Option<usize>,
            memory_limit: Option<u64>,
            multipart_threshold: Option<u64>,
            max_attempts: Option<u32>,
            retry_timeout: Option<f64>,
            connect_timeout: Option<f64>,
            read_timeout: Option<f64>,
            stall_timeout: Option<f64>,
            checksum_mode: Option<&str>,
        ) -> PyResult<Self> {
            let mut builder = s3io::Client::builder();
            let endpoint = endpoint
                .or_else(|| std::env::var("S3IO_ENDPOINT_URL").ok())
                .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .filter(|e| !e.is_empty());
            if let Some(endpoint) = endpoint {
                builder = builder.endpoint(endpoint);
            }
            if let Some(region) = region {
                builder = builder.region(region);
            }
            let credentials = match (access_key_id, secret_access_key, profile, anonymous) {
                (_, _, _, true) => CredentialsSource::Anonymous,
                (Some(access_key_id), Some(secret_access_key), None, false) => {
                    CredentialsSource::Static { access_key_id, secret_access_key, session_token }
                }
                (None, None, Some(profile), false) => CredentialsSource::Profile(profile),
                (None, None, None, false) => CredentialsSource::DefaultChain,
                _ => {
                    return Err(PyValueError::new_err(
                        "give access_key_id and secret_access_key together, or a profile, or anonymous=True, not a mix",
                    ))
                }
            };
            builder = builder.credentials(credentials);
            builder = builder.addressing_style(match addressing_style {
                None | Some("auto") => AddressingStyle::Auto,
                Some("path") => AddressingStyle::Path,
                Some("virtual") => AddressingStyle::VirtualHosted,
                Some(other) => {
                    return Err(PyValueError::new_err(format!(
                        "addressing_style must be 'auto', 'path' or 'virtual', not {other:?}"
                    )))
                }
            });
            let mut transfer = TransferConfig::default();
            if let Some(part_size) = part_size {
                transfer = transfer.with_part_size(part_size);
            }
            if let Some(concurrency) = concurrency {
                transfer = transfer.with_concurrency(concurrency);
            }
            if let Some(memory_limit) = memory_limit {
                transfer = transfer.with_memory_limit(memory_limit);
            }
            if multipart_threshold.is_some() {
                transfer = transfer.with_multipart_threshold(multipart_threshold);
            }
            transfer = transfer.with_checksum_mode(match checksum_mode {
                None | Some("when_supported") => ChecksumMode::WhenSupported,
                Some("when_required") => ChecksumMode::WhenRequired,
                Some(other) => {
                    return Err(PyValueError::new_err(format!(
                        "checksum_mode must be 'when_supported' or 'when_required', not {other:?}"
                    )))
                }
            });
            builder = builder.transfer(transfer);
            let mut retry = RetryConfig::default();
            if let Some(max_attempts) = max_attempts {
                retry = retry.with_max_attempts(max_attempts);
            }
            if let Some(timeout) = retry_timeout {
                retry = retry.with_retry_timeout(seconds("retry_timeout", timeout)?);
            }
            builder = builder.retry(retry);
            if let Some(timeout) = connect_timeout {
                builder = builder.connect_timeout(seconds("connect_timeout", timeout)?);
            }
            if let Some(timeout) = read_timeout {
                builder = builder.read_timeout(seconds("read_timeout", timeout)?);
            }
            if let Some(timeout) = stall_timeout {
                builder = builder.stall_timeout(seconds("stall_timeout", timeout)?);
            }
            let inner = py.detach(|| run::runtime().block_on(builder.build())).map_err(to_py)?;
            Ok(Self { inner })
        }

        /// The endpoint requests go to.
        #[getter]
        fn endpoint(&self) -> String {
            self.inner.endpoint().to_string()
        }

        /// The region requests are signed for.
        #[getter]
        fn region(&self) -> String {
            self.inner.region().to_owned()
        }

        /// The client's counters: connections, retries and the payload buffer pool, as a dict.
        fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
            let dict = pyo3::types::PyDict::new(py);
            let pool = self.inner.buffer_pool().stats();
            dict.set_item("memory_limit", self.inner.buffer_pool().limit())?;
            dict.set_item("pool_high_water_bytes", pool.high_water_bytes)?;
            dict.set_item("pool_in_use_bytes", pool.in_use_bytes)?;
            dict.set_item("pool_acquired", pool.acquired)?;
            dict.set_item("pool_allocated", pool.allocated)?;
            dict.set_item("connections_opened", self.inner.connection_metrics().opened())?;
            dict.set_item("retries", self.inner.retry_counters().total())?;
            Ok(dict)
        }

        fn __repr__(&self) -> String {
            format!("s3io.Client(endpoint={:?}, region={:?})", self.inner.endpoint().as_str(), self.inner.region())
        }

        /// Creates a bucket.
        fn create_bucket(&self, py: Python<'_>, bucket: String) -> PyResult<()> {
            let client = self.inner.clone();
            run::blocking(py, Control::new(None), async move { client.create_bucket(&bucket).await.map_err(to_py) })
        }

        /// Deletes an empty bucket.
        fn delete_bucket(&self, py: Python<'_>, bucket: String) -> PyResult<()> {
            let client = self.inner.clone();
            run::blocking(py, Control::new(None), async move { client.delete_bucket(&bucket).await.map_err(to_py) })
        }

        /// Multipart uploads in progress under `prefix` in `bucket`, as `(key, upload_id)` pairs.
        #[pyo3(signature = (bucket, *, prefix = None))]
        fn list_multipart_uploads(
            &self,
            py: Python<'_>,
            bucket: String,
            prefix: Option<String>,
        ) -> PyResult<Vec<(String, String)>> {
            let client = self.inner.clone();
            run::blocking(py, Control::new(None), async move {
                let page = client.list_multipart_uploads(&bucket, prefix.as_deref(), None).await.map_err(to_py)?;
                Ok(page.uploads.into_iter().map(|u| (u.key, u.upload_id)).collect())
            })
        }
    }

    operations {
        // Downloads.

        /// The object as `bytes`, fetched in parallel parts straight into one `bytes` of its size.
        #[pyo3(signature = (bucket, key, *, progress = None))]
        fn download_bytes / download_bytes_async(
            bucket: String, key: String, progress: Option<Py<PyAny>>,
        ) -> Py<PyAny> = download_bytes_op;

        /// Fills the writable, C-contiguous `buffer` with the object in place; returns its size.
        #[pyo3(signature = (bucket, key, buffer, *, progress = None))]
        fn download_into / download_into_async(
            bucket: String, key: String, buffer: &Bound<'py, PyAny>, progress: Option<Py<PyAny>>,
        ) -> u64 = download_into_op;

        /// Downloads to `path` (a temporary file beside it, renamed into place when complete).
        #[pyo3(signature = (bucket, key, path, *, progress = None, resume = false))]
        fn download_file / download_file_async(
            bucket: String, key: String, path: PathBuf, progress: Option<Py<PyAny>>, resume: bool,
        ) -> DownloadOutput = download_file_op;

        // Uploads.

        /// Uploads `data` (any C-contiguous buffer, sent without copying).
        #[pyo3(signature = (bucket, key, data, *, progress = None))]
        fn upload_bytes / upload_bytes_async(
            bucket: String, key: String, data: &Bound<'py, PyAny>, progress: Option<Py<PyAny>>,
        ) -> UploadOutput = upload_bytes_op;

        /// Uploads the file at `path`.
        #[pyo3(signature = (bucket, key, path, *, progress = None, resume = false))]
        fn upload_file / upload_file_async(
            bucket: String, key: String, path: PathBuf, progress: Option<Py<PyAny>>, resume: bool,
        ) -> UploadOutput = upload_file_op;

        /// Uploads what `file.read()` returns until it returns `b""`, within the memory limit.
        #[pyo3(signature = (bucket, key, file, *, progress = None))]
        fn upload_stream / upload_stream_async(
            bucket: String, key: String, file: Py<PyAny>, progress: Option<Py<PyAny>>,
        ) -> UploadOutput = upload_stream_op;

        // Server-side copies.

        /// A server-side copy, multipart above 5 GiB.
        #[pyo3(signature = (source_bucket, source_key, bucket, key, *, progress = None, part_size = None, multipart_threshold = None))]
        fn copy / copy_async(
            source_bucket: String, source_key: String, bucket: String, key: String,
            progress: Option<Py<PyAny>>, part_size: Option<u64>, multipart_threshold: Option<u64>,
        ) -> CopyOutput = copy_op;

        // Requests.

        /// One ListObjectsV2 page (`list` and `list_pages` iterate them).
        #[pyo3(signature = (bucket, *, prefix = None, delimiter = None, start_after = None, token = None, max_keys = None))]
        fn list_page / list_page_async(
            bucket: String, prefix: Option<String>, delimiter: Option<String>, start_after: Option<String>,
            token: Option<String>, max_keys: Option<u32>,
        ) -> ListPage = list_page_op;

        /// HeadObject: size, ETag, checksums, metadata.
        fn head / head_async(bucket: String, key: String) -> ObjectInfo = head_op;

        /// Deletes the object (succeeds if it does not exist).
        fn delete / delete_async(bucket: String, key: String) -> () = delete_op;

        /// A presigned URL for `GET` or `PUT` of the object, valid `expires_in` seconds.
        #[pyo3(signature = (bucket, key, *, method = "GET", expires_in = 3600.0))]
        fn presign / presign_async(bucket: String, key: String, method: &str, expires_in: f64) -> String = presign_op;
    }
}

/// The operations as library futures with their [`Control`], shared by the blocking and the
/// awaitable forms (`client_methods!`); arguments are converted, and rejected, here.
impl Client {
    fn download_bytes_op(
        &self,
        bucket: String,
        key: String,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<Py<PyAny>>> + Send + 'static)> {
        let control = Control::new(progress);
        let download = self.download(&control, bucket, key);
        let future = async move {
            let mut failure = None;
            let made = download
                .into_memory(|size| {
                    Python::attach(|py| {
                        Destination::new_bytes(py, size as usize).unwrap_or_else(|error| {
                            failure = Some(error);
                            Destination::Failed
                        })
                    })
                })
                .await;
            if let Some(error) = failure {
                return Err(error);
            }
            let (destination, _) = made.map_err(to_py)?;
            Ok(Python::attach(|py| destination.into_object(py)).expect("a bytes destination"))
        };
        Ok((control, future))
    }

    fn download_into_op(
        &self,
        bucket: String,
        key: String,
        buffer: &Bound<'_, PyAny>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<u64>> + Send + 'static)> {
        let destination = Destination::lent(buffer)?;
        let control = Control::new(progress);
        let download = self.download(&control, bucket, key);
        let future = async move {
            let (_, output) = download.into_memory(move |_| destination).await.map_err(to_py)?;
            Ok(output.size)
        };
        Ok((control, future))
    }

    fn download_file_op(
        &self,
        bucket: String,
        key: String,
        path: PathBuf,
        progress: Option<Py<PyAny>>,
        resume: bool,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<DownloadOutput>> + Send + 'static)> {
        let control = Control::new(progress);
        let download = self.download(&control, bucket, key).resume(resume);
        Ok((control, async move { download.to_file(path).await.map(DownloadOutput::from).map_err(to_py) }))
    }

    fn download(&self, control: &Control, bucket: String, key: String) -> s3io::Download {
        let download = self.inner.download(bucket, key).cancel_token(control.cancel.clone());
        match &control.progress {
            Some(progress) => download.progress(progress.clone()),
            None => download,
        }
    }

    fn upload(&self, control: &Control, bucket: String, key: String) -> s3io::Upload {
        let upload = self.inner.upload(bucket, key).cancel(control.cancel.clone());
        match &control.progress {
            Some(progress) => upload.progress(progress.clone()),
            None => upload,
        }
    }

    fn upload_bytes_op(
        &self,
        bucket: String,
        key: String,
        data: &Bound<'_, PyAny>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<UploadOutput>> + Send + 'static)> {
        let data = readonly_bytes(data)?;
        let control = Control::new(progress);
        let upload = self.upload(&control, bucket, key);
        Ok((control, async move { upload.from_bytes(data).await.map(UploadOutput::from).map_err(to_py) }))
    }

    fn upload_file_op(
        &self,
        bucket: String,
        key: String,
        path: PathBuf,
        progress: Option<Py<PyAny>>,
        resume: bool,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<UploadOutput>> + Send + 'static)> {
        let control = Control::new(progress);
        let upload = self.upload(&control, bucket, key).resume(resume);
        Ok((control, async move { upload.from_file(path).await.map(UploadOutput::from).map_err(to_py) }))
    }

    fn upload_stream_op(
        &self,
        bucket: String,
        key: String,
        file: Py<PyAny>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<UploadOutput>> + Send + 'static)> {
        let control = Control::new(progress);
        let upload = self.upload(&control, bucket, key);
        let future = async move {
            let (reader, failure, reading) = crate::reader::spawn(run::runtime(), file);
            let result = upload.from_reader(reader).await;
            // The reader is dropped with the upload: its thread stops after the `read` call in
            // progress (bounded, in case something kept the reader alive).
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), reading).await;
            // The stream's own exception says more than the library's wrapper of it.
            if let Some(error) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(error);
            }
            result.map(UploadOutput::from).map_err(to_py)
        };
        Ok((control, future))
    }

    #[allow(clippy::too_many_arguments)] // As `copy`.
    fn copy_op(
        &self,
        source_bucket: String,
        source_key: String,
        bucket: String,
        key: String,
        progress: Option<Py<PyAny>>,
        part_size: Option<u64>,
        multipart_threshold: Option<u64>,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<CopyOutput>> + Send + 'static)> {
        let control = Control::new(progress);
        let mut copy = self.inner.copy(source_bucket, source_key, bucket, key).cancel_token(control.cancel.clone());
        if let Some(part_size) = part_size {
            copy = copy.part_size(part_size);
        }
        if let Some(threshold) = multipart_threshold {
            copy = copy.multipart_threshold(threshold);
        }
        if let Some(progress) = &control.progress {
            copy = copy.progress(progress.clone());
        }
        Ok((control, async move { copy.run().await.map(CopyOutput::from).map_err(to_py) }))
    }

    fn list_page_op(
        &self,
        bucket: String,
        prefix: Option<String>,
        delimiter: Option<String>,
        start_after: Option<String>,
        token: Option<String>,
        max_keys: Option<u32>,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<ListPage>> + Send + 'static)> {
        let client = self.inner.clone();
        let mut options = s3io::types::ListObjectsOptions::default();
        options.prefix = prefix.filter(|p| !p.is_empty());
        options.delimiter = delimiter;
        options.start_after = start_after;
        options.continuation_token = token;
        options.max_keys = max_keys;
        let future = async move {
            let page = client.list_objects_v2(&bucket, &options).await.map_err(to_py)?;
            Python::attach(|py| ListPage::new(py, page))
        };
        Ok((Control::new(None), future))
    }

    fn head_op(
        &self,
        bucket: String,
        key: String,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<ObjectInfo>> + Send + 'static)> {
        let client = self.inner.clone();
        Ok((
            Control::new(None),
            async move { client.head_object(&bucket, &key).await.map(ObjectInfo::from).map_err(to_py) },
        ))
    }

    fn delete_op(
        &self,
        bucket: String,
        key: String,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<()>> + Send + 'static)> {
        let client = self.inner.clone();
        Ok((Control::new(None), async move { client.delete_object(&bucket, &key).await.map_err(to_py) }))
    }

    fn presign_op(
        &self,
        bucket: String,
        key: String,
        method: &str,
        expires_in: f64,
    ) -> PyResult<(Control, impl std::future::Future<Output = PyResult<String>> + Send + 'static)> {
        let client = self.inner.clone();
        let expires_in = seconds("expires_in", expires_in)?;
        let put = match method.to_ascii_uppercase().as_str() {
            "GET" => false,
            "PUT" => true,
            other => {
                return Err(PyValueError::new_err(format!("presign method must be 'GET' or 'PUT', not {other:?}")))
            }
        };
        let future = async move {
            let url = if put {
                client.presign_put(&bucket, &key, expires_in).await
            } else {
                client.presign_get(&bucket, &key, expires_in).await
            };
            url.map_err(to_py)
        };
        Ok((Control::new(None), future))
    }
}
