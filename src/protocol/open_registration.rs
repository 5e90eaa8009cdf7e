//! Open dynamic registration (`OPEN_REGISTRATION=on`): anyone may register
//! a client without an initial access token, as MCP clients expect (MCP
//! authorization 2025-06-18 §2.4: "Authorization servers ... SHOULD
//! support the OAuth 2.0 Dynamic Client Registration Protocol"). RFC 7591
//! §3 allows it: "the authorization server MAY allow for ... open
//! registration"; its §5 asks such a server to limit what those clients
//! get. What a self-registered client may do is fixed here, never taken
//! from the request: it signs people in with the code flow (and may
//! refresh), it sends them only to https or loopback redirect URIs, and it
//! carries no member only the admin sets.

use super::client::{check_web_url, ClientMetadata, GrantType};
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::throttle::{network, Policy};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Privileged members a self-registered client may not send at all, even
/// to narrow itself: they are the admin's to set (`protocol::privilege`).
/// `scope` is not among them: any scope a self-registered client could ask
/// for is offered to it anyway, and the person still consents.
const ADMIN_MEMBERS: [&str; 2] = ["resource_server", "allowed_resources"];

/// Registrations per client address (IPv4 address or IPv6 /64): ten, then
/// one more after 1 s, 2 s, 4 s … up to an hour; forgotten after an hour
/// without any.
pub const PER_ADDRESS: Policy = Policy {
    free: 10,
    base: 1,
    cap: 3_600,
    forget_after: 3_600,
};

/// The name of an address's registration throttle: its own object, apart
/// from the sign-in throttle of the same address.
pub fn throttle_key(address: &str) -> String {
    format!("register:{}", network(address))
}

/// What a stored client registered without an initial access token
/// carries (`ClientRecord::self_registered`). Only the registration sets
/// it; no metadata member can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfRegistered {
    /// RFC 7591 §5: a registration "never used" is removed. Until the
    /// client first gets a token, the record lapses at this moment (unix
    /// seconds); `None` once it has been used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unused_until: Option<u64>,
}

impl SelfRegistered {
    pub fn new(now: u64, unused_ttl: u64) -> Self {
        Self {
            unused_until: Some(now.saturating_add(unused_ttl)),
        }
    }

    pub fn lapsed(&self, now: u64) -> bool {
        self.unused_until.is_some_and(|until| now >= until)
    }
}

fn refuse(description: String) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, description)
}

