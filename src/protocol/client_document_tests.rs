use super::*;
use crate::protocol::client::AuthMethod;
use serde_json::json;

const ID: &str = "https://app.example/oauth/client.json";

fn open() -> DocumentPolicy {
    DocumentPolicy::default()
}

fn dev() -> DocumentPolicy {
    DocumentPolicy {
        allow_http_loopback: true,
        hosts: vec![],
    }
}

fn why(r: OAuthResult<impl std::fmt::Debug>) -> String {
    let e = r.expect_err("refused");
    assert_eq!(e.code, ErrorCode::InvalidClient);
    e.description.into_owned()
}

#[test]
fn only_http_urls_are_document_urls() {
    assert!(is_document_url(ID));
    assert!(is_document_url("http://127.0.0.1:9/c.json"));
    assert!(!is_document_url("Zr3k9a0b1c"));
    assert!(!is_document_url("urn:example:client"));
}

#[test]
fn document_urls_follow_section_3() {
    for good in [
        ID,
        "https://app.example:8443/c",
        "https://app.example/c?v=1",
        "https://93.184.216.34/c",
    ] {
        assert!(check_document_url(good, &open()).is_ok(), "{good}");
    }
    for (bad, reason) in [
        ("http://app.example/c", "must use https"),
        ("ftp://app.example/c", "must use https"),
        ("https://app.example", "must have a path"),
        ("https://app.example/", "must have a path"),
        ("https://app.example/c#x", "fragment"),
        ("https://app.example/c#", "fragment"),
        ("https://u:p@app.example/c", "username or password"),
        ("https://u@app.example/c", "username or password"),
        ("https://app.example/a/../c", "normal form"),
        ("https://app.example/./c", "normal form"),
        ("https://APP.example/c", "normal form"),
        ("https://app.example:443/c", "normal form"),
        ("https://a b/c", "not a URL"),
        (&format!("https://app.example/{}", "c".repeat(400)), "longer than 400"),
    ] {
        let got = why(check_document_url(bad, &open()));
        assert!(got.contains(reason), "{bad}: {got}");
    }
}

#[test]
fn private_and_loopback_hosts_are_not_fetched() {
    for bad in [
        "https://127.0.0.1/c",
        "https://localhost/c",
        "https://[::1]/c",
        "https://10.1.2.3/c",
        "https://172.16.0.1/c",
        "https://192.168.1.1/c",
        "https://169.254.169.254/c",
        "https://100.64.0.1/c",
        "https://0.0.0.0/c",
        "https://127.0.0.2/c",
        "https://[fd00::1]/c",
        "https://[fe80::1]/c",
        "https://[::ffff:10.0.0.1]/c",
        "https://[2001:db8::1]/c",
        "https://api.localhost/c",
        "http://127.0.0.1:8080/c",
    ] {
        assert!(check_document_url(bad, &open()).is_err(), "{bad}");
    }
    assert!(check_document_url("https://[2606:4700::1111]/c", &open()).is_ok());
}

#[test]
fn the_development_setting_allows_loopback_only() {
    for good in [
        "http://127.0.0.1:8080/c",
        "http://localhost:8080/c",
        "http://[::1]:8080/c",
        "https://127.0.0.1/c",
    ] {
        assert!(check_document_url(good, &dev()).is_ok(), "{good}");
    }
    for bad in ["http://app.example/c", "http://10.0.0.1/c", "https://192.168.1.1/c"] {
        assert!(check_document_url(bad, &dev()).is_err(), "{bad}");
    }
}

#[test]
fn trusted_hosts_restrict_which_documents_are_fetched() {
    let policy = DocumentPolicy {
        allow_http_loopback: false,
        hosts: parse_trusted_hosts("app.example, *.clients.example").unwrap(),
    };
    for good in [ID, "https://a.clients.example/c", "https://b.a.clients.example/c"] {
        assert!(check_document_url(good, &policy).is_ok(), "{good}");
    }
    for bad in [
        "https://evil.example/c",
        "https://clients.example/c",
        "https://xclients.example/c",
        "https://app.example.evil/c",
    ] {
        assert!(
            why(check_document_url(bad, &policy)).contains("not one this server trusts"),
            "{bad}"
        );
    }
}

