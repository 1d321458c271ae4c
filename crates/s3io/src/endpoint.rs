//! AWS's S3 endpoints: the URL a client without a custom endpoint talks to.
//!
//! As the AWS SDKs' S3 endpoint rules resolve them for the standard partitions:
//!
//! | options | endpoint |
//! |---|---|
//! | none | `https://s3.REGION.amazonaws.com` |
//! | dual-stack (IPv4 and IPv6) | `https://s3.dualstack.REGION.amazonaws.com` |
//! | Transfer Acceleration | `https://s3-accelerate.amazonaws.com` |
//! | both | `https://s3-accelerate.dualstack.amazonaws.com` |
//!
//! Regions of the China partition (`cn-*`) end in `amazonaws.com.cn` and have no acceleration.
//! The bucket goes in front of the host (virtual-hosted addressing, which
//! [`AddressingStyle::Auto`](crate::config::AddressingStyle::Auto) picks for AWS's endpoints and
//! which acceleration requires). With a custom endpoint these options do not apply:
//! [`ClientConfig::validate`](crate::config::ClientConfig::validate) refuses them, as the SDKs'
//! rules do.

/// The endpoint URL for `region`, dual-stack and/or accelerated.
pub(crate) fn aws_endpoint(region: &str, dualstack: bool, accelerate: bool) -> String {
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    match (accelerate, dualstack) {
        (true, true) => format!("https://s3-accelerate.dualstack.{domain}"),
        (true, false) => format!("https://s3-accelerate.{domain}"),
        (false, true) => format!("https://s3.dualstack.{region}.{domain}"),
        (false, false) => format!("https://s3.{region}.{domain}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_by_option() {
        assert_eq!(aws_endpoint("eu-west-1", false, false), "https://s3.eu-west-1.amazonaws.com");
        assert_eq!(aws_endpoint("eu-west-1", true, false), "https://s3.dualstack.eu-west-1.amazonaws.com");
        assert_eq!(aws_endpoint("eu-west-1", false, true), "https://s3-accelerate.amazonaws.com");
        assert_eq!(aws_endpoint("eu-west-1", true, true), "https://s3-accelerate.dualstack.amazonaws.com");
        assert_eq!(aws_endpoint("cn-north-1", false, false), "https://s3.cn-north-1.amazonaws.com.cn");
        assert_eq!(aws_endpoint("cn-north-1", true, false), "https://s3.dualstack.cn-north-1.amazonaws.com.cn");
    }
}
