use super::*;
use crate::protocol::client::parse_client_metadata;
use crate::protocol::encoding::secret_hash;
use crate::protocol::object::{self, Step};
use serde_json::json;

const NOW: u64 = 1_700_000_000;

fn terms(body: Value) -> Terms {
    parse_mint_request(&body, NOW).unwrap()
}

fn token(body: Value) -> Option<RegistrationToken> {
    Some(RegistrationToken {
        secret_hash: secret_hash("s3cret"),
        terms: terms(body),
        uses: 0,
        revoked: false,
    })
}

fn call(op: TokenOp, now: u64) -> (TokenOp, u64) {
    (op, now)
}

/// One call, as the token's object makes it.
fn step(slot: &mut Option<RegistrationToken>, (op, now): (TokenOp, u64)) -> Step<TokenReply> {
    object::step::<RegistrationTokenMachine>(slot, op, now)
}

fn next_alarm(token: Option<&RegistrationToken>, now: u64) -> Option<u64> {
    object::next_alarm::<RegistrationTokenMachine>(token, now)
}

/// A registration under the token with this metadata (`redirect_uris` added).
fn use_op(secret: &str, metadata: Value) -> TokenOp {
    let mut body = json!({ "redirect_uris": ["https://app.example/cb"] });
    for (k, v) in metadata.as_object().unwrap() {
        body[k] = v.clone();
    }
    TokenOp::Use {
        secret_hash: secret_hash(secret),
        privileges: Privileges::of(&parse_client_metadata(&body).unwrap()),
    }
}

fn refusal(step: Step<TokenReply>) -> Option<Refusal> {
    match step.reply {
        TokenReply::Refused { refusal } => Some(refusal),
        TokenReply::Ok { .. } => None,
    }
}

#[test]
fn minting_defaults_and_limits() {
    let t = terms(json!({}));
    assert_eq!(t.expires_at, NOW + DEFAULT_EXPIRES_IN);
    assert_eq!(t.max_uses, 1);
    assert_eq!(t.grant_types, DEFAULT_GRANT_TYPES.to_vec());
    assert_eq!(t.scope, None);
    let t = terms(json!({"expires_in": 60, "max_uses": 3, "grant_types": ["client_credentials"], "scope": "api"}));
    assert_eq!((t.expires_at, t.max_uses), (NOW + 60, 3));
    assert_eq!(
        (t.grant_types, t.scope.as_deref()),
        (vec![GrantType::ClientCredentials], Some("api"))
    );
    assert_eq!(
        terms(json!({"expires_in": MAX_EXPIRES_IN, "max_uses": MAX_MAX_USES})).max_uses,
        1000
    );
    for bad in [
        json!({"expires_in": 0}),
        json!({"expires_in": MAX_EXPIRES_IN + 1}),
        json!({"expires_in": -1}),
        json!({"expires_in": "60"}),
        json!({"max_uses": 0}),
        json!({"max_uses": MAX_MAX_USES + 1}),
        json!({"max_uses": 1.5}),
        json!({"grant_types": []}),
        json!({"grant_types": ["password"]}),
        json!({"grant_types": "authorization_code"}),
        json!({"scope": "a  b"}),
        json!({"scope": "a\"b"}),
        json!({"scope": "x".repeat(MAX_SCOPE_LEN + 1)}),
        json!({"max_use": 3}),
        json!([]),
        Value::Null,
    ] {
        let e = parse_mint_request(&bad, NOW).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{bad}");
    }
}

#[test]
fn the_minted_answer_shows_the_token_and_its_terms() {
    let t = terms(json!({"max_uses": 2, "scope": "openid api"}));
    let v = build_minted("abc", "abc.s3cret", &t);
    assert_eq!(
        v,
        json!({
            "id": "abc", "token": "abc.s3cret", "expires_at": NOW + DEFAULT_EXPIRES_IN, "max_uses": 2,
            "grant_types": ["authorization_code", "refresh_token"], "scope": "openid api",
        })
    );
}