#[test]
fn trusted_host_settings_are_host_names() {
    assert_eq!(
        parse_trusted_hosts(" a.example  *.b.example ").unwrap(),
        ["a.example", "*.b.example"]
    );
    for bad in [
        "",
        ",",
        "https://a.example",
        "A.example",
        "a.example:443",
        "a.example/x",
        "*.",
        "a b/",
    ] {
        assert!(parse_trusted_hosts(bad).is_err(), "{bad:?}");
    }
}

fn doc(extra: Value) -> String {
    let mut base = json!({"client_id": ID, "client_name": "App", "redirect_uris": ["https://app.example/cb"]});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base.to_string()
}

#[test]
fn a_document_makes_a_public_client_with_fixed_privileges() {
    let body = doc(json!({
        "grant_types": ["authorization_code", "refresh_token"],
        "resource_server": true,
        "allowed_resources": [],
        "scope": "openid email",
    }));
    let m = parse_document(ID, &body).unwrap();
    assert_eq!(m.token_endpoint_auth_method, AuthMethod::None);
    assert_eq!(m.grant_types, [GrantType::AuthorizationCode, GrantType::RefreshToken]);
    assert!(!m.resource_server && m.allowed_resources.is_none());
    assert_eq!(m.scope.as_deref(), Some("openid email"));
    assert_eq!(m.redirect_uris, ["https://app.example/cb"]);
    assert_eq!(
        parse_document(ID, &doc(json!({"token_endpoint_auth_method": "none"}))).unwrap(),
        {
            let mut m = parse_document(ID, &doc(json!({}))).unwrap();
            m.token_endpoint_auth_method = AuthMethod::None;
            m
        }
    );
}

#[test]
fn documents_are_refused_per_section_4_1() {
    for (extra, reason) in [
        (
            json!({"client_id": "https://app.example/oauth/other.json"}),
            "client_id",
        ),
        (
            json!({"client_id": "https://app.example/oauth/client.json/"}),
            "client_id",
        ),
        (json!({"client_id": null}), "client_id"),
        (json!({"client_secret": "s"}), "client_secret"),
        (json!({"client_secret_expires_at": 0}), "client_secret_expires_at"),
        (
            json!({"token_endpoint_auth_method": "client_secret_basic"}),
            "token_endpoint_auth_method",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "token_endpoint_auth_method",
        ),
        (json!({"grant_types": ["client_credentials"]}), "client_credentials"),
        (json!({"grant_types": ["refresh_token"]}), "authorization_code"),
        (json!({"redirect_uris": []}), "redirect_uris"),
        (json!({"redirect_uris": ["https://app.example/cb#f"]}), "fragment"),
    ] {
        let got = why(parse_document(ID, &doc(extra.clone())));
        assert!(
            got.starts_with("client metadata document: ") && got.contains(reason),
            "{extra}: {got}"
        );
    }
    assert!(why(parse_document(ID, "not json")).contains("not JSON"));
    assert!(why(parse_document(ID, "[1]")).contains("not a JSON object"));
}

fn answer(status: u16, content_type: &str, cache_control: Option<&str>, body: String) -> Fetched {
    Fetched::Answer {
        status,
        content_type: Some(content_type.into()),
        cache_control: cache_control.map(str::to_owned),
        body,
    }
}

