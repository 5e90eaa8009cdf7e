//! Provider documents and discovery; the helpers the other test files share.

use super::discovery::{metadata_url, parse_metadata};
use super::provider::*;
use super::FederationError;
use crate::protocol::error::OAuthError;
use serde_json::{json, Value};

pub(super) const NOW: u64 = 1_700_000_000;

pub(super) fn google() -> Value {
    json!({
        "id": "google", "name": "Google", "kind": "oidc",
        "issuer": "https://accounts.google.com",
        "client_id": "123.apps.googleusercontent.com", "client_secret": "s3cret",
    })
}

pub(super) fn github() -> Value {
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

pub(super) fn with(mut body: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        match v {
            Value::Null => body.as_object_mut().unwrap().remove(k),
            v => body.as_object_mut().unwrap().insert(k.clone(), v.clone()),
        };
    }
    body
}

pub(super) fn stored(body: &Value) -> ProviderRecord {
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
pub(super) const EC_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsz9jDLD2T0Haq9yv
VsUCi2RULqGT/2GorXwd1ctZDOKhRANCAARppbEX4blUEWFFdnGz7P2zMoE2sPRF
IrLzedWUP+IbkI9mzE3xhEuArpAlJw2U0NDBFBYSygcLoqZaeqEgLtIo
-----END PRIVATE KEY-----
";
/// The same key as `openssl pkcs8 -topk8 -outform DER | base64` printed it.
pub(super) const EC_DER_B64: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsz9jDLD2T0Haq9yvVsUCi2RULqGT/2GorXwd1ctZDOKhRANCAARppbEX4blUEWFFdnGz7P2zMoE2sPRFIrLzedWUP+IbkI9mzE3xhEuArpAlJw2U0NDBFBYSygcLoqZaeqEgLtIo";

pub(super) fn apple_body() -> Value {
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

/// The stored form: what the derived `Serialize` writes, the hand-written
/// readers (`StoredSecret`, the `WireName` enums) read back.
#[test]
fn stored_providers_read_back_as_written() {
    let oauth2 = with(
        github(),
        json!({"token_endpoint_auth_method": "client_secret_post", "response_mode": "form_post"}),
    );
    let mut none = stored(&google());
    none.secret = StoredSecret::None;
    let set = ProviderSet {
        providers: vec![stored(&google()), stored(&oauth2), stored(&apple_body()), none],
    };
    let json = serde_json::to_string(&set).unwrap();
    assert_eq!(serde_json::from_str::<ProviderSet>(&json).unwrap(), set);
    let written = serde_json::to_value(&set.providers[1]).unwrap();
    assert_eq!(
        (
            &written["kind"],
            &written["token_endpoint_auth_method"],
            &written["response_mode"]
        ),
        (&json!("oauth2"), &json!("client_secret_post"), &json!("form_post"))
    );
    assert_eq!(
        written["secret"],
        json!({"client_secret": {"sealed": "sealed-ciphertext"}})
    );
    assert_eq!(serde_json::to_value(&set.providers[3].secret).unwrap(), json!("none"));
    // Every member but the optional ones is required; others are ignored.
    let mut record = serde_json::to_value(&set.providers[0]).unwrap();
    assert!(record.get("token_endpoint").is_none());
    record["later"] = json!(1);
    assert_eq!(
        serde_json::from_value::<ProviderRecord>(record.clone()).unwrap(),
        set.providers[0]
    );
    for member in ["id", "secret", "enabled", "claims", "updated_at"] {
        let mut without = record.clone();
        without.as_object_mut().unwrap().remove(member);
        assert!(serde_json::from_value::<ProviderRecord>(without).is_err(), "{member}");
    }
    fn names_round_trip<
        T: crate::protocol::object::WireName
            + serde::Serialize
            + serde::de::DeserializeOwned
            + PartialEq
            + std::fmt::Debug,
    >() {
        for (name, value) in T::NAMES {
            assert_eq!(serde_json::to_value(value).unwrap(), json!(name));
            assert_eq!(serde_json::from_value::<T>(json!(name)).unwrap(), *value);
        }
        assert!(serde_json::from_value::<T>(json!("other")).is_err());
        assert!(serde_json::from_value::<T>(json!(1)).is_err());
    }
    names_round_trip::<ProviderKind>();
    names_round_trip::<ResponseMode>();
    names_round_trip::<UpstreamAuthMethod>();
    for bad in [
        json!("sealed"),
        json!({"client_secret": "x"}),
        json!({"apple": {"team_id": "T"}}),
        json!(3),
    ] {
        assert!(serde_json::from_value::<StoredSecret>(bad.clone()).is_err(), "{bad}");
    }
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

pub(super) fn google_metadata() -> Value {
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

#[test]
fn federated_usernames_are_the_provider_and_the_upstream_subject() {
    use super::identity::federated_username;
    assert_eq!(federated_username("github", "583231").as_deref(), Some("github.583231"));
    assert_eq!(
        federated_username("apple", "001234.ab12cd.0456").as_deref(),
        Some("apple.001234.ab12cd.0456")
    );
    // Not a username: a random one is made instead.
    assert_eq!(federated_username("x", "has space"), None);
    assert_eq!(federated_username("x", &"9".repeat(64)), None);
}

#[test]
fn a_changed_address_is_unverified_unless_the_upstream_says_otherwise() {
    use super::identity::{copy_upstream_claims, email_verified};
    let obj = |v: Value| v.as_object().unwrap().clone();
    let mut account = obj(json!({"email": "a@x.example", "email_verified": true, "name": "A"}));
    assert!(email_verified(&account));
    // The same address again: its flag stands.
    copy_upstream_claims(&mut account, &obj(json!({"email": "a@x.example", "name": "Ann"})));
    assert_eq!(
        account,
        obj(json!({"email": "a@x.example", "email_verified": true, "name": "Ann"}))
    );
    // Another address, unsaid: unverified.
    copy_upstream_claims(&mut account, &obj(json!({"email": "b@x.example"})));
    assert_eq!(account["email_verified"], json!(false));
    assert!(!email_verified(&account));
    // Another address the upstream says is verified: verified.
    copy_upstream_claims(
        &mut account,
        &obj(json!({"email": "c@x.example", "email_verified": true})),
    );
    assert!(email_verified(&account));
    // A phone number likewise.
    let mut phone = obj(json!({"phone_number": "+1 555", "phone_number_verified": true}));
    copy_upstream_claims(&mut phone, &obj(json!({"phone_number": "+1 556"})));
    assert_eq!(phone["phone_number_verified"], json!(false));
}
