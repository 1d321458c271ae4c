//! The `s3io` Python package's native module, `s3io._native`: the s3io engine for Python.
//!
//! Nothing of the engine is re-implemented here: every transfer is the library's (`s3io::Client`,
//! its `Download`, `Upload` and `ServerCopy`), driven from Python in one of two ways
//! (`run`): a blocking call that releases the GIL while the transfer runs on a process-wide
//! tokio runtime, watching for Ctrl-C and reporting progress between ticks; or an asyncio
//! awaitable (the `*_async` methods) on the same runtime.
//!
//! | module | owns |
//! |---|---|
//! | `client` | the `Client` class: settings, and one method per operation |
//! | `run` | how a library future is run for Python: blocking with signals, or awaitable; progress callbacks; clean-up after Ctrl-C |
//! | `memory` | Python memory the engine reads or fills in place: `bytes` made at the object's size, lent writable buffers, read-only buffers to upload |
//! | `reader` | a Python file-like object as the library's `AsyncRead` (for `upload_stream`) |
//! | `outputs` | the result classes (`DownloadOutput`, `UploadOutput`, `CopyOutput`, `ObjectSummary`, `ObjectInfo`) |
//! | `error` | library errors as the exceptions of `s3io.exceptions` |
//!
//! The Python side (`python/s3io`) adds the iterators over listings, the `AsyncClient`, the
//! exception classes, type stubs, and `s3io.distributed` (a copy of a prefix on Dask).

mod client;
mod error;
mod memory;
mod outputs;
mod reader;
mod run;

use pyo3::prelude::*;

/// The native module; `s3io/__init__.py` re-exports what users need.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::Client>()?;
    m.add_class::<outputs::DownloadOutput>()?;
    m.add_class::<outputs::UploadOutput>()?;
    m.add_class::<outputs::CopyOutput>()?;
    m.add_class::<outputs::ObjectSummary>()?;
    m.add_class::<outputs::ObjectInfo>()?;
    m.add_class::<outputs::ListPage>()?;
    m.add_function(wrap_pyfunction!(run::finish_cleanup, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