#[test]
fn answers_become_records_or_refusals() {
    let (record, ttl) = read_answer(
        ID,
        answer(
            200,
            "application/json; charset=utf-8",
            Some("max-age=600"),
            doc(json!({})),
        ),
        7,
    )
    .unwrap();
    assert_eq!(
        (record.client_id.as_str(), record.client_id_issued_at, ttl),
        (ID, 7, 600)
    );
    assert!(!record.is_confidential() && record.client_secret_hash.is_none());
    assert!(!record.verify_secret(""));
    for (fetched, reason) in [
        (answer(302, "text/html", None, String::new()), "redirect"),
        (answer(301, "application/json", None, doc(json!({}))), "redirect"),
        (answer(404, "application/json", None, doc(json!({}))), "HTTP 404"),
        (answer(200, "text/html", None, doc(json!({}))), "application/json"),
        (answer(200, "application/json", None, "{".into()), "not JSON"),
        (Fetched::TooLarge, "larger than 5120 bytes"),
        (Fetched::TimedOut, "no answer within"),
        (Fetched::Unreachable, "could not be fetched"),
    ] {
        let got = why(read_answer(ID, fetched.clone(), 0));
        assert!(got.contains(reason), "{fetched:?}: {got}");
    }
}

#[test]
fn platform_answers_deserialise() {
    let f: Fetched = serde_json::from_str(
        r#"{"kind":"answer","status":200,"content_type":null,"cache_control":"max-age=5","body":"{}"}"#,
    )
    .unwrap();
    assert_eq!(
        f,
        Fetched::Answer {
            status: 200,
            content_type: None,
            cache_control: Some("max-age=5".into()),
            body: "{}".into()
        }
    );
    let f: Fetched = serde_json::from_str(r#"{"kind":"answer","status":404,"body":""}"#).unwrap();
    assert!(matches!(
        f,
        Fetched::Answer {
            status: 404,
            content_type: None,
            ..
        }
    ));
    for (text, seen) in [
        (r#"{"kind":"timed_out"}"#, Fetched::TimedOut),
        (r#"{"kind":"too_large"}"#, Fetched::TooLarge),
        (r#"{"kind":"unreachable"}"#, Fetched::Unreachable),
    ] {
        assert_eq!(serde_json::from_str::<Fetched>(text).unwrap(), seen);
    }
    for wrong in [
        r#"{"kind":"answer","status":200}"#,
        r#"{"kind":"lost"}"#,
        r#"{"status":200}"#,
    ] {
        assert!(serde_json::from_str::<Fetched>(wrong).is_err(), "{wrong}");
    }
}

#[test]
fn cache_lifetimes_follow_cache_control_within_bounds() {
    for (header, secs) in [
        (None, DEFAULT_CACHE_SECS),
        (Some(""), DEFAULT_CACHE_SECS),
        (Some("public"), DEFAULT_CACHE_SECS),
        (Some("max-age=600"), 600),
        (Some("public, Max-Age=3600"), 3600),
        (Some("max-age=5"), MIN_CACHE_SECS),
        (Some("max-age=0"), MIN_CACHE_SECS),
        (Some("max-age=junk"), MIN_CACHE_SECS),
        (Some("max-age=99999999"), MAX_CACHE_SECS),
        (Some("no-store"), MIN_CACHE_SECS),
        (Some("max-age=600, no-cache"), MIN_CACHE_SECS),
    ] {
        assert_eq!(cache_lifetime(header), secs, "{header:?}");
    }
}

#[test]
fn loopback_only_clients_and_hosts() {
    let client = |uris: &[&str]| {
        let body = doc(json!({"redirect_uris": uris}));
        let (record, _) = read_answer(ID, answer(200, "application/json", None, body), 0).unwrap();
        record
    };
    assert!(redirects_only_to_loopback(&client(&[
        "http://127.0.0.1/cb",
        "http://localhost:3000/cb"
    ])));
    assert!(!redirects_only_to_loopback(&client(&[
        "http://127.0.0.1/cb",
        "https://app.example/cb"
    ])));
    assert_eq!(document_host(ID).as_deref(), Some("app.example"));
    assert_eq!(document_host("http://127.0.0.1:9/c").as_deref(), Some("127.0.0.1"));
    assert_eq!(document_host("Zr3k9a0b1c"), None);
}
