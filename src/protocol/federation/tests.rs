//! Provider documents, discovery, the requests we send and the answers we
//! read, claim mapping, and the error texts.

use super::discovery::{metadata_url, oauth2_metadata, parse_metadata, UpstreamMetadata};
use super::identity::{identity, link_key, merge_userinfo, parse_userinfo};
use super::provider::*;
use super::request::*;
use super::FederationError;
use crate::protocol::encoding::b64url_decode;
use crate::protocol::error::OAuthError;
use base64::Engine;
use serde_json::{json, Map, Value};
use url::Url;

const NOW: u64 = 1_700_000_000;

fn google() -> Value {
    json!({
        "id": "google", "name": "Google", "kind": "oidc",
        "issuer": "https://accounts.google.com",
        "client_id": "123.apps.googleusercontent.com", "client_secret": "s3cret",
    })
}

fn github() -> Value {
    json!({
        "id": "github", "name": "GitHub", "kind": "oauth2",
        "authorization_endpoint": "https://github.com/login/oauth/authorize",
        "token_endpoint": "https://github.com/login/oauth/access_token",
        "userinfo_endpoint": "https://api.github.com/user",
        "client_id": "Iv1.abc", "client_secret": "gh-secret",
        "scopes": ["read:user", "user:email"],
        "claims": {"sub": "id", "name": "name", "email": "email", "picture": "avatar_url",
                   "preferred_username": "login"},
    })
}

fn with(mut body: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        match v {
            Value::Null => body.as_object_mut().unwrap().remove(k),
            v => body.as_object_mut().unwrap().insert(k.clone(), v.clone()),
        };
    }
    body
}

fn stored(body: &Value) -> ProviderRecord {
    parse_provider(body, None, None, NOW)
        .unwrap()
        .into_record(Some("sealed-ciphertext".into()))
}

fn refused(body: &Value, existing: Option<&ProviderRecord>) -> OAuthError {
    parse_provider(body, None, existing, NOW).expect_err(&body.to_string())
}

#[test]
fn an_oidc_provider_gets_the_defaults() {
    let draft = parse_provider(&google(), None, None, NOW).unwrap();
    assert_eq!(draft.new_secret, Some(NewSecret::ClientSecret("s3cret".into())));
    assert_eq!(draft.record.secret, StoredSecret::None);
    let r = draft.into_record(Some("sealed".into()));
    assert_eq!(
        r.secret,
        StoredSecret::ClientSecret {
            sealed: "sealed".into()
        }
    );
    assert_eq!(
        (r.kind, r.issuer.as_deref()),
        (ProviderKind::Oidc, Some("https://accounts.google.com"))
    );
    assert_eq!(r.scopes, ["openid", "email", "profile"]);
    assert_eq!(r.token_endpoint_auth_method, UpstreamAuthMethod::ClientSecretBasic);
    assert_eq!(r.response_mode, ResponseMode::Query);
    assert!(r.enabled && !r.keep_tokens && !r.link_by_verified_email);
    assert!(r.claims.is_empty() && r.domains.is_empty());
    assert_eq!((r.created_at, r.updated_at), (NOW, NOW));
    let gh = stored(&github());
    assert_eq!(gh.claims["sub"], "id");
    assert_eq!(gh.link_issuer(), "oauth2:github");
    assert_eq!(stored(&google()).link_issuer(), "https://accounts.google.com");
}

