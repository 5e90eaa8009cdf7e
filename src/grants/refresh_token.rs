//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2), and the ID token it returns (OIDC Core §12.2).

use super::mint::{mint, SignedIn, Subject};
use super::{compose_token, grant_for_tokens, split_token, Site};
use crate::protocol::client::ClientRecord;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::OAuthResult;
use crate::protocol::grant::{GrantOp, RefreshRotation, Refusal};
use crate::protocol::resource::narrow;
use crate::protocol::scope::parse_scope;
use crate::protocol::token::RefreshRequest;
use crate::protocol::user::UserRevocation;
use crate::random;
use crate::store::{GrantStore, RecordStore, TokenSigner};
use serde_json::Value;

/// Rotates `refresh_token` and mints new tokens. The grant checks the
/// token, its client, its lifetimes and the scope, and swaps in the new
/// token's hash, all in one step: of concurrent refreshes one wins.
pub async fn refresh(
    grants: &dyn GrantStore,
    users: &dyn RecordStore<UserRevocation>,
    signer: &dyn TokenSigner,
    site: &Site<'_>,
    client: &ClientRecord,
    request: &RefreshRequest,
) -> OAuthResult<Value> {
    let RefreshRequest {
        refresh_token,
        scope,
        resources,
    } = request;
    let (grant_id, secret) = split_token(refresh_token).ok_or_else(|| Refusal::Mismatch.error())?;
    // A blank `scope` is no narrowing (as in `scope::narrow`), not a request
    // for a token without any scope.
    let requested_scopes = scope.as_deref().map(parse_scope).transpose()?.filter(|s| !s.is_empty());
    let new_secret = random::token();
    let rotation = RefreshRotation {
        requested_scopes: requested_scopes.clone(),
        resources: resources.clone(),
        presented_hash: secret_hash(secret),
        new_hash: secret_hash(&new_secret),
        client_id: client.client_id.clone(),
        idle_ttl: site.config.refresh_token_idle_ttl,
        access_token_exp: site.now + site.config.access_token_ttl,
    };
    let issued = grant_for_tokens(grants, users, grant_id, GrantOp::RotateRefresh(rotation), site.now).await?;
    let grant = &issued.grant;
    let scopes = requested_scopes.unwrap_or_else(|| grant.scopes.clone());
    // OIDC Core §12.2: the new ID token keeps `auth_time` (and `amr`, `acr`)
    // of the original authentication and carries no `nonce`.
    let subject = Subject {
        sub: &grant.sub,
        client,
        scopes: &scopes,
        signed_in: Some(SignedIn::of(grant)),
        nonce: None,
        sid: grant.sid.as_deref(),
        grant_id: Some(grant_id),
        resources: narrow(resources, &grant.resources).map_err(|_| Refusal::ResourceExceeded.error())?,
    };
    let new_token = compose_token(grant_id, &new_secret);
    let minted = mint(signer, site, &subject, Some(&new_token)).await;
    issued.answer(minted).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, RefreshTokenPolicy};
    use crate::grants::authorization_code::{exchange, issue_code};
    use crate::grants::testing::{
        claims_of, client, code_key, confidential_client, deleted_users, revoked_grants, session, user, withdrawn,
        FakeSigner, Unreachable,
    };
    use crate::protocol::authorize::{AuthorizationRequest, Prompt};
    use crate::protocol::error::ErrorCode;
    use crate::protocol::session::SessionRecord;
    use crate::protocol::token::CodeExchange;
    use crate::store::memory::MemoryGrants;
    use futures::executor::block_on;
    use serde_json::json;

    static CONFIG: std::sync::LazyLock<Config> = std::sync::LazyLock::new(|| Config {
        refresh_token_policy: RefreshTokenPolicy::Always,
        ..Config::default()
    });

    fn site(now: u64) -> Site<'static> {
        Site {
            issuer: "https://op.example",
            config: &CONFIG,
            now,
        }
    }

    /// A redeemed grant's first refresh token.
    fn first_refresh(grants: &MemoryGrants) -> String {
        first_refresh_for(grants, &[])
    }

    fn first_refresh_for(grants: &MemoryGrants, resources: &[&str]) -> String {
        first_refresh_signed_in(grants, resources, &[], session(990))["refresh_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The code exchange's token response of a grant asking for
    /// `acr_values`, from a sign-in by `session`.
    fn first_refresh_signed_in(
        grants: &MemoryGrants,
        resources: &[&str],
        acr_values: &[&str],
        session: SessionRecord,
    ) -> Value {
        let req = AuthorizationRequest {
            client_id: "client-1".into(),
            redirect_uri: "https://rp.example/cb".into(),
            scopes: vec!["openid".into(), "email".into()],
            state: None,
            nonce: Some("n".into()),
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            resources: resources.iter().map(|r| r.to_string()).collect(),
            acr_values: acr_values.iter().map(|a| a.to_string()).collect(),
            idp: None,
        };
        let code = issue_code(grants, &code_key(), &site(1000), &req, &user(), &session).unwrap();
        let c = confidential_client();
        block_on(exchange(
            grants,
            &code_key(),
            &deleted_users(false),
            &FakeSigner,
            &site(1001),
            &c,
            CodeExchange {
                code,
                redirect_uri: Some(req.redirect_uri),
                code_verifier: None,
                resources: Vec::new(),
            },
        ))
        .unwrap()
    }

    fn request(token: &str, scope: Option<&str>, resources: &[&str]) -> RefreshRequest {
        RefreshRequest {
            refresh_token: token.into(),
            scope: scope.map(Into::into),
            resources: resources.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn refresh_at(grants: &MemoryGrants, token: &str, scope: Option<&str>, now: u64) -> OAuthResult<Value> {
        block_on(refresh(
            grants,
            &deleted_users(false),
            &FakeSigner,
            &site(now),
            &confidential_client(),
            &request(token, scope, &[]),
        ))
    }

    #[test]
    fn rotates_and_returns_an_oidc_12_2_id_token() {
        let grants = MemoryGrants::default();
        let rt1 = first_refresh(&grants);
        let body = refresh_at(&grants, &rt1, None, 2000).unwrap();
        let rt2 = body["refresh_token"].as_str().unwrap();
        assert_ne!(rt1, rt2);
        assert_eq!(body["scope"], "openid email");
        let (_, _, id) = claims_of(body["id_token"].as_str().unwrap());
        assert_eq!((id["auth_time"].clone(), id["iat"].clone()), (json!(990), json!(2000)));
        assert!(id.get("nonce").is_none());
        assert_eq!(refresh_at(&grants, rt2, None, 2001).unwrap()["scope"], "openid email");
    }

    #[test]
    fn every_refreshed_id_token_keeps_the_amr_and_acr_of_the_sign_in() {
        let grants = MemoryGrants::default();
        let passkey = SessionRecord {
            amr: vec!["hwk".into(), "user".into()],
            ..session(990)
        };
        let how = |body: &Value| {
            let (_, _, id) = claims_of(body["id_token"].as_str().unwrap());
            (id["amr"].clone(), id.get("acr").cloned())
        };
        let expected = (json!(["hwk", "user"]), Some(json!("phr")));
        let mut body = first_refresh_signed_in(&grants, &[], &["phr"], passkey);
        assert_eq!(how(&body), expected, "code exchange");
        for now in [2000, 3000] {
            body = refresh_at(&grants, body["refresh_token"].as_str().unwrap(), None, now).unwrap();
            assert_eq!(how(&body), expected, "refresh at {now}");
        }
        let rt = first_refresh(&grants);
        let password = refresh_at(&grants, &rt, None, 2000).unwrap();
        assert_eq!(how(&password), (json!(["pwd"]), None), "no acr unless asked");
    }

    #[test]
    fn a_refresh_asks_for_the_same_resources_or_fewer() {
        let grants = MemoryGrants::default();
        let rt1 = first_refresh_for(&grants, &["urn:a", "urn:b"]);
        let with = |token: &str, resources: &[&str], now| {
            block_on(refresh(
                &grants,
                &deleted_users(false),
                &FakeSigner,
                &site(now),
                &confidential_client(),
                &request(token, None, resources),
            ))
        };
        let e = with(&rt1, &["urn:c"], 2000).unwrap_err();
        assert_eq!((e.code, e.status), (ErrorCode::InvalidTarget, 400));
        let narrowed = with(&rt1, &["urn:b"], 2001).expect("a refused refresh does not rotate");
        let (_, _, at) = claims_of(narrowed["access_token"].as_str().unwrap());
        assert_eq!(at["aud"], json!(["urn:b", "https://op.example/userinfo"]));
        let all = with(narrowed["refresh_token"].as_str().unwrap(), &[], 2002).unwrap();
        let (_, _, at) = claims_of(all["access_token"].as_str().unwrap());
        assert_eq!(at["aud"], json!(["urn:a", "urn:b", "https://op.example/userinfo"]));
    }

    #[test]
    fn reuse_revokes_every_later_token() {
        let grants = MemoryGrants::default();
        let rt1 = first_refresh(&grants);
        let rt2 = refresh_at(&grants, &rt1, None, 2000).unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            refresh_at(&grants, &rt1, None, 2001).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            refresh_at(&grants, &rt2, None, 2002).unwrap_err().description,
            Refusal::Revoked.description()
        );
    }

    #[test]
    fn scope_narrows_but_never_widens_and_client_is_bound() {
        let grants = MemoryGrants::default();
        let rt1 = first_refresh(&grants);
        assert_eq!(
            refresh_at(&grants, &rt1, Some("openid profile"), 2000)
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
        let narrowed = refresh_at(&grants, &rt1, Some("openid"), 2001).unwrap();
        assert_eq!(narrowed["scope"], "openid");
        let other = client(
            json!({"redirect_uris": ["https://rp.example/cb"], "grant_types": ["authorization_code", "refresh_token"]}),
        );
        let other = crate::protocol::client::ClientRecord {
            client_id: "client-2".into(),
            ..other
        };
        let rt2 = narrowed["refresh_token"].as_str().unwrap();
        let e = block_on(refresh(
            &grants,
            &deleted_users(false),
            &FakeSigner,
            &site(2002),
            &other,
            &request(rt2, None, &[]),
        ))
        .unwrap_err();
        assert_eq!(e.description, Refusal::WrongClient.description());
    }

    #[test]
    fn a_deleted_users_refresh_token_yields_nothing() {
        let grants = MemoryGrants::default();
        let rt1 = first_refresh(&grants);
        let refused = block_on(refresh(
            &grants,
            &deleted_users(true),
            &FakeSigner,
            &site(2000),
            &confidential_client(),
            &request(&rt1, None, &[]),
        ))
        .unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidGrant);
        assert_eq!(refused.description, "the user of this grant has been deleted");
    }

    /// A refresh at 2000 of `token` with `revocations` in force.
    fn refresh_with(
        grants: &MemoryGrants,
        revocations: crate::store::memory::MemoryStore<UserRevocation>,
        token: &str,
    ) -> OAuthResult<serde_json::Value> {
        block_on(refresh(
            grants,
            &revocations,
            &FakeSigner,
            &site(2000),
            &confidential_client(),
            &request(token, None, &[]),
        ))
    }

    #[test]
    fn revoking_a_users_grants_ends_chains_signed_in_before_it() {
        let grants = MemoryGrants::default();
        let rt1 = first_refresh(&grants);
        // The sign-in behind this chain was at 990 (`session(990)`): a
        // revocation before it does not touch the chain, one at it ends it.
        let body = refresh_with(&grants, revoked_grants(989), &rt1).unwrap();
        let rt2 = body["refresh_token"].as_str().unwrap();
        let refused = refresh_with(&grants, revoked_grants(990), rt2).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidGrant);
        assert_eq!(refused.description, "the grants of this user have been revoked");
    }

    #[test]
    fn withdrawing_consent_ends_that_clients_chains_made_before_it() {
        let grants = MemoryGrants::default();
        let rt1 = first_refresh(&grants);
        // The grant was made at 1000 for client-1: another client's
        // withdrawal, or one before the grant, leaves it standing.
        let body = refresh_with(&grants, withdrawn("client-2", 2000), &rt1).unwrap();
        let rt2 = body["refresh_token"].as_str().unwrap().to_string();
        let body = refresh_with(&grants, withdrawn("client-1", 999), &rt2).unwrap();
        let rt3 = body["refresh_token"].as_str().unwrap();
        let refused = refresh_with(&grants, withdrawn("client-1", 1000), rt3).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidGrant);
        assert_eq!(refused.description, "the user has withdrawn this client's access");
    }

    #[test]
    fn a_token_rotated_by_a_refresh_that_then_failed_rotates_once_more_and_only_once() {
        let grants = MemoryGrants::default();
        let users = deleted_users(false);
        let refresh_with = |users: &dyn RecordStore<UserRevocation>, signer: &dyn TokenSigner, token: &str| {
            block_on(refresh(
                &grants,
                users,
                signer,
                &site(2000),
                &confidential_client(),
                &request(token, None, &[]),
            ))
        };
        for (revocations, signer) in [
            (
                &Unreachable as &dyn RecordStore<UserRevocation>,
                &FakeSigner as &dyn TokenSigner,
            ),
            (&users, &Unreachable),
        ] {
            let rt = first_refresh(&grants);
            let failed = refresh_with(revocations, signer, &rt).unwrap_err();
            assert_eq!((failed.code, failed.status), (ErrorCode::TemporarilyUnavailable, 503));
            let next = refresh_with(&users, &FakeSigner, &rt).expect("the retry rotates it");
            let replay = refresh_with(&users, &FakeSigner, &rt).unwrap_err();
            assert_eq!(replay.description, Refusal::Replayed.description());
            let after = refresh_with(&users, &FakeSigner, next["refresh_token"].as_str().unwrap());
            assert!(after.is_err(), "the reuse revoked the grant");
        }
    }
}
