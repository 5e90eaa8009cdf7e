//! The client credentials grant (RFC 6749 §4.4): an access token for the
//! client itself, with no user, no ID token and no refresh token (§4.4.3:
//! "A refresh token SHOULD NOT be included").

use super::mint::{mint, Subject};
use super::Site;
use crate::protocol::client::ClientRecord;
use crate::protocol::error::OAuthResult;
use crate::protocol::resource::check_allowed;
use crate::protocol::scope::{narrow, parse_scope};
use crate::store::TokenSigner;
use serde_json::Value;

/// Scopes are limited to those the client registered (`scope` metadata);
/// without a `scope` parameter it gets all of them. RFC 8707 resources are
/// limited by the allow-lists (`ALLOWED_RESOURCES`, `allowed_resources`).
pub async fn issue(
    signer: &dyn TokenSigner,
    site: &Site<'_>,
    client: &ClientRecord,
    scope: Option<&str>,
    resources: &[String],
) -> OAuthResult<Value> {
    let registered = parse_scope(client.metadata.scope.as_deref().unwrap_or_default())?;
    let scopes = narrow(scope, &registered)?;
    check_allowed(
        resources,
        &site.config.allowed_resources,
        client.metadata.allowed_resources.as_deref(),
    )?;
    let subject = Subject {
        sub: &client.client_id,
        client,
        scopes: &scopes,
        signed_in: None,
        nonce: None,
        sid: None,
        grant_id: None,
        resources,
    };
    Ok(mint(signer, site, &subject, None).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::grants::testing::{claims_of, client, FakeSigner};
    use crate::protocol::error::ErrorCode;
    use futures::executor::block_on;
    use serde_json::json;

    fn issue_for(scope: Option<&str>) -> OAuthResult<Value> {
        issue_with(&Config::default(), json!({}), scope, &[])
    }

    fn issue_with(config: &Config, extra: Value, scope: Option<&str>, resources: &[&str]) -> OAuthResult<Value> {
        let site = Site {
            issuer: "https://op.example",
            config,
            now: 100,
        };
        let mut metadata = json!({"grant_types": ["client_credentials"], "scope": "read write"});
        for (k, v) in extra.as_object().unwrap() {
            metadata[k] = v.clone();
        }
        let resources: Vec<String> = resources.iter().map(|r| r.to_string()).collect();
        block_on(issue(&FakeSigner, &site, &client(metadata), scope, &resources))
    }

    #[test]
    fn access_token_only_for_the_client_itself() {
        let body = issue_for(Some("read")).unwrap();
        assert_eq!(body["scope"], "read");
        assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
        let (_, typ, at) = claims_of(body["access_token"].as_str().unwrap());
        assert_eq!(typ, "at+jwt");
        assert_eq!(
            (at["sub"].clone(), at["client_id"].clone()),
            (json!("client-1"), json!("client-1"))
        );
        assert!(at.get("gid").is_none());
        assert_eq!(at["aud"], "https://op.example/userinfo", "no resource: as before");
    }

    #[test]
    fn resources_become_the_audience_within_the_allow_lists() {
        let body = issue_with(
            &Config::default(),
            json!({}),
            None,
            &["https://api.example/v1", "urn:b"],
        )
        .unwrap();
        let (_, _, at) = claims_of(body["access_token"].as_str().unwrap());
        assert_eq!(
            at["aud"],
            json!(["https://api.example/v1", "urn:b"]),
            "no openid, no userinfo"
        );
        let limited = json!({"allowed_resources": ["https://api.example/v1"]});
        assert!(issue_with(&Config::default(), limited.clone(), None, &["https://api.example/v1"]).is_ok());
        let e = issue_with(&Config::default(), limited, None, &["urn:b"]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidTarget);
        let deployment = Config {
            allowed_resources: vec!["https://api.example/".into()],
            ..Config::default()
        };
        assert!(issue_with(&deployment, json!({}), None, &["https://api.example/v1"]).is_ok());
        let e = issue_with(&deployment, json!({}), None, &["urn:b"]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidTarget);
    }

    #[test]
    fn scopes_are_limited_to_the_registration() {
        assert_eq!(issue_for(None).unwrap()["scope"], "read write");
        assert_eq!(issue_for(Some("admin")).unwrap_err().code, ErrorCode::InvalidScope);
    }
}
