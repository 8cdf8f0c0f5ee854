//! The S3 endpoint URL: empty means AWS, anything else is the base URL of an
//! S3-compatible service (MinIO, Scaleway, R2, Garage, …).

use std::fmt;

use url::Url;

use super::Invalid;

/// Where the S3 API is reached; `None` inside means AWS, whose endpoint the SDK derives
/// from the region.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoint(Option<Url>);

impl Endpoint {
    /// The AWS endpoint, chosen by the SDK from the region.
    pub fn aws() -> Self {
        Self(None)
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let input = input.trim();
        if input.is_empty() {
            return Ok(Self::aws());
        }
        // `minio:9000` would parse as a URL whose scheme is `minio`: catch bare hosts first.
        if !input.contains("://") {
            let host = input.trim_start_matches('/');
            return Err(Invalid::with_detail(
                "invalid.endpoint.scheme_missing",
                format!("https://{host}"),
            ));
        }
        let url = Url::parse(input).map_err(|_| Invalid::new("invalid.endpoint.url"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::with_detail(
                "invalid.endpoint.scheme",
                url.scheme(),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Invalid::new("invalid.endpoint.host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::new("invalid.endpoint.credentials"));
        }
        let extra = trailing_part(&url);
        if !extra.is_empty() {
            return Err(Invalid::with_detail("invalid.endpoint.extra", extra));
        }
        Ok(Self(Some(url)))
    }

    /// The endpoint URL, or `None` for AWS.
    pub fn url(&self) -> Option<&Url> {
        self.0.as_ref()
    }

    pub fn is_aws(&self) -> bool {
        self.0.is_none()
    }

    /// The URL without a trailing slash (`https://s3.fr-par.scw.cloud`), or "" for AWS.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Some(url) => url.as_str().strip_suffix('/').unwrap_or(url.as_str()),
            None => "",
        }
    }
}

/// What follows the host and port: a path other than "/", a query, a fragment.
fn trailing_part(url: &Url) -> String {
    let mut extra = String::new();
    if url.path() != "/" && !url.path().is_empty() {
        extra.push_str(url.path());
    }
    if let Some(query) = url.query() {
        extra.push('?');
        extra.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        extra.push('#');
        extra.push_str(fragment);
    }
    extra
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn invalid(input: &str) -> Invalid {
        Endpoint::parse(input).unwrap_err()
    }

    #[test]
    fn empty_means_aws() {
        let endpoint = Endpoint::parse("  ").unwrap();
        assert!(endpoint.is_aws());
        assert_eq!(endpoint, Endpoint::aws());
        assert_eq!(endpoint.url(), None);
        assert_eq!(endpoint.as_str(), "");
    }

    #[test]
    fn provider_urls_are_accepted_without_trailing_slash() {
        for (input, shown) in [
            ("https://s3.fr-par.scw.cloud", "https://s3.fr-par.scw.cloud"),
            (
                "https://s3.fr-par.scw.cloud/",
                "https://s3.fr-par.scw.cloud",
            ),
            ("http://minio:9000", "http://minio:9000"),
            ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
            ("http://[::1]:3900", "http://[::1]:3900"),
            ("HTTPS://S3.Example.COM", "https://s3.example.com"),
        ] {
            let endpoint = Endpoint::parse(input).unwrap();
            assert_eq!(endpoint.as_str(), shown, "{input}");
            assert_eq!(endpoint.to_string(), shown);
            assert!(!endpoint.is_aws());
        }
    }

    #[test]
    fn url_gives_the_parsed_address() {
        let endpoint = Endpoint::parse("http://minio:9000").unwrap();
        let url = endpoint.url().unwrap();
        assert_eq!(url.host_str(), Some("minio"));
        assert_eq!(url.port(), Some(9000));
    }

    #[test]
    fn bare_host_suggests_https() {
        for (input, suggestion) in [
            ("s3.fr-par.scw.cloud", "https://s3.fr-par.scw.cloud"),
            ("minio:9000", "https://minio:9000"),
            ("localhost:9000", "https://localhost:9000"),
        ] {
            let invalid = invalid(input);
            assert_eq!(invalid.key, "invalid.endpoint.scheme_missing");
            assert_eq!(invalid.detail.as_deref(), Some(suggestion));
            assert!(invalid.message("en").contains(suggestion));
        }
    }

    #[test]
    fn other_schemes_are_refused() {
        let invalid = invalid("ftp://example.com");
        assert_eq!(invalid.key, "invalid.endpoint.scheme");
        assert_eq!(invalid.detail.as_deref(), Some("ftp"));
        assert_eq!(self::invalid("s3://bucket").key, "invalid.endpoint.scheme");
    }

    #[test]
    fn credentials_in_the_url_are_refused() {
        assert_eq!(
            invalid("https://key:secret@s3.example.com").key,
            "invalid.endpoint.credentials"
        );
        assert_eq!(
            invalid("https://key@s3.example.com").key,
            "invalid.endpoint.credentials"
        );
    }

    #[test]
    fn path_query_and_fragment_are_refused_and_shown() {
        for (input, extra) in [
            ("https://s3.example.com/bucket", "/bucket"),
            ("https://s3.example.com/?x=1", "?x=1"),
            ("https://s3.example.com#top", "#top"),
        ] {
            let invalid = invalid(input);
            assert_eq!(invalid.key, "invalid.endpoint.extra", "{input}");
            assert_eq!(invalid.detail.as_deref(), Some(extra));
        }
    }

    #[test]
    fn malformed_urls_are_refused() {
        assert_eq!(invalid("https://").key, "invalid.endpoint.url");
        assert_eq!(invalid("http://exa mple.com").key, "invalid.endpoint.url");
        assert_eq!(invalid("https://:9000").key, "invalid.endpoint.url");
    }

    proptest! {
        #[test]
        fn accepted_endpoints_parse_back_to_themselves(input in "\\PC{0,40}") {
            if let Ok(endpoint) = Endpoint::parse(&input) {
                prop_assert_eq!(Endpoint::parse(endpoint.as_str()).unwrap(), endpoint);
            }
        }

        #[test]
        fn host_and_port_make_an_endpoint(host in "[a-z][a-z0-9]{0,20}(\\.[a-z][a-z0-9]{0,10}){0,3}", port in 1u16..) {
            let endpoint = Endpoint::parse(&format!("https://{host}:{port}")).unwrap();
            prop_assert_eq!(endpoint.url().unwrap().host_str(), Some(host.as_str()));
        }
    }
}