#[test]
fn every_rule_of_the_document_is_enforced() {
    let apple = |key: &str| {
        with(
            google(),
            json!({"client_secret": null, "apple_client_secret": {"team_id": "TEAM123456", "key_id": "KEY1234567", "private_key": key}}),
        )
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), "JSON object"),
        (with(google(), json!({"scope": "openid"})), "unknown member \"scope\""),
        (with(google(), json!({"id": null})), "id is required"),
        (with(google(), json!({"id": "Google"})), "id must be"),
        (with(google(), json!({"id": "a".repeat(33)})), "id must be"),
        (with(google(), json!({"id": "a_b"})), "id must be"),
        (with(google(), json!({"id": ""})), "id must not be empty"),
        (with(google(), json!({"name": null})), "name is required"),
        (with(google(), json!({"name": "  "})), "name must not be blank"),
        (
            with(google(), json!({"name": "n".repeat(65)})),
            "name must be at most 64",
        ),
        (with(google(), json!({"name": 5})), "name must be a string"),
        (with(google(), json!({"kind": null})), "kind is required"),
        (with(google(), json!({"kind": "saml"})), "kind must be one of"),
        (with(google(), json!({"issuer": null})), "issuer is required"),
        (
            with(google(), json!({"issuer": "http://accounts.example"})),
            "issuer: \"http://accounts.example\" must use https",
        ),
        (with(google(), json!({"issuer": "https://a.example/#x"})), "fragment"),
        (with(google(), json!({"issuer": "/relative"})), "absolute URL"),
        (
            with(google(), json!({"issuer": "https://user:pw@a.example"})),
            "userinfo",
        ),
        (
            with(google(), json!({"token_endpoint": "https://a.example/token"})),
            "token_endpoint: an oidc provider's endpoints",
        ),
        (
            with(github(), json!({"userinfo_endpoint": null})),
            "userinfo_endpoint is required",
        ),
        (
            with(github(), json!({"token_endpoint": "http://github.example/t"})),
            "token_endpoint",
        ),
        (with(github(), json!({"claims": {"name": "name"}})), "must map sub"),
        (with(github(), json!({"claims": null})), "must map sub"),
        (with(google(), json!({"claims": {"sub": "oid"}})), "ID token's sub"),
        (
            with(github(), json!({"claims": {"sub": "id", "roles": "groups"}})),
            "\"roles\" cannot be mapped",
        ),
        (
            with(github(), json!({"claims": {"sub": "id", "nonce": "n"}})),
            "\"nonce\" cannot be mapped",
        ),
        (
            with(github(), json!({"claims": {"sub": ""}})),
            "must name an upstream member",
        ),
        (
            with(github(), json!({"claims": {"sub": 1}})),
            "must name an upstream member",
        ),
        (with(github(), json!({"scopes": ["read user"]})), "scope token"),
        (with(github(), json!({"scopes": ["say\"hi"]})), "scope token"),
        (with(github(), json!({"scopes": [""]})), "scope token"),
        (with(github(), json!({"scopes": "read:user"})), "array of strings"),
        (with(google(), json!({"scopes": ["email"]})), "must include openid"),
        (
            with(google(), json!({"client_secret": null})),
            "client_secret (or apple_client_secret) is required",
        ),
        (
            with(google(), json!({"client_secret": ""})),
            "client_secret must not be empty",
        ),
        (
            with(
                google(),
                json!({"apple_client_secret": {"team_id": "T", "key_id": "K", "private_key": "x"}}),
            ),
            "not both",
        ),
        (with(google(), json!({"client_id": null})), "client_id is required"),
        (
            with(google(), json!({"token_endpoint_auth_method": "private_key_jwt"})),
            "token_endpoint_auth_method must be one of",
        ),
        (
            with(google(), json!({"response_mode": "fragment"})),
            "response_mode must be one of",
        ),
        (
            with(google(), json!({"enabled": "yes"})),
            "enabled must be true or false",
        ),
        (
            with(google(), json!({"domains": ["Example.com"]})),
            "lower-case DNS name",
        ),
        (
            with(google(), json!({"domains": ["a@example.com"]})),
            "lower-case DNS name",
        ),
        (
            with(google(), json!({"domains": ["-a.example"]})),
            "lower-case DNS name",
        ),
        (
            with(google(), json!({"domains": ["a..example"]})),
            "lower-case DNS name",
        ),
        (apple("not a key"), "PKCS#8 PEM"),
        (
            apple("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"),
            "PKCS#8 PEM",
        ),
        (
            with(
                apple(EC_PEM),
                json!({"apple_client_secret": {"team_id": "T-1", "key_id": "K", "private_key": EC_PEM}}),
            ),
            "team_id",
        ),
        (
            with(
                apple(EC_PEM),
                json!({"apple_client_secret": {"key_id": "K", "private_key": EC_PEM}}),
            ),
            "team_id",
        ),
        (
            with(
                apple(EC_PEM),
                json!({"apple_client_secret": {"team_id": "T", "key_id": "K"}}),
            ),
            "private_key is required",
        ),
        (
            with(
                apple(EC_PEM),
                json!({"apple_client_secret": {"team_id": "T", "key_id": "K", "key": "x"}}),
            ),
            "unknown member \"key\"",
        ),
    ];
    for (body, expected) in cases {
        let e = refused(&body, None);
        assert_eq!(e.code.as_str(), "invalid_request");
        assert!(e.description.contains(expected), "{body}: {}", e.description);
    }
}

