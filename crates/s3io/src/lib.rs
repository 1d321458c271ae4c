//! s3io
