//! The URL a channel is sent to: HTTP or HTTPS only, and shown masked (its path and query
//! often hold the token that lets anyone post).

use crate::settings::Invalid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookUrl(url::Url);

impl HookUrl {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let input = input.trim();
        if input.is_empty() {
            return Err(Invalid::new("channels.invalid.url_empty"));
        }
        let url = url::Url::parse(input)
            .map_err(|e| Invalid::with_detail("channels.invalid.url", e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::with_detail(
                "channels.invalid.scheme",
                url.scheme().to_owned(),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Invalid::with_detail("channels.invalid.url", input));
        }
        Ok(Self(url))
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `https://hooks.slack.com/…`: the scheme, host and port, never the path or query.
    pub fn masked(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(port) => format!("{}://{host}:{port}/…", self.0.scheme()),
            None => format!("{}://{host}/…", self.0.scheme()),
        }
    }

    /// This URL with `suffix` appended to its path (a ping's `/start`, `/fail`).
    pub fn with_suffix(&self, suffix: &str) -> url::Url {
        let mut url = self.0.clone();
        let path = format!("{}{suffix}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_schemes_are_refused() {
        let error = HookUrl::parse("ftp://example.com/x").unwrap_err();
        assert_eq!(error.key, "channels.invalid.scheme");
        assert_eq!(
            HookUrl::parse("not a url").unwrap_err().key,
            "channels.invalid.url"
        );
    }

    #[test]
    fn the_mask_hides_path_and_query() {
        let url = HookUrl::parse("https://hooks.slack.com/services/T0/B0/secret?x=1").unwrap();
        assert_eq!(url.masked(), "https://hooks.slack.com/…");
        let url = HookUrl::parse("http://127.0.0.1:8000/abc").unwrap();
        assert_eq!(url.masked(), "http://127.0.0.1:8000/…");
    }

    #[test]
    fn ping_suffixes_join_the_path() {
        let url = HookUrl::parse("https://hc-ping.com/uuid/").unwrap();
        assert_eq!(
            url.with_suffix("/fail").as_str(),
            "https://hc-ping.com/uuid/fail"
        );
    }
}