#[test]
fn http_is_allowed_on_loopback_hosts_only() {
    for host in ["localhost:8787", "127.0.0.1:9000", "[::1]:1"] {
        let body = with(google(), json!({"issuer": format!("http://{host}/upstream")}));
        assert!(parse_provider(&body, None, None, NOW).is_ok(), "{host}");
    }
    for host in ["127.0.0.2", "10.0.0.1", "localhost.example"] {
        let body = with(google(), json!({"issuer": format!("http://{host}/")}));
        assert!(refused(&body, None).description.contains("https"), "{host}");
    }
}

/// A P-256 key made with `openssl genpkey -algorithm EC` for these tests.
const EC_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsz9jDLD2T0Haq9yv
VsUCi2RULqGT/2GorXwd1ctZDOKhRANCAARppbEX4blUEWFFdnGz7P2zMoE2sPRF
IrLzedWUP+IbkI9mzE3xhEuArpAlJw2U0NDBFBYSygcLoqZaeqEgLtIo
-----END PRIVATE KEY-----
";
/// The same key as `openssl pkcs8 -topk8 -outform DER | base64` printed it.
const EC_DER_B64: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsz9jDLD2T0Haq9yvVsUCi2RULqGT/2GorXwd1ctZDOKhRANCAARppbEX4blUEWFFdnGz7P2zMoE2sPRFIrLzedWUP+IbkI9mzE3xhEuArpAlJw2U0NDBFBYSygcLoqZaeqEgLtIo";

fn apple_body() -> Value {
    json!({
        "id": "apple", "name": "Apple", "kind": "oidc", "issuer": "https://appleid.apple.com",
        "client_id": "com.example.signin", "token_endpoint_auth_method": "client_secret_post",
        "scopes": ["openid", "email", "name"], "response_mode": "form_post",
        "apple_client_secret": {"team_id": "TEAM123456", "key_id": "KEY1234567", "private_key": EC_PEM},
    })
}

#[test]
fn put_replaces_all_but_an_omitted_secret() {
    let first = stored(&google());
    let body = with(
        google(),
        json!({"id": null, "client_secret": null, "name": "Google Workspace"}),
    );
    let draft = parse_provider(&body, Some("google"), Some(&first), NOW + 60).unwrap();
    assert_eq!(draft.new_secret, None);
    let second = draft.into_record(None);
    assert_eq!(second.secret, first.secret);
    assert_eq!(
        (second.name.as_str(), second.created_at, second.updated_at),
        ("Google Workspace", NOW, NOW + 60)
    );
    // A new secret replaces the old one; a different id is refused.
    let draft = parse_provider(&google(), Some("google"), Some(&first), NOW).unwrap();
    assert_eq!(draft.new_secret.as_ref().map(NewSecret::plaintext), Some("s3cret"));
    let e = parse_provider(&google(), Some("gmail"), Some(&first), NOW).unwrap_err();
    assert!(e.description.contains("id cannot be changed"));
    // What GET shows can be sent back as it is, Apple's secret included.
    for body in [google(), apple_body()] {
        let first = stored(&body);
        let draft = parse_provider(&first.public_view(), Some(&first.id), Some(&first), NOW + 1).unwrap();
        assert_eq!(draft.new_secret, None, "{body}");
        let again = draft.into_record(None);
        assert_eq!(
            again,
            ProviderRecord {
                updated_at: NOW + 1,
                ..first
            }
        );
    }
    // Apple's ids without its key, when they are not the stored ones.
    let apple = stored(&apple_body());
    let other_key = with(
        apple.public_view(),
        json!({"apple_client_secret": {"team_id": "TEAM123456", "key_id": "OTHERKEY12"}}),
    );
    assert!(refused(&other_key, Some(&apple))
        .description
        .contains("private_key is required"));
}

