//! Python memory the engine fills or reads in place, without a copy.
//!
//! - [`Destination::new_bytes`]: a `bytes` object made once the object's size is known
//!   (`PyBytes_FromStringAndSize(NULL, size)`: not zeroed, so its pages are touched only as the
//!   download writes them), filled in place by the library's `Download::into_memory` and handed
//!   to Python only when complete. A 1 GiB download to memory costs 1 GiB, not 2.
//! - [`Destination::lent`]: a caller's writable, C-contiguous buffer (`bytearray`, NumPy array,
//!   writable `memoryview`), filled in place: the "reuse the buffer" pattern of a service.
//! - [`readonly_bytes`]: any C-contiguous buffer as a `Bytes` that keeps the Python object
//!   alive (and its buffer exported, so a `bytearray` cannot be resized meanwhile): uploads send
//!   it without copying.
//!
//! The library holds these values on its worker threads; each keeps the Python object alive
//! until dropped (pyo3 defers the reference count change to a thread that holds the GIL).
#![allow(unsafe_code)] // Raw memory of Python objects: each block says why it is sound.

use bytes::Bytes;
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyBufferError, PyTypeError};
use pyo3::prelude::*;
use pyo3::{ffi, PyErr};

/// Memory a download writes into.
pub(crate) enum Destination {
    /// A new `bytes` object nobody else has seen yet.
    Bytes { object: Py<PyAny>, ptr: *mut u8, len: usize },
    /// A caller's writable buffer.
    Lent(PyUntypedBuffer),
    /// Making the `bytes` object failed (the error is kept by the caller): no memory at all, so
    /// the download fails as too small and the kept error is raised instead.
    Failed,
}

// SAFETY: the Python objects are kept alive by owned references (`Py`, the buffer export), which
// pyo3 allows to move between threads; the memory is written only by the library's pieces of it,
// disjoint, one thread each; and no Python code sees a `Bytes` destination before it is complete.
unsafe impl Send for Destination {}

impl Destination {
    /// A `bytes` object of `len` bytes, uninitialised; on failure the Python error.
    pub(crate) fn new_bytes(py: Python<'_>, len: usize) -> PyResult<Self> {
        let size = ffi::Py_ssize_t::try_from(len).map_err(|_| PyBufferError::new_err("object too large"))?;
        // SAFETY: a NULL source asks CPython for an uninitialised `bytes` of `size` bytes, which
        // the caller may fill before sharing it (the documented way to build one in place).
        let object =
            unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(std::ptr::null(), size))? };
        // SAFETY: `object` is a `bytes` (just made), so `PyBytes_AsString` returns its storage,
        // `len` bytes long (plus a NUL), valid while `object` lives.
        let ptr = unsafe { ffi::PyBytes_AsString(object.as_ptr()) }.cast::<u8>();
        if ptr.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(Destination::Bytes { object: object.unbind(), ptr, len })
    }

    /// `object`'s buffer, checked writable and C-contiguous.
    pub(crate) fn lent(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        let buffer = PyUntypedBuffer::get(object)?;
        if buffer.readonly() {
            return Err(PyTypeError::new_err(format!(
                "download_into needs a writable buffer (a bytearray, a NumPy array, a writable memoryview), not a read-only {}",
                object.get_type().name()?
            )));
        }
        if !buffer.is_c_contiguous() {
            return Err(PyBufferError::new_err("download_into needs a C-contiguous buffer"));
        }
        Ok(Destination::Lent(buffer))
    }

    /// The `bytes` object, for a `Bytes` destination.
    pub(crate) fn into_object(self, py: Python<'_>) -> Option<Py<PyAny>> {
        match self {
            Destination::Bytes { object, .. } => Some(object),
            Destination::Lent(buffer) => buffer.obj(py).map(|o| o.clone().unbind()),
            Destination::Failed => None,
        }
    }
}

impl AsMut<[u8]> for Destination {
    fn as_mut(&mut self) -> &mut [u8] {
        match self {
            // SAFETY: `ptr..ptr + len` is the storage of the `bytes` object `object` keeps alive,
            // not yet shared with Python code (see `new_bytes`).
            Destination::Bytes { ptr, len, .. } => unsafe { std::slice::from_raw_parts_mut(*ptr, *len) },
            // SAFETY: the export keeps the buffer's memory alive and in place (a `bytearray` with
            // an export cannot be resized); it is writable and C-contiguous (checked in `lent`),
            // so `buf_ptr()..+len_bytes()` is its bytes.
            Destination::Lent(buffer) => unsafe {
                std::slice::from_raw_parts_mut(buffer.buf_ptr().cast::<u8>(), buffer.len_bytes())
            },
            Destination::Failed => &mut [],
        }
    }
}

/// A read-only view of a Python buffer that keeps it exported.
struct ReadOnly(PyUntypedBuffer);

impl AsRef<[u8]> for ReadOnly {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the export keeps the memory alive and in place, and it is C-contiguous (checked
        // in `readonly_bytes`), so `buf_ptr()..+len_bytes()` is its bytes. A writable buffer may
        // be changed by other Python threads meanwhile: the documented caveat of `upload_bytes`
        // (the store then rejects the body's checksum).
        unsafe { std::slice::from_raw_parts(self.0.buf_ptr().cast::<u8>(), self.0.len_bytes()) }
    }
}

/// Any C-contiguous buffer (`bytes`, `bytearray`, `memoryview`, NumPy array) as `Bytes`, with no
/// copy.
pub(crate) fn readonly_bytes(object: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    let buffer = PyUntypedBuffer::get(object)?;
    if !buffer.is_c_contiguous() {
        return Err(PyBufferError::new_err("upload_bytes needs a C-contiguous buffer"));
    }
    Ok(Bytes::from_owner(ReadOnly(buffer)))
}