#[test]
fn presented_tokens_have_the_minted_form() {
    assert_eq!(split_presented("abc_-9.s3cret"), Some(("abc_-9", "s3cret")));
    let long = format!("{}.x", "a".repeat(65));
    for bad in ["", "abc", ".s3cret", "abc.", "a/b.c", "a.b.c", "a b.c", long.as_str()] {
        assert_eq!(split_presented(bad), None, "{bad}");
    }
    assert!(is_token_id("AAAAAAAAAAAAAAAAAAAAAA"));
    assert!(!is_token_id("a%2Fb"));
}

#[test]
fn exactly_max_uses_registrations_succeed() {
    let mut slot = token(json!({"max_uses": 3}));
    for i in 0..3 {
        let s = step(&mut slot, call(use_op("s3cret", json!({})), NOW + i));
        assert_eq!(s.reply, TokenReply::Ok { registered_scope: None });
        assert!(s.changed && s.alarm_at.is_none(), "a use does not move the alarm");
    }
    assert_eq!(
        refusal(step(&mut slot, call(use_op("s3cret", json!({})), NOW))),
        Some(Refusal::UsedUp)
    );
    assert_eq!(slot.unwrap().uses, 3);
}

#[test]
fn wrong_secrets_expiry_and_revocation_refuse_without_spending() {
    let mut slot = token(json!({"expires_in": 60, "max_uses": 2}));
    let check = |secret: &str| TokenOp::Check {
        secret_hash: secret_hash(secret),
    };
    assert_eq!(
        refusal(step(&mut slot, call(use_op("wrong", json!({})), NOW))),
        Some(Refusal::Unknown)
    );
    assert_eq!(
        refusal(step(&mut slot, call(check("wrong"), NOW))),
        Some(Refusal::Unknown)
    );
    let s = step(&mut slot, call(check("s3cret"), NOW));
    assert_eq!((s.reply, s.changed), (TokenReply::Ok { registered_scope: None }, false));
    assert_eq!(
        refusal(step(&mut slot, call(use_op("s3cret", json!({})), NOW + 60))),
        Some(Refusal::Expired)
    );
    assert_eq!(slot.as_ref().unwrap().uses, 0);

    let revoked = step(&mut slot, call(TokenOp::Revoke, NOW + 1));
    assert_eq!(
        revoked.alarm_at,
        Some(NOW + 2),
        "revocation deletes the token's storage at once"
    );
    assert_eq!(
        refusal(step(&mut slot, call(use_op("s3cret", json!({})), NOW + 1))),
        Some(Refusal::Revoked)
    );
    assert_eq!(
        refusal(step(&mut slot, call(check("s3cret"), NOW + 1))),
        Some(Refusal::Revoked)
    );

    let mut none = None;
    for op in [TokenOp::Revoke, check("s3cret"), use_op("s3cret", json!({}))] {
        assert_eq!(refusal(step(&mut none, call(op, NOW))), Some(Refusal::Unknown));
    }
}

#[test]
fn metadata_beyond_the_terms_is_refused_without_spending() {
    let mut slot = token(json!({"grant_types": ["authorization_code"], "scope": "openid email"}));
    let cases = [
        (
            json!({"grant_types": ["authorization_code", "refresh_token"]}),
            Refusal::GrantTypeNotAllowed(GrantType::RefreshToken),
        ),
        (
            json!({"scope": "openid phone"}),
            Refusal::ScopeNotAllowed("phone".into()),
        ),
        (json!({"resource_server": true}), Refusal::ResourceServer),
    ];
    for (metadata, expected) in cases {
        let s = step(&mut slot, call(use_op("s3cret", metadata.clone()), NOW));
        assert!(!s.changed, "{metadata}");
        assert_eq!(refusal(s), Some(expected.clone()), "{metadata}");
        assert_eq!(expected.error().code, ErrorCode::InvalidClientMetadata);
    }
    // Within the terms: a narrower scope is kept, none gets the token's.
    let narrower = step(&mut slot, call(use_op("s3cret", json!({"scope": "email"})), NOW));
    assert_eq!(
        narrower.reply,
        TokenReply::Ok {
            registered_scope: Some("email".into())
        }
    );
    let mut slot = token(json!({"grant_types": ["authorization_code"], "scope": "openid email"}));
    let default = step(&mut slot, call(use_op("s3cret", json!({})), NOW));
    assert_eq!(
        default.reply,
        TokenReply::Ok {
            registered_scope: Some("openid email".into())
        }
    );
}

