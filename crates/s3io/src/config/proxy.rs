//! Which HTTP proxy requests go through: [`ProxyConfig`] (from the environment, as curl and the
//! AWS CLI read it; none; or explicit URLs) and the check every proxy URL passes before a
//! connection uses it.

use crate::error::{Error, Result};

/// Which HTTP proxy requests go through.
///
/// `http://` endpoints are reached through the proxy with absolute-form requests
/// (`GET http://host/key`), as curl, the AWS CLI and Go's `net/http` send them (many proxies
/// allow CONNECT only to port 443), with `Proxy-Authorization` from the proxy URL's user and
/// password; `https://` endpoints through a CONNECT tunnel, TLS running end to end inside it.
/// Only `http://` proxy URLs are supported (a URL without a scheme is taken as one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProxyConfig {
    /// Read the proxy as curl and the AWS CLI do: `HTTPS_PROXY`/`https_proxy` for `https://`
    /// endpoints, `HTTP_PROXY`/`http_proxy` for `http://` ones, `ALL_PROXY`/`all_proxy` for
    /// either when its own is unset, and `NO_PROXY`/`no_proxy` for the hosts reached directly:
    /// comma-separated host names (each also matching its subdomains; a leading `.` is
    /// optional), IP addresses, CIDR blocks (`10.0.0.0/8`), or `*` for every host; a host name
    /// or address with a port (`localhost:9000`, `[::1]:9000`) exempts that port only (as Go's
    /// and Python's rules do; curl ignores the port). Loopback
    /// addresses are proxied unless listed, as curl and the AWS CLI do. The default.
    #[default]
    FromEnvironment,
    /// No proxy, whatever the environment says.
    Disabled,
    /// These settings, not the environment's.
    Explicit {
        /// The proxy for `http://` endpoints, e.g. `http://user:pass@proxy:3128`.
        http: Option<String>,
        /// The proxy for `https://` endpoints.
        https: Option<String>,
        /// Hosts reached directly, as `NO_PROXY`.
        no_proxy: Option<String>,
    },
}

impl ProxyConfig {
    /// One proxy for every endpoint, except the hosts of `no_proxy` (as `NO_PROXY`).
    pub fn all(url: impl Into<String>, no_proxy: Option<String>) -> Self {
        let url = url.into();
        ProxyConfig::Explicit { http: Some(url.clone()), https: Some(url), no_proxy }
    }

    /// Rejects proxy URLs no connection can use (checked again for the environment's when a
    /// client is built).
    pub fn validate(&self) -> Result<()> {
        if let ProxyConfig::Explicit { http, https, .. } = self {
            for url in [http, https].into_iter().flatten() {
                check_proxy_url(url)?;
            }
        }
        Ok(())
    }
}

/// Rejects a proxy URL that is not `http://host[:port]` (a missing scheme means `http://`).
pub(crate) fn check_proxy_url(url: &str) -> Result<()> {
    let full = if url.contains("://") { url.to_owned() } else { format!("http://{url}") };
    let parsed = url::Url::parse(&full).map_err(|e| Error::InvalidConfig(format!("proxy URL {url:?}: {e}")))?;
    if parsed.scheme() != "http" {
        return Err(Error::InvalidConfig(format!(
            "proxy URL {url:?}: only http:// proxies are supported (https:// endpoints go through them in a CONNECT tunnel)"
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::InvalidConfig(format!("proxy URL {url:?} has no host")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unusable_proxy_urls() {
        for bad in ["https://proxy:443", "socks5://proxy:1080", "http://", "http://[::1"] {
            assert!(ProxyConfig::all(bad, None).validate().is_err(), "{bad} accepted");
        }
        for good in ["http://proxy:3128", "proxy:3128", "http://user:pass@10.0.0.1:8080"] {
            ProxyConfig::all(good, None).validate().unwrap();
        }
    }
}
