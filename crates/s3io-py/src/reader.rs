//! A Python file-like object as the `AsyncRead` the library's stream upload takes.
//!
//! A blocking thread of the runtime calls the object's `read(CHUNK)` (taking the GIL for each
//! call) and sends each chunk, a `bytes` wrapped as `Bytes` without a copy, through a channel of
//! two chunks (the reading stays at most two chunks ahead of the upload); [`PyReader`] hands the
//! chunks to the upload, which copies them into its pooled part buffers. An empty read is the
//! end. A Python exception from `read` ends the stream with an I/O error, and is kept so that the
//! caller raises it rather than the library's wrapper of it.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

/// Bytes asked of `read` per call: large enough that the GIL round trips cost nothing next to
/// the network, small enough that the two chunks in the channel are little memory.
const CHUNK: usize = 1024 * 1024;

/// The reading end: chunks in order, then the end or an error.
pub(crate) struct PyReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

/// The Python exception that ended a stream, if one did.
pub(crate) type Failure = Arc<Mutex<Option<PyErr>>>;

/// Starts reading `file` on `runtime`'s blocking threads. The handle ends once the thread has
/// stopped calling into Python: after the end, an error, or the [`PyReader`] being dropped (then
/// after at most the `read` call in progress). Await it before returning to Python, so that no
/// thread is still calling `read` when the interpreter exits (a thread entering a finalizing
/// interpreter aborts the process).
pub(crate) fn spawn(
    runtime: &tokio::runtime::Runtime,
    file: Py<PyAny>,
) -> (PyReader, Failure, tokio::task::JoinHandle<()>) {
    let (sender, chunks) = mpsc::channel(2);
    let failure = Failure::default();
    let kept = failure.clone();
    let reading = runtime.spawn_blocking(move || loop {
        let chunk = Python::attach(|py| -> PyResult<Bytes> {
            let data = file.bind(py).call_method1("read", (CHUNK,))?;
            if data.is_instance_of::<pyo3::types::PyString>() {
                return Err(PyTypeError::new_err(
                    "upload_stream needs a file opened in binary mode ('rb'): read() returned str",
                ));
            }
            Ok(Bytes::from_owner(data.extract::<PyBackedBytes>()?))
        });
        let message = match chunk {
            Ok(chunk) if chunk.is_empty() => return,
            Ok(chunk) => Ok(chunk),
            Err(error) => {
                let text = error.to_string();
                *kept.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
                Err(io::Error::other(format!("reading the Python stream: {text}")))
            }
        };
        let failed = message.is_err();
        // The upload stopped reading (done, failed or cancelled): stop too.
        if sender.blocking_send(message).is_err() || failed {
            return;
        }
    });
    (PyReader { chunks, current: Bytes::new() }, failure, reading)
}

impl AsyncRead for PyReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        while self.current.is_empty() {
            match self.chunks.poll_recv(cx) {
                Poll::Ready(Some(Ok(chunk))) => self.current = chunk,
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Err(error)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = self.current.len().min(buf.remaining());
        buf.put_slice(&self.current[..n]);
        self.current.advance(n);
        Poll::Ready(Ok(()))
    }
}
