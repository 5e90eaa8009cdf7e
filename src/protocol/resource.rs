//! Resource indicators (RFC 8707): the protected resources an access token
//! is meant for. A client names them with `resource` at `/authorize` (kept
//! in the grant), at the code exchange and refresh (the same or fewer), and
//! with `client_credentials`; the access token's `aud` carries them.

use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::params::list_setting;
use url::Url;

/// So that one request cannot bloat the tokens we sign and the grants we store.
const MAX_RESOURCES: usize = 10;
const MAX_RESOURCE_LEN: usize = 2000;

fn invalid_target(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description.into())
}

/// RFC 8707 §2: "The value of the resource parameter MUST be an absolute
/// URI, as specified by Section 4.3 of [RFC3986], which MAY include a query
/// component, but MUST NOT include a fragment component." A URI is ASCII
/// without spaces (RFC 3986 §2). Returns why not.
pub fn check_uri(raw: &str) -> Result<(), &'static str> {
    if raw.len() > MAX_RESOURCE_LEN {
        return Err("is longer than 2000 characters");
    }
    if !raw.bytes().all(|b| b.is_ascii_graphic()) || Url::parse(raw).is_err() {
        return Err("is not an absolute URI");
    }
    if raw.contains('#') {
        return Err("must not contain a fragment");
    }
    Ok(())
}

/// A request's `resource` values (RFC 8707 §2: "the resource parameter
/// MAY be included multiple times"), each checked, a repeated one kept once.
/// Any bad value is `invalid_target`: "The requested resource is invalid,
/// missing, unknown, or malformed."
pub fn parse_resources(values: &[String]) -> OAuthResult<Vec<String>> {
    let mut resources: Vec<String> = Vec::new();
    for raw in values {
        check_uri(raw).map_err(|why| invalid_target(format!("resource {why}")))?;
        if !resources.contains(raw) {
            resources.push(raw.clone());
        }
    }
    if resources.len() > MAX_RESOURCES {
        return Err(invalid_target(format!(
            "at most {MAX_RESOURCES} resources may be requested"
        )));
    }
    Ok(resources)
}

/// Whether an allow-list entry allows `resource`. An entry ending in `/`
/// allows every URI beneath it, any other only itself. Both are compared
/// in their parsed form, so that letter case, default ports and dot
/// segments (`/api/../admin`) cannot slip a resource past an entry.
fn entry_allows(entry: &str, resource: &str) -> bool {
    let (Ok(e), Ok(r)) = (Url::parse(entry), Url::parse(resource)) else {
        return false;
    };
    match entry.ends_with('/') {
        true => r.as_str().starts_with(e.as_str()),
        false => r.as_str() == e.as_str(),
    }
}

fn listed(list: &[String], resource: &str) -> bool {
    list.iter().any(|entry| entry_allows(entry, resource))
}

/// The resources a client may ask for: those the deployment allows
/// (`ALLOWED_RESOURCES`; empty allows any) and the client's registration
/// allows (`allowed_resources`; absent allows any, empty none).
pub fn check_allowed(resources: &[String], deployment: &[String], client: Option<&[String]>) -> OAuthResult<()> {
    let refused =
        |r: &&String| (!deployment.is_empty() && !listed(deployment, r)) || client.is_some_and(|c| !listed(c, r));
    match resources.iter().find(refused) {
        Some(r) => Err(invalid_target(format!(
            "the resource `{r}` is not allowed for this client"
        ))),
        None => Ok(()),
    }
}

/// RFC 8707 §2.2: at the token endpoint a client may ask for a token for
/// some of the resources it was authorized for; one it was not authorized
/// for is `invalid_target`. Asking for none means all that were authorized.
/// `Err` carries the first resource outside the grant.
pub fn narrow<'a>(requested: &'a [String], granted: &'a [String]) -> Result<&'a [String], &'a str> {
    match requested.iter().find(|r| !granted.contains(r)) {
        Some(outside) => Err(outside),
        None if requested.is_empty() => Ok(granted),
        None => Ok(requested),
    }
}

/// Where our own userinfo endpoint is, as an audience.
pub fn userinfo_audience(issuer: &str) -> String {
    format!("{issuer}/userinfo")
}

/// The access token's `aud`. RFC 9068 §3: "If the request includes a
/// resource parameter (as defined in [RFC8707]), the resulting JWT access
/// token aud claim SHOULD have the same value as the resource parameter in
/// the request"; we add our userinfo endpoint when the token carries
/// `openid`, so `/userinfo` keeps serving it. Without resources it is our
/// userinfo endpoint alone, the one resource we know (RFC 9068 §3: "the
/// authorization server MUST use a default resource indicator").
pub fn audience(issuer: &str, resources: &[String], scopes: &[String]) -> Vec<String> {
    let mut aud = resources.to_vec();
    if aud.is_empty() || scopes.iter().any(|s| s == "openid") {
        aud.push(userinfo_audience(issuer));
    }
    aud
}