/// RFC 7591 §3.2.2: "invalid_client_metadata: The value of one of the
/// client metadata fields is invalid and the server has rejected this
/// request". Checks a registration (or a self-managed update, RFC 7592)
/// of a self-registered client against the fixed limits: `body` is the
/// request as sent, `metadata` what [`super::client::parse_client_metadata`]
/// made of it.
pub fn check_limits(body: &Value, metadata: &ClientMetadata) -> OAuthResult<()> {
    if let Some(name) = ADMIN_MEMBERS
        .into_iter()
        .find(|name| body.get(name).is_some_and(|v| !v.is_null()))
    {
        return Err(refuse(format!(
            "{name} is set by the administrator and cannot be registered without an initial access token"
        )));
    }
    let allowed = [GrantType::AuthorizationCode, GrantType::RefreshToken];
    if let Some(g) = metadata.grant_types.iter().find(|g| !allowed.contains(g)) {
        return Err(refuse(format!(
            "grant type {:?} needs an initial access token; open registration allows \"authorization_code\" and \"refresh_token\"",
            g.as_str()
        )));
    }
    let uris = metadata.redirect_uris.iter().map(|u| ("redirect_uris", u));
    let logout = metadata
        .post_logout_redirect_uris
        .iter()
        .map(|u| ("post_logout_redirect_uris", u));
    for (field, uri) in uris.chain(logout) {
        check_web_url(uri).map_err(|why| {
            OAuthError::new(
                ErrorCode::InvalidRedirectUri,
                format!("{field}: {uri:?} {why} (open registration allows no private-use schemes)"),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::parse_client_metadata;
    use serde_json::json;

    fn check(body: Value) -> Result<(), (ErrorCode, String)> {
        let metadata = parse_client_metadata(&body).map_err(|e| (e.code, e.description.to_string()))?;
        check_limits(&body, &metadata).map_err(|e| (e.code, e.description.to_string()))
    }

    #[test]
    fn code_flow_clients_with_web_or_loopback_redirects_register() {
        for body in [
            json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none"}),
            json!({"redirect_uris": ["http://127.0.0.1:33418/callback"], "token_endpoint_auth_method": "none",
                   "grant_types": ["authorization_code", "refresh_token"], "scope": "openid email"}),
            json!({"redirect_uris": ["http://localhost:3000/cb"], "application_type": "native"}),
            json!({"redirect_uris": ["https://app.example/cb"], "client_name": "App",
                   "post_logout_redirect_uris": ["https://app.example/bye"], "resource_server": null}),
            // Asking for passkey sign-ins only makes the client stricter.
            json!({"redirect_uris": ["https://app.example/cb"], "default_acr_values": ["phr"]}),
        ] {
            assert_eq!(check(body.clone()), Ok(()), "{body}");
        }
    }

    #[test]
    fn privileged_and_risky_metadata_is_refused_by_name() {
        let cb = json!(["https://app.example/cb"]);
        let cases = [
            (
                ErrorCode::InvalidClientMetadata,
                "client_credentials",
                json!({"grant_types": ["client_credentials"], "redirect_uris": null}),
            ),
            (
                ErrorCode::InvalidClientMetadata,
                "client_credentials",
                json!({"grant_types": ["authorization_code", "client_credentials"], "redirect_uris": cb}),
            ),
            (
                ErrorCode::InvalidClientMetadata,
                "resource_server",
                json!({"resource_server": false, "redirect_uris": cb}),
            ),
            (
                ErrorCode::InvalidClientMetadata,
                "allowed_resources",
                json!({"allowed_resources": ["https://mcp.example/"], "redirect_uris": cb}),
            ),
            (
                ErrorCode::InvalidRedirectUri,
                "com.example.app:/cb",
                json!({"application_type": "native", "redirect_uris": ["com.example.app:/cb"]}),
            ),
            (
                ErrorCode::InvalidRedirectUri,
                "com.example.app:/bye",
                json!({"application_type": "native", "redirect_uris": cb,
                    "post_logout_redirect_uris": ["com.example.app:/bye"]}),
            ),
            // Refused by the ordinary rules already, for everyone.
            (
                ErrorCode::InvalidRedirectUri,
                "http://app.example/cb",
                json!({"redirect_uris": ["http://app.example/cb"]}),
            ),
        ];
        for (code, named, body) in cases {
            let (got, description) = check(body.clone()).unwrap_err();
            assert_eq!(got, code, "{body}");
            assert!(description.contains(named), "{body}: {description}");
        }
    }

    #[test]
    fn unused_registrations_lapse() {
        let s = SelfRegistered::new(1_000, 86_400);
        assert!(!s.lapsed(1_000 + 86_399));
        assert!(s.lapsed(1_000 + 86_400));
        let used = SelfRegistered { unused_until: None };
        assert!(!used.lapsed(u64::MAX));
        assert_eq!(serde_json::to_value(used).unwrap(), json!({}));
    }

    #[test]
    fn throttle_keys_are_per_network_and_apart_from_sign_in() {
        assert_eq!(throttle_key("203.0.113.7"), "register:203.0.113.7");
        assert_eq!(throttle_key("2001:db8:1:2::9"), throttle_key("2001:db8:1:2:ffff::1"));
        assert_eq!(throttle_key("2001:db8:1:2::9"), "register:2001:db8:1:2::/64");
        assert_eq!(PER_ADDRESS.wait_after(10), 1);
        assert_eq!(PER_ADDRESS.wait_after(9), 0);
    }
}
