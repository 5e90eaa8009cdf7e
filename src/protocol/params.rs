//! Request parameters from a query string, a form body or a JSON body, as one
//! map. RFC 6749 §3.1 / §3.2: "Request and response parameters MUST NOT be
//! included more than once", and parameters sent without a value MUST be
//! treated as if omitted. The one exception is RFC 8707 §2 `resource`,
//! which "MAY be included multiple times".

use super::error::{invalid_request, OAuthResult};
use percent_encoding::percent_decode_str;
use serde_json::Value;
use std::collections::HashMap;

/// Parameters that may be repeated, each value counting (RFC 8707 §2).
const MULTI_VALUED: [&str; 1] = ["resource"];

fn is_multi_valued(name: &str) -> bool {
    MULTI_VALUED.contains(&name)
}

/// Parameters by name. A repeated parameter keeps its first value and is
/// remembered, so a caller can decide how to answer: the authorization
/// endpoint must first learn where it may redirect before it reports one.
/// A multi-valued one keeps every value, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Params {
    values: HashMap<String, Vec<String>>,
    repeated: Vec<String>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// Every value of a multi-valued parameter (`resource`), in order.
    pub fn get_all(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn require(&self, name: &'static str) -> OAuthResult<&str> {
        self.get(name)
            .ok_or_else(|| invalid_request(format!("the `{name}` parameter is required")))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn is_repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name)
    }

    /// The strict reading, for every endpoint but `/authorize`.
    pub fn reject_repeated(self) -> OAuthResult<Params> {
        match self.repeated.first() {
            Some(name) => Err(invalid_request(format!("the `{name}` parameter is repeated"))),
            None => Ok(self),
        }
    }

    fn insert(&mut self, name: String, value: String) {
        if value.is_empty() {
            return;
        }
        match self.values.entry(name) {
            std::collections::hash_map::Entry::Occupied(mut e) if is_multi_valued(e.key()) => e.get_mut().push(value),
            std::collections::hash_map::Entry::Occupied(e) => self.repeated.push(e.key().clone()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(vec![value]);
            }
        }
    }
}

fn decode(part: &str) -> OAuthResult<String> {
    let spaced = part.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| invalid_request("parameters must be UTF-8"))
}

/// `application/x-www-form-urlencoded` (also a URL's query string),
/// keeping note of repeated parameters.
pub fn parse_form_lenient(body: &str) -> OAuthResult<Params> {
    let mut params = Params::default();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(decode(k)?, decode(v)?);
    }
    Ok(params)
}

/// `application/x-www-form-urlencoded`, refusing repeated parameters.
pub fn parse_form(body: &str) -> OAuthResult<Params> {
    parse_form_lenient(body)?.reject_repeated()
}

/// A JSON object body whose members are strings (numbers and booleans are
/// taken as their text; objects are not parameters, and arrays only of
/// strings for a multi-valued parameter: its values).
pub fn parse_json_params(body: &Value) -> OAuthResult<Params> {
    let obj = body
        .as_object()
        .ok_or_else(|| invalid_request("the JSON body must be an object"))?;
    let mut params = Params::default();
    for (k, v) in obj {
        let not_text = || invalid_request(format!("the `{k}` parameter must be a string"));
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            Value::Array(items) if is_multi_valued(k) => {
                for item in items {
                    params.insert(k.clone(), item.as_str().ok_or_else(not_text)?.to_owned());
                }
                continue;
            }
            _ => return Err(not_text()),
        };
        params.insert(k.clone(), text);
    }
    Ok(params)
}

/// A percent-encoded URL path segment (RFC 3986 §3.3), decoded: `%40` is
/// `@`, and `+` stays `+` (only forms use it for a space). `None` when the
/// result is not UTF-8 or is empty.
pub fn decode_path_segment(segment: &str) -> Option<String> {
    percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
        .filter(|s| !s.is_empty())
}

/// The parts of an absolute URL in its WHATWG serialisation (as the runtime
/// hands it over: lower-case scheme and host, no default port, `?` and `#`
/// only as delimiters). Nothing is decoded.
#[derive(Debug, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `scheme://host[:port]`
    pub origin: &'a str,
    /// At least `/`.
    pub path: &'a str,
    /// Without its `?`; empty when there is none.
    pub query: &'a str,
}