#[test]
fn the_public_view_never_shows_a_secret() {
    let g = stored(&google());
    let view = g.public_view();
    assert_eq!(view["client_secret_set"], true);
    assert!(view.get("secret").is_none() && view.get("client_secret").is_none());
    assert_eq!(view["scopes"], json!(["openid", "email", "profile"]));
    assert_eq!(view["kind"], "oidc");
    assert!(view.get("token_endpoint").is_none());
    let apple = stored(&apple_body());
    let view = apple.public_view();
    assert_eq!(
        view["apple_client_secret"],
        json!({"team_id": "TEAM123456", "key_id": "KEY1234567"})
    );
    assert!(view.get("client_secret_set").is_none());
    for view in [g.public_view(), view] {
        assert!(!view.to_string().contains("sealed-ciphertext"), "{view}");
    }
    assert!(!format!("{:?}", parse_provider(&apple_body(), None, None, NOW).unwrap()).contains("BEGIN"));
}

#[test]
fn login_hints_match_domains_by_their_address() {
    let p = stored(&with(google(), json!({"domains": ["example.com", "corp.example"]})));
    for (hint, expected) in [
        ("jane@example.com", true),
        ("Jane@EXAMPLE.com", true),
        ("x@y@corp.example", true),
        ("jane@sub.example.com", false),
        ("jane@example.com.evil", false),
        ("@example.com", false),
        ("example.com", false),
        ("", false),
    ] {
        assert_eq!(p.matches_domain(hint), expected, "{hint}");
    }
}

fn google_metadata() -> Value {
    json!({
        "issuer": "https://accounts.google.com",
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
        "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["plain", "S256"],
    })
}

#[test]
fn discovery_documents_are_read_strictly() {
    assert_eq!(
        metadata_url("https://accounts.google.com"),
        "https://accounts.google.com/.well-known/openid-configuration"
    );
    assert_eq!(
        metadata_url("https://login.example/tenant/v2.0/"),
        "https://login.example/tenant/v2.0/.well-known/openid-configuration"
    );
    let issuer = "https://accounts.google.com";
    let meta = parse_metadata(google_metadata().to_string().as_bytes(), issuer).unwrap();
    assert_eq!(meta.issuer.as_deref(), Some(issuer));
    assert_eq!(
        meta.jwks_uri.as_deref(),
        Some("https://www.googleapis.com/oauth2/v3/certs")
    );
    assert_eq!(meta.id_token_signing_alg_values_supported, ["RS256"]);
    assert!(!meta.iss_parameter_supported);
    let rfc9207 = with(
        google_metadata(),
        json!({"authorization_response_iss_parameter_supported": true}),
    );
    assert!(
        parse_metadata(rfc9207.to_string().as_bytes(), issuer)
            .unwrap()
            .iss_parameter_supported
    );
    let cases = [
        (
            google_metadata(),
            "https://accounts.google.com/",
            "not the configured issuer",
        ),
        (
            with(google_metadata(), json!({"issuer": "https://evil.example"})),
            issuer,
            "not the configured issuer",
        ),
        (
            with(google_metadata(), json!({"issuer": null})),
            issuer,
            "issuer is missing",
        ),
        (
            with(google_metadata(), json!({"jwks_uri": null})),
            issuer,
            "jwks_uri is missing",
        ),
        (
            with(google_metadata(), json!({"token_endpoint": null})),
            issuer,
            "token_endpoint is missing",
        ),
        (
            with(
                google_metadata(),
                json!({"token_endpoint": "http://oauth2.example/token"}),
            ),
            issuer,
            "https",
        ),
        (
            with(google_metadata(), json!({"userinfo_endpoint": 7})),
            issuer,
            "not a string",
        ),
        (
            with(
                google_metadata(),
                json!({"id_token_signing_alg_values_supported": "RS256"}),
            ),
            issuer,
            "array",
        ),
        (
            with(
                google_metadata(),
                json!({"authorization_response_iss_parameter_supported": "yes"}),
            ),
            issuer,
            "boolean",
        ),
        (json!(["not", "an", "object"]), issuer, "JSON object"),
    ];
    for (doc, expected_issuer, what) in cases {
        match parse_metadata(doc.to_string().as_bytes(), expected_issuer) {
            Err(FederationError::BadResponse(why)) => assert!(why.contains(what), "{doc}: {why}"),
            other => panic!("{doc}: {other:?}"),
        }
    }
    assert!(parse_metadata(b"<html>", issuer).is_err());
}

