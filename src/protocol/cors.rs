//! CORS (the Fetch standard's CORS protocol) for the endpoints a
//! browser-based app calls from its own pages: `/token`, `/revoke` and
//! `/userinfo`. OIDC Core §5.3: "The UserInfo Endpoint SHOULD support the
//! use of Cross Origin Resource Sharing (CORS)", and OAuth 2.0 for
//! Browser-Based Apps has the page itself redeem codes and refresh tokens.
//! Which origins may read an answer is the client's to register
//! (`ClientRecord::allows_origin`); this module holds the protocol's values.

use url::Url;

/// The request headers a page may send: `Authorization` (Basic client
/// authentication, Bearer tokens), `Content-Type` (JSON bodies are not
/// CORS-safelisted), `DPoP` (RFC 9449 proofs). `Authorization` must be
/// named: the Fetch standard never lets `*` cover it.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, DPoP";

/// The response headers a page may read beyond the safelisted ones: the
/// Bearer challenge says why a token was refused (RFC 6750 §3), and
/// `Retry-After` when to register again (open registration's rate limit).
pub const EXPOSE_HEADERS: &str = "WWW-Authenticate, Retry-After";

/// Seconds a browser may reuse a preflight's answer (Chromium caps it at
/// two hours).
pub const MAX_AGE: &str = "7200";

/// The ASCII serialisation of a URL's origin (RFC 6454 §6.2,
/// `scheme://host[:port]`, lower-case host, no default port), which is what
/// a browser sends in `Origin`; `None` for an opaque origin, such as a
/// native app's private-use scheme has.
pub fn origin_of(url: &Url) -> Option<String> {
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(raw: &str) -> Option<String> {
        origin_of(&Url::parse(raw).unwrap())
    }

    #[test]
    fn origins_serialise_as_browsers_send_them() {
        assert_eq!(of("https://App.Example/cb?x#y").as_deref(), Some("https://app.example"));
        assert_eq!(of("https://app.example:443/cb").as_deref(), Some("https://app.example"));
        assert_eq!(
            of("https://app.example:8443/").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(of("http://127.0.0.1:5173/cb").as_deref(), Some("http://127.0.0.1:5173"));
        assert_eq!(of("http://[::1]:80/cb").as_deref(), Some("http://[::1]"));
        assert_eq!(of("com.example.app:/cb"), None);
    }
}