pub fn url_parts(url: &str) -> UrlParts<'_> {
    let host_start = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[host_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| host_start + i);
    let (origin, rest) = url.split_at(path_start);
    let rest = rest.split('#').next().unwrap_or_default();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    UrlParts {
        origin,
        path: if path.is_empty() { "/" } else { path },
        query,
    }
}

/// The entries of a list setting, separated by commas or whitespace
/// (`ALLOWED_RESOURCES`, `CLIENT_ID_DOCUMENT_HOSTS`).
pub fn list_setting(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_settings_split_on_commas_and_whitespace() {
        assert_eq!(list_setting(" a, b\tc\n,,d "), ["a", "b", "c", "d"]);
        assert!(list_setting(" , ").is_empty());
    }
    use crate::protocol::ErrorCode;
    use serde_json::json;

    #[test]
    fn form_decoding() {
        let p =
            parse_form("grant_type=authorization_code&redirect_uri=https%3A%2F%2Fa.b%2Fcb&scope=openid+email&empty=")
                .unwrap();
        assert_eq!(p.get("grant_type"), Some("authorization_code"));
        assert_eq!(p.get("redirect_uri"), Some("https://a.b/cb"));
        assert_eq!(p.get("scope"), Some("openid email"));
        assert!(!p.contains("empty"), "empty values count as omitted");
    }

    #[test]
    fn repeated_parameters_are_rejected() {
        let e = parse_form("scope=a&scope=b").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.description.contains("scope"));
        let lenient = parse_form_lenient("a=1&a=2&b=3").unwrap();
        assert!(lenient.is_repeated("a") && !lenient.is_repeated("b"));
        assert_eq!(lenient.get("a"), Some("1"));
    }

    #[test]
    fn resource_may_be_repeated() {
        let p = parse_form("resource=https%3A%2F%2Fa.example&resource=urn%3Ab&resource=").unwrap();
        assert_eq!(p.get_all("resource"), ["https://a.example", "urn:b"]);
        assert_eq!(p.get("resource"), Some("https://a.example"));
        assert!(!p.is_repeated("resource"));
        assert!(p.get_all("scope").is_empty());
        let j = parse_json_params(&json!({"resource": ["https://a.example", "urn:b"]})).unwrap();
        assert_eq!(j.get_all("resource"), ["https://a.example", "urn:b"]);
        assert_eq!(
            parse_json_params(&json!({"resource": "urn:b"}))
                .unwrap()
                .get_all("resource"),
            ["urn:b"]
        );
        assert!(parse_json_params(&json!({"resource": [1]})).is_err());
    }

    #[test]
    fn invalid_utf8_is_a_client_error() {
        assert_eq!(parse_form("a=%FF%FE").unwrap_err().code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn json_bodies() {
        let p = parse_json_params(&json!({"grant_type": "client_credentials", "n": 5, "x": null})).unwrap();
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("n"), Some("5"));
        assert!(!p.contains("x"));
        assert!(parse_json_params(&json!({"scope": ["a"]})).is_err());
        assert!(parse_json_params(&json!([1])).is_err());
    }

    #[test]
    fn path_segments() {
        assert_eq!(decode_path_segment("a+b%40x.y").as_deref(), Some("a+b@x.y"));
        assert_eq!(decode_path_segment("plain").as_deref(), Some("plain"));
        assert_eq!(decode_path_segment("%C3%A9").as_deref(), Some("é"));
        assert_eq!(decode_path_segment("%FF"), None);
        assert_eq!(decode_path_segment(""), None);
    }

    #[test]
    fn require_names_the_missing_parameter() {
        let e = Params::default().require("code").unwrap_err();
        assert_eq!(e.description, "the `code` parameter is required");
    }

    #[test]
    fn url_parts_split_without_decoding() {
        let p = url_parts("https://op.example:8443/register/a%40b?x=1&y#frag");
        assert_eq!(
            p,
            UrlParts {
                origin: "https://op.example:8443",
                path: "/register/a%40b",
                query: "x=1&y"
            }
        );
        let bare = url_parts("http://127.0.0.1:8787");
        assert_eq!((bare.origin, bare.path, bare.query), ("http://127.0.0.1:8787", "/", ""));
        let q = url_parts("http://h?q=1");
        assert_eq!((q.origin, q.path, q.query), ("http://h", "/", "q=1"));
    }
}