/// `ALLOWED_RESOURCES`: absolute URIs (an entry ending in `/` allows every
/// URI beneath it), separated by commas or whitespace. Says which entry is
/// malformed.
pub fn parse_allow_list(text: &str) -> Result<Vec<String>, String> {
    let entries = list_setting(text);
    if entries.is_empty() {
        return Err("lists no URI".into());
    }
    match entries.iter().find_map(|e| check_uri(e).err().map(|why| (e, why))) {
        Some((entry, why)) => Err(format!("entry {entry:?} {why}")),
        None => Ok(entries),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn resources_are_absolute_uris_without_fragment() {
        for good in [
            "https://mcp.example.com/mcp",
            "https://mcp.example.com",
            "https://api.example/v1?tenant=a",
            "urn:example:api",
            "http://127.0.0.1:3000/mcp",
        ] {
            assert_eq!(check_uri(good), Ok(()), "{good}");
        }
        let not_absolute = Err("is not an absolute URI");
        let cases = [
            ("/mcp", not_absolute),
            ("mcp.example.com", not_absolute),
            ("https://", not_absolute),
            (" https://a.example", not_absolute),
            ("https://a.example/a b", not_absolute),
            ("https://exämple.com", not_absolute),
            ("https://a.example/#x", Err("must not contain a fragment")),
            ("https://a.example#", Err("must not contain a fragment")),
        ];
        for (bad, want) in cases {
            assert_eq!(check_uri(bad), want, "{bad}");
        }
        assert!(check_uri(&format!("https://a.example/{}", "x".repeat(2000))).is_err());
    }

    #[test]
    fn parsing_keeps_each_resource_once_and_refuses_bad_ones() {
        let got = parse_resources(&v(&["urn:a", "https://b.example", "urn:a"])).unwrap();
        assert_eq!(got, v(&["urn:a", "https://b.example"]));
        assert_eq!(parse_resources(&[]).unwrap(), Vec::<String>::new());
        let e = parse_resources(&v(&["urn:a", "relative/path"])).unwrap_err();
        assert_eq!((e.code, e.status), (ErrorCode::InvalidTarget, 400));
        assert_eq!(e.description, "resource is not an absolute URI");
        let many: Vec<String> = (0..11).map(|i| format!("urn:r{i}")).collect();
        assert_eq!(parse_resources(&many).unwrap_err().code, ErrorCode::InvalidTarget);
        assert!(parse_resources(&many[..10]).is_ok());
    }

    #[test]
    fn allow_lists_of_uris_and_prefixes() {
        let list = v(&["https://mcp.example.com/mcp", "https://api.example/tenants/", "urn:x"]);
        let allowed = |r: &str| check_allowed(&v(&[r]), &list, None).is_ok();
        for yes in [
            "https://mcp.example.com/mcp",
            "HTTPS://MCP.example.com:443/mcp",
            "https://api.example/tenants/a",
            "https://api.example/tenants/a/b?c",
            "urn:x",
        ] {
            assert!(allowed(yes), "{yes}");
        }
        for no in [
            "https://mcp.example.com/mcp/more",
            "https://mcp.example.com",
            "https://api.example/tenants",
            "https://api.example/tenants/../admin",
            "https://api.example/tenants/%2e%2e/admin",
            "https://api.example/tenantsx/a",
            "https://api.example.evil/tenants/a",
            "urn:xy",
        ] {
            assert!(!allowed(no), "{no}");
        }
        // An entry without a trailing slash: only itself, with or without the root path.
        let host = v(&["https://a.example"]);
        assert!(check_allowed(&v(&["https://a.example/"]), &host, None).is_ok());
        assert!(check_allowed(&v(&["https://a.example/x"]), &host, None).is_err());
    }

    #[test]
    fn the_deployment_and_the_client_both_limit() {
        let (a, b) = (v(&["urn:a"]), v(&["urn:b"]));
        let ab = v(&["urn:a", "urn:b"]);
        assert!(check_allowed(&ab, &[], None).is_ok(), "no list allows any");
        assert!(
            check_allowed(&[], &a, Some(&[])).is_ok(),
            "asking for none is always fine"
        );
        assert!(check_allowed(&a, &ab, Some(&a)).is_ok());
        let e = check_allowed(&ab, &ab, Some(&a)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidTarget);
        assert_eq!(e.description, "the resource `urn:b` is not allowed for this client");
        assert!(check_allowed(&b, &a, None).is_err(), "the deployment's list");
        assert!(
            check_allowed(&a, &[], Some(&[])).is_err(),
            "an empty client list allows none"
        );
    }

    #[test]
    fn the_token_endpoint_asks_for_the_same_or_less() {
        let granted = v(&["urn:a", "urn:b"]);
        assert_eq!(narrow(&[], &granted), Ok(granted.as_slice()));
        assert_eq!(narrow(&v(&["urn:b"]), &granted), Ok(&v(&["urn:b"])[..]));
        assert_eq!(narrow(&v(&["urn:b", "urn:c"]), &granted), Err("urn:c"));
        assert_eq!(narrow(&v(&["urn:a"]), &[]), Err("urn:a"));
        assert_eq!(narrow(&[], &[]), Ok(&[][..]));
    }

    #[test]
    fn audience_keeps_userinfo_for_openid_tokens() {
        const ISS: &str = "https://op.example";
        let openid = v(&["openid", "email"]);
        assert_eq!(audience(ISS, &[], &[]), v(&["https://op.example/userinfo"]));
        assert_eq!(audience(ISS, &[], &openid), v(&["https://op.example/userinfo"]));
        assert_eq!(audience(ISS, &v(&["urn:a"]), &v(&["read"])), v(&["urn:a"]));
        assert_eq!(
            audience(ISS, &v(&["urn:a", "urn:b"]), &openid),
            v(&["urn:a", "urn:b", "https://op.example/userinfo"])
        );
    }

    #[test]
    fn allow_list_setting() {
        assert_eq!(
            parse_allow_list(" https://a.example/mcp, urn:b\nhttps://c.example/ ").unwrap(),
            v(&["https://a.example/mcp", "urn:b", "https://c.example/"])
        );
        assert_eq!(parse_allow_list(" , ").unwrap_err(), "lists no URI");
        assert_eq!(
            parse_allow_list("https://a.example, /relative").unwrap_err(),
            "entry \"/relative\" is not an absolute URI"
        );
        assert!(parse_allow_list("https://a.example/#f").is_err());
    }
}