fn query(url: &str) -> Vec<(String, String)> {
    Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

fn google_meta() -> UpstreamMetadata {
    parse_metadata(google_metadata().to_string().as_bytes(), "https://accounts.google.com").unwrap()
}

#[test]
fn authorization_urls_carry_what_each_kind_needs() {
    let redirect = "https://id.example/federation/google/callback";
    let url = authorization_url(
        &google_meta(),
        &stored(&google()),
        redirect,
        "st",
        "no",
        "ch",
        Some("a@b.c"),
    );
    assert!(url.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"));
    let expected: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", "123.apps.googleusercontent.com"),
        ("redirect_uri", redirect),
        ("scope", "openid email profile"),
        ("state", "st"),
        ("code_challenge", "ch"),
        ("code_challenge_method", "S256"),
        ("nonce", "no"),
        ("login_hint", "a@b.c"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(query(&url), expected);
    // OAuth 2.0: no nonce, no login_hint; a configured query is kept.
    let gh = stored(&with(
        github(),
        json!({"authorization_endpoint": "https://github.com/login/oauth/authorize?allow_signup=false"}),
    ));
    let url = authorization_url(&oauth2_metadata(&gh), &gh, redirect, "st", "no", "ch", Some("a@b.c"));
    let q = query(&url);
    assert_eq!(q[0], ("allow_signup".into(), "false".into()));
    assert!(q.iter().all(|(k, _)| k != "nonce" && k != "login_hint"));
    assert!(q.contains(&("scope".into(), "read:user user:email".into())));
    // No scopes: no scope parameter. Form post when configured.
    let bare = stored(&with(github(), json!({"scopes": [], "response_mode": "form_post"})));
    let q = query(&authorization_url(
        &oauth2_metadata(&bare),
        &bare,
        redirect,
        "s",
        "n",
        "c",
        None,
    ));
    assert!(q.iter().all(|(k, _)| k != "scope"));
    assert!(q.contains(&("response_mode".into(), "form_post".into())));
    for base in ["https://a.example/auth?", "https://a.example/auth?x=1&"] {
        let meta = UpstreamMetadata {
            authorization_endpoint: base.into(),
            ..google_meta()
        };
        let url = authorization_url(&meta, &bare, redirect, "s", "n", "c", None);
        assert!(url.starts_with(&format!("{base}response_type=code&")), "{url}");
    }
}

#[test]
fn the_response_issuer_is_checked_when_there_is_one() {
    let meta = google_meta();
    let rfc9207 = UpstreamMetadata {
        iss_parameter_supported: true,
        ..google_meta()
    };
    let none = oauth2_metadata(&stored(&github()));
    let g = "https://accounts.google.com";
    assert_eq!(check_response_iss(&meta, Some(g)), Ok(()));
    assert_eq!(check_response_iss(&meta, None), Ok(()));
    assert_eq!(
        check_response_iss(&meta, Some("https://evil.example")),
        Err(FederationError::MixUp)
    );
    assert_eq!(
        check_response_iss(&meta, Some("https://accounts.google.com/")),
        Err(FederationError::MixUp)
    );
    assert_eq!(check_response_iss(&rfc9207, None), Err(FederationError::MixUp));
    assert_eq!(check_response_iss(&rfc9207, Some(g)), Ok(()));
    assert_eq!(check_response_iss(&none, Some("https://anything.example")), Ok(()));
}

fn header<'a>(r: &'a TokenRequest, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

#[test]
fn token_requests_authenticate_as_configured() {
    let p = stored(&with(github(), json!({"client_id": "a:b%c é"})));
    let r = token_request(
        &oauth2_metadata(&p),
        &p,
        "https://id.example/cb",
        "the-code",
        "the-verifier",
        "s:p%+",
    );
    assert_eq!(r.url, "https://github.com/login/oauth/access_token");
    assert_eq!(header(&r, "Accept"), Some("application/json"));
    assert_eq!(header(&r, "Content-Type"), Some("application/x-www-form-urlencoded"));
    // RFC 6749 §2.3.1: form-urlencoded, then base64.
    let basic = header(&r, "Authorization").unwrap().strip_prefix("Basic ").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "a%3Ab%25c+%C3%A9:s%3Ap%25%2B");
    assert_eq!(
        form(&r.body),
        [
            ("grant_type", "authorization_code"),
            ("code", "the-code"),
            ("redirect_uri", "https://id.example/cb"),
            ("code_verifier", "the-verifier")
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    let post = stored(&with(
        github(),
        json!({"token_endpoint_auth_method": "client_secret_post"}),
    ));
    let r = token_request(&oauth2_metadata(&post), &post, "https://id.example/cb", "c", "v", "s&t");
    assert_eq!(header(&r, "Authorization"), None);
    let body = form(&r.body);
    assert!(body.contains(&("client_id".into(), "Iv1.abc".into())));
    assert!(body.contains(&("client_secret".into(), "s&t".into())));
    assert!(!format!("{r:?}").contains("s&t"));
}

#[test]
fn token_responses_and_their_errors() {
    let ok = br#"{"access_token":"at","token_type":"bearer","scope":"read:user","id_token":"x.y.z","expires_in":3599,"refresh_token":"rt"}"#;
    let t = parse_token_response(200, ok).unwrap();
    assert_eq!(
        (
            t.access_token.as_str(),
            t.token_type.as_str(),
            t.expires_in,
            t.id_token.as_deref()
        ),
        ("at", "bearer", Some(3599), Some("x.y.z"))
    );
    assert_eq!(
        (t.refresh_token.as_deref(), t.scope.as_deref()),
        (Some("rt"), Some("read:user"))
    );
    assert!(!format!("{t:?}").contains("\"at\"") && !format!("{t:?}").contains("rt\""));
    let string_expiry = parse_token_response(200, br#"{"access_token":"a","token_type":"Bearer","expires_in":"60"}"#);
    assert_eq!(string_expiry.unwrap().expires_in, Some(60));
    // GitHub answers 200 with an error body.
    let github = br#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"https://docs.github.com"}"#;
    assert_eq!(
        parse_token_response(200, github),
        Err(FederationError::Refused {
            error: "bad_verification_code".into(),
            description: Some("The code passed is incorrect or expired.".into())
        })
    );
    assert_eq!(
        parse_token_response(400, br#"{"error":"invalid_grant"}"#),
        Err(FederationError::Refused {
            error: "invalid_grant".into(),
            description: None
        })
    );
    let bad = [
        (502, &b"<html>Bad gateway</html>"[..], "not a JSON object"),
        (500, br#"{"message":"oops"}"#, "HTTP 500"),
        (200, br#"{"token_type":"Bearer"}"#, "access_token is missing"),
        (200, br#"{"access_token":"a"}"#, "token_type is missing"),
        (200, br#"{"access_token":"a","token_type":"mac"}"#, "not Bearer"),
        (
            200,
            br#"{"access_token":"a","token_type":"Bearer","expires_in":-1}"#,
            "expires_in",
        ),
        (
            200,
            br#"{"access_token":"a","token_type":"Bearer","expires_in":"soon"}"#,
            "expires_in",
        ),
    ];
    for (status, body, what) in bad {
        match parse_token_response(status, body) {
            Err(FederationError::BadResponse(why)) => assert!(why.contains(what), "{why}"),
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn apple_client_secrets_have_apples_shape_and_verify() {
    let input = apple_client_secret_input("TEAM123456", "KEY1234567", "com.example.signin", NOW);
    let (header, claims) = input.split_once('.').unwrap();
    let json = |part: &str| serde_json::from_slice::<Value>(&b64url_decode(part).unwrap()).unwrap();
    assert_eq!(json(header), json!({"alg": "ES256", "kid": "KEY1234567"}));
    assert_eq!(
        json(claims),
        json!({"iss": "TEAM123456", "iat": NOW, "exp": NOW + 300, "aud": "https://appleid.apple.com", "sub": "com.example.signin"})
    );
    let der = pem_to_pkcs8_der(EC_PEM).unwrap();
    assert_eq!(
        der,
        base64::engine::general_purpose::STANDARD.decode(EC_DER_B64).unwrap()
    );
    assert_eq!(pem_to_pkcs8_der(&EC_PEM.replace('\n', "\r\n")), Some(der));
    for bad in [
        "",
        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----",
    ] {
        assert_eq!(pem_to_pkcs8_der(bad), None, "{bad}");
    }
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn githubs_numeric_id_is_the_subject_and_nulls_are_left_out() {
    let p = stored(&github());
    let user = map(json!({
        "id": 583231, "login": "octocat", "name": null, "email": "Octocat@GitHub.com",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231", "site_admin": false,
    }));
    let id = identity(&p, &p.link_issuer(), &user).unwrap();
    assert_eq!((id.issuer.as_str(), id.subject.as_str()), ("oauth2:github", "583231"));
    assert_eq!(
        Value::Object(id.claims),
        json!({"preferred_username": "octocat", "email": "Octocat@GitHub.com",
               "picture": "https://avatars.githubusercontent.com/u/583231"})
    );
    assert_eq!(id.email.as_deref(), Some("octocat@github.com"));
    assert!(
        !id.email_verified,
        "GitHub's user endpoint does not say the address is verified"
    );
    assert_eq!(id.amr, None);
    for bad in [
        json!({"login": "x"}),
        json!({"id": ""}),
        json!({"id": 1.5}),
        json!({"id": ["1"]}),
    ] {
        assert!(matches!(
            identity(&p, "i", &map(bad)),
            Err(FederationError::BadResponse(_))
        ));
    }
}

#[test]
fn apples_string_booleans_and_the_default_mapping() {
    let p = stored(&apple_body());
    let token_claims = map(json!({
        "iss": "https://appleid.apple.com", "aud": "com.example.signin", "sub": "001234.abcd.1234",
        "nonce": "n", "auth_time": NOW, "at_hash": "h", "amr": ["pwd", "hwk"], "acr": "x",
        "email": "x7@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true",
        "updated_at": NOW, "locale": 5, "name": "Jane",
    }));
    let id = identity(&p, "https://appleid.apple.com", &token_claims).unwrap();
    assert_eq!(id.subject, "001234.abcd.1234");
    assert_eq!(
        Value::Object(id.claims.clone()),
        json!({"email": "x7@privaterelay.appleid.com", "email_verified": true, "name": "Jane"})
    );
    assert!(id.email_verified);
    assert_eq!(id.amr, Some(vec!["pwd".to_string(), "hwk".to_string()]));
    let unverified = identity(
        &p,
        "i",
        &map(json!({"sub": "s", "email": "a@b.c", "email_verified": "false"})),
    )
    .unwrap();
    assert!(!unverified.email_verified);
    assert_eq!(unverified.claims["email_verified"], false);
    let odd = identity(
        &p,
        "i",
        &map(json!({"sub": "s", "email": "a@b.c", "email_verified": 1, "amr": ["pwd", 1]})),
    );
    let odd = odd.unwrap();
    assert!(!odd.email_verified && odd.amr.is_none() && !odd.claims.contains_key("email_verified"));
}

#[test]
fn a_configured_mapping_copies_exactly_what_it_names() {
    let p = stored(&with(
        google(),
        json!({"claims": {"name": "displayName", "locale": "prefs.locale", "website": "https://example.com/site"}}),
    ));
    let upstream = map(json!({
        "sub": "s", "displayName": "Ada", "prefs": {"locale": "en-GB"}, "email": "ada@example.com",
        "https://example.com/site": "https://ada.example",
    }));
    let id = identity(&p, "i", &upstream).unwrap();
    assert_eq!(
        Value::Object(id.claims),
        json!({"name": "Ada", "locale": "en-GB", "website": "https://ada.example"})
    );
    assert_eq!(id.email, None);
    let too_big = map(json!({"sub": "s", "displayName": "x".repeat(9000)}));
    assert!(matches!(
        identity(&p, "i", &too_big),
        Err(FederationError::BadResponse(_))
    ));
}

#[test]
fn link_keys_are_hashes_that_keep_pairs_apart() {
    let k = link_key("https://accounts.google.com", "1234");
    assert_eq!(k.len(), 43);
    assert!(!k.contains("1234") && !k.contains("google"));
    assert_eq!(k, link_key("https://accounts.google.com", "1234"));
    assert_ne!(link_key("a", "bc"), link_key("ab", "c"));
    assert_ne!(k, link_key("https://accounts.google.com", "12345"));
}

#[test]
fn error_texts_are_short_and_keep_upstream_words_out_of_pages() {
    let long = "x".repeat(500);
    let refused = FederationError::Refused {
        error: "server_error".into(),
        description: Some(format!("stack trace: {long}")),
    };
    assert!(!refused.message().contains("stack trace"));
    assert!(refused.message().contains("server_error"));
    assert!(refused.log_reason().contains("stack trace") && refused.log_reason().len() < 200);
    let denied = FederationError::Refused {
        error: "access_denied".into(),
        description: None,
    };
    assert!(denied.message().contains("cancelled"));
    let bad = FederationError::BadResponse("token response: access_token is missing".into());
    assert!(!bad.message().contains("access_token") && bad.log_reason().contains("access_token"));
    let all = [
        FederationError::Unreachable,
        FederationError::TimedOut,
        bad,
        refused,
        FederationError::InvalidIdToken("nonce".into()),
        FederationError::MixUp,
    ];
    let messages: std::collections::BTreeSet<String> = all.iter().map(FederationError::message).collect();
    assert_eq!(
        messages.len(),
        all.len() - 1,
        "one message for bad answers and bad ID tokens"
    );
    assert_eq!(super::excerpt("a\nb"), "a b");
    assert_eq!(super::excerpt(&long).chars().count(), 81);
}

#[test]
fn user_info_completes_the_id_token_only_for_the_same_subject() {
    let id_token = map(json!({"sub": "s1", "email": "a@b.c", "iss": "i"}));
    let info = parse_userinfo(
        200,
        br#"{"sub":"s1","email":"other@b.c","picture":"https://p.example/a"}"#,
    )
    .unwrap();
    let merged = merge_userinfo(id_token.clone(), info).unwrap();
    assert_eq!(
        Value::Object(merged),
        json!({"sub": "s1", "email": "a@b.c", "iss": "i", "picture": "https://p.example/a"})
    );
    for other in [json!({"sub": "s2"}), json!({"sub": 1}), json!({"name": "no sub"})] {
        assert!(merge_userinfo(id_token.clone(), map(other.clone())).is_err(), "{other}");
    }
    for (status, body) in [(200, &b"[]"[..]), (401, br#"{"sub":"s1"}"#), (200, b"<html>")] {
        assert!(matches!(
            parse_userinfo(status, body),
            Err(FederationError::BadResponse(_))
        ));
    }
}
