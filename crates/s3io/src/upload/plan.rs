//! The upload planner: one PutObject or a multipart upload, and the part size.
//!
//! Objects up to the multipart threshold (by default the part size) go as one PutObject. Larger
//! ones are cut into parts of the configured size, grown (to a whole number of MiB) when the
//! object would otherwise need more than S3's 10,000 parts; a 5 TiB object, S3's largest, needs
//! parts of 525 MiB. A configured part size under S3's 5 MiB minimum is rejected before any
//! request, since S3 would only refuse the upload at CompleteMultipartUpload.

use crate::config::{TransferConfig, MAX_UPLOAD_PARTS, MAX_UPLOAD_PART_SIZE, MIB, MIN_UPLOAD_PART_SIZE};
use crate::error::{Error, Result};

/// S3's largest object: 5 TiB.
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * MIB;

/// How an object of known size is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadPlan {
    /// One PutObject of the whole object.
    Single {
        /// The object's size.
        size: u64,
    },
    /// A multipart upload.
    Multipart(PartLayout),
}

/// The parts of a multipart upload: all `part_size` bytes except a shorter last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartLayout {
    /// The object's size.
    pub(crate) size: u64,
    /// Bytes per part (the last may be shorter).
    pub(crate) part_size: u64,
    /// Number of parts, 1 to 10,000.
    pub(crate) parts: u32,
}

impl PartLayout {
    /// The byte offset and length of part `number` (1-based).
    pub(crate) fn range(&self, number: u32) -> (u64, u64) {
        let offset = u64::from(number - 1) * self.part_size;
        (offset, self.part_size.min(self.size - offset))
    }
}

/// Checks that `part_size` may be used for a multipart upload.
pub(crate) fn check_part_size(part_size: u64) -> Result<()> {
    if part_size < MIN_UPLOAD_PART_SIZE {
        return Err(Error::InvalidConfig(format!(
            "part size {part_size} bytes is below S3's minimum of {MIN_UPLOAD_PART_SIZE} bytes (5 MiB) for multipart \
             uploads; raise the part size or the multipart threshold"
        )));
    }
    if part_size > MAX_UPLOAD_PART_SIZE {
        return Err(Error::InvalidConfig(format!(
            "part size {part_size} bytes is above S3's maximum of {MAX_UPLOAD_PART_SIZE} bytes (5 GiB)"
        )));
    }
    Ok(())
}

/// Plans the upload of `size` bytes.
pub(crate) fn plan(size: u64, config: &TransferConfig) -> Result<UploadPlan> {
    if size > MAX_OBJECT_SIZE {
        return Err(Error::InvalidConfig(format!("{size} bytes is above S3's object size limit of 5 TiB")));
    }
    if size <= config.multipart_threshold() {
        return Ok(UploadPlan::Single { size });
    }
    check_part_size(config.part_size)?;
    // Parts at least size / 10,000, rounded up to whole MiB.
    let smallest = size.div_ceil(MAX_UPLOAD_PARTS).div_ceil(MIB) * MIB;
    let part_size = config.part_size.max(smallest);
    check_part_size(part_size)?;
    let parts = size.div_ceil(part_size);
    Ok(UploadPlan::Multipart(PartLayout { size, part_size, parts: parts as u32 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(part_size: u64) -> TransferConfig {
        TransferConfig { part_size, memory_limit: part_size.max(MIB), ..Default::default() }
    }

    #[test]
    fn up_to_the_threshold_is_one_put() {
        let c = config(8 * MIB);
        assert_eq!(plan(0, &c).unwrap(), UploadPlan::Single { size: 0 });
        assert_eq!(plan(8 * MIB, &c).unwrap(), UploadPlan::Single { size: 8 * MIB });
        let c = TransferConfig { multipart_threshold: Some(100 * MIB), ..c };
        assert_eq!(plan(100 * MIB, &c).unwrap(), UploadPlan::Single { size: 100 * MIB });
    }

    #[test]
    fn multipart_parts_and_last_part() {
        let UploadPlan::Multipart(layout) = plan(8 * MIB + 1, &config(8 * MIB)).unwrap() else { panic!() };
        assert_eq!((layout.part_size, layout.parts), (8 * MIB, 2));
        assert_eq!(layout.range(1), (0, 8 * MIB));
        assert_eq!(layout.range(2), (8 * MIB, 1));
        let UploadPlan::Multipart(layout) = plan(40 * MIB, &config(8 * MIB)).unwrap() else { panic!() };
        assert_eq!(layout.parts, 5);
        assert_eq!(layout.range(5), (32 * MIB, 8 * MIB));
    }

    #[test]
    fn part_size_grows_to_stay_within_10000_parts() {
        for size in [80_000 * MIB, 80_000 * MIB + 1, 1024 * 1024 * MIB, MAX_OBJECT_SIZE] {
            let UploadPlan::Multipart(layout) = plan(size, &config(8 * MIB)).unwrap() else { panic!() };
            assert!(u64::from(layout.parts) <= MAX_UPLOAD_PARTS, "{size}: {layout:?}");
            assert!(layout.part_size * u64::from(layout.parts) >= size);
            assert_eq!(layout.part_size % MIB, 0);
        }
        let UploadPlan::Multipart(layout) = plan(MAX_OBJECT_SIZE, &config(8 * MIB)).unwrap() else { panic!() };
        assert_eq!(layout.part_size, 525 * MIB);
    }

    #[test]
    fn rejects_small_parts_and_huge_objects() {
        let err = plan(10 * MIB, &config(MIB)).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)));
        assert!(err.to_string().contains("below S3's minimum"), "{err}");
        // Small parts are fine when the object goes as one PutObject.
        assert_eq!(plan(MIB, &config(MIB)).unwrap(), UploadPlan::Single { size: MIB });
        assert!(plan(MAX_OBJECT_SIZE + 1, &config(8 * MIB)).is_err());
    }
}