#[test]
fn a_token_without_scope_allows_the_supported_scopes() {
    let mut slot = token(json!({"max_uses": 5}));
    let ok = step(
        &mut slot,
        call(use_op("s3cret", json!({"scope": "openid profile"})), NOW),
    );
    assert_eq!(
        ok.reply,
        TokenReply::Ok {
            registered_scope: Some("openid profile".into())
        }
    );
    let s = step(&mut slot, call(use_op("s3cret", json!({"scope": "api:write"})), NOW));
    assert_eq!(refusal(s), Some(Refusal::ScopeNotAllowed("api:write".into())));
    let s = step(
        &mut slot,
        call(use_op("s3cret", json!({"grant_types": ["client_credentials"]})), NOW),
    );
    assert_eq!(
        refusal(s),
        Some(Refusal::GrantTypeNotAllowed(GrantType::ClientCredentials))
    );
}

#[test]
fn refusals_are_bearer_invalid_token() {
    for r in [Refusal::Unknown, Refusal::Revoked, Refusal::Expired, Refusal::UsedUp] {
        let e = r.error();
        assert_eq!((e.code, e.status), (ErrorCode::InvalidToken, 401));
        assert!(e
            .www_authenticate("r")
            .unwrap()
            .starts_with("Bearer realm=\"r\", error=\"invalid_token\""));
    }
}

#[test]
fn storage_goes_at_expiry() {
    let mut slot = None;
    let created = step(
        &mut slot,
        call(
            TokenOp::Create {
                token: token(json!({"expires_in": 60})).unwrap(),
            },
            NOW,
        ),
    );
    assert_eq!(created.alarm_at, Some(NOW + 61));
    assert_eq!(next_alarm(slot.as_ref(), NOW + 30), Some(NOW + 61));
    assert_eq!(next_alarm(slot.as_ref(), NOW + 61), None);
    assert_eq!(next_alarm(None, NOW), None);
}

#[test]
fn calls_and_tokens_round_trip_through_json() {
    let t = token(json!({"scope": "api"})).unwrap();
    let stored = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<RegistrationToken>(&stored).unwrap(), t);
    assert!(!stored.contains("s3cret"));
    let op = use_op("s3cret", json!({"grant_types": ["authorization_code"]}));
    let text = serde_json::to_string(&op).unwrap();
    assert!(text.contains(r#""op":"use""#), "{text}");
    assert_eq!(serde_json::from_str::<TokenOp>(&text).unwrap(), op);
    let create = TokenOp::Create { token: t };
    let text = serde_json::to_string(&create).unwrap();
    assert_eq!(serde_json::from_str::<TokenOp>(&text).unwrap(), create);
    for op in [
        TokenOp::Check {
            secret_hash: "h".into(),
        },
        TokenOp::Revoke,
    ] {
        let text = serde_json::to_string(&op).unwrap();
        assert_eq!(serde_json::from_str::<TokenOp>(&text).unwrap(), op, "{text}");
    }
    // As earlier releases write them; what is not an operation is refused.
    assert_eq!(
        serde_json::from_str::<TokenOp>(r#"{"op":"check","secret_hash":"h"}"#).unwrap(),
        TokenOp::Check {
            secret_hash: "h".into()
        }
    );
    for wrong in [r#"{"op":"check"}"#, r#"{"op":"mint"}"#, r#"{"secret_hash":"h"}"#] {
        assert!(serde_json::from_str::<TokenOp>(wrong).is_err(), "{wrong}");
    }
    let r = TokenReply::Refused {
        refusal: Refusal::GrantTypeNotAllowed(GrantType::ClientCredentials),
    };
    assert_eq!(
        serde_json::from_str::<TokenReply>(&serde_json::to_string(&r).unwrap()).unwrap(),
        r
    );
}
