//! Privileged client metadata: what a client may do and get tokens for, as
//! opposed to what it is called and where it is sent. Privilege comes from the admin, never
//! from a client: the admin token sets anything; a registration token the
//! admin minted grants what it allows (`registration_token`); a client
//! managing its own registration (RFC 7592, with its registration access
//! token) changes descriptive metadata and redirect URIs only.

use super::client::{ClientMetadata, GrantType};
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::scope::allowed_by;
use serde::{Deserialize, Serialize};

/// The members of client metadata that grant power. Anything added later
/// that grants power belongs here: both checks below destructure this
/// struct in full, so a new member does not compile until each of them
/// has decided what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privileges {
    pub grant_types: Vec<GrantType>,
    /// As registered; `None` allows every supported scope.
    pub scope: Option<String>,
    /// Public or confidential (the class of `token_endpoint_auth_method`):
    /// switching between `client_secret_basic` and `client_secret_post` is
    /// not a change of privilege.
    pub confidential: bool,
    pub resource_server: bool,
    /// What the client may get tokens for (RFC 8707); `None` allows any.
    #[serde(default)]
    pub allowed_resources: Option<Vec<String>>,
}

impl Privileges {
    pub fn of(m: &ClientMetadata) -> Self {
        Self {
            grant_types: m.grant_types.clone(),
            scope: m.scope.clone(),
            confidential: m.token_endpoint_auth_method.is_confidential(),
            resource_server: m.resource_server,
            allowed_resources: m.allowed_resources.clone(),
        }
    }

    /// The first privileged member in which `other` differs, by its wire
    /// name. Lists compare as sets, and scopes by what they allow.
    pub fn first_difference(&self, other: &Privileges) -> Option<&'static str> {
        let Privileges {
            grant_types,
            scope,
            confidential,
            resource_server,
            allowed_resources,
        } = self;
        let same_grants = same_members(grant_types, &other.grant_types);
        let same_resources = match (allowed_resources, &other.allowed_resources) {
            (Some(a), Some(b)) => same_members(a, b),
            (a, b) => a == b,
        };
        let same_scope = same_members(&allowed_by(scope.as_deref()), &allowed_by(other.scope.as_deref()));
        [
            ("grant_types", same_grants),
            ("scope", same_scope),
            ("token_endpoint_auth_method", *confidential == other.confidential),
            ("resource_server", *resource_server == other.resource_server),
            ("allowed_resources", same_resources),
        ]
        .into_iter()
        .find(|(_, same)| !same)
        .map(|(name, _)| name)
    }
}

fn same_members<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}

/// Who is changing a registration (RFC 7592 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// With `ADMIN_TOKEN`: may change anything.
    Admin,
    /// With the client's registration access token.
    Client,
}

/// RFC 7592 §2.2: the update "MUST include all client metadata fields as
/// returned to the client from a previous registration, read, or update
/// operation", and RFC 7591 §2 lets the server "reject any requested
/// client metadata values ... by returning an error response". A client
/// may not change its privileged metadata, omitting a member counting as
/// clearing it; the admin may.
pub fn check_update(manager: Manager, registered: &ClientMetadata, requested: &ClientMetadata) -> OAuthResult<()> {
    if manager == Manager::Admin {
        return Ok(());
    }
    match Privileges::of(registered).first_difference(&Privileges::of(requested)) {
        None => Ok(()),
        Some(name) => Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            format!("{name} is set by the administrator and can be changed only with the admin token"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::parse_client_metadata;
    use serde_json::{json, Value};

    const CB: &str = "https://app.example/cb";

    fn metadata(extra: Value) -> ClientMetadata {
        let mut body = json!({
            "redirect_uris": [CB],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid email",
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        parse_client_metadata(&body).unwrap()
    }

    #[test]
    fn a_client_changes_descriptive_metadata_and_redirect_uris() {
        let registered = metadata(json!({}));
        for extra in [
            json!({}),
            json!({"redirect_uris": ["https://new.example/cb"], "client_name": "Renamed"}),
            json!({"logo_uri": "https://app.example/l.png", "contacts": ["a@app.example"]}),
            json!({"post_logout_redirect_uris": ["https://app.example/bye"]}),
            // CORS origins are where its pages live, not what it may do.
            json!({"allowed_cors_origins": ["https://spa.example"]}),
            json!({"id_token_signed_response_alg": "ES256"}),
            // What it asks of a sign-in only makes its own tokens stricter.
            json!({"default_acr_values": ["phr"]}),
            // Same sets in another order; another confidential method.
            json!({"grant_types": ["refresh_token", "authorization_code"], "scope": "email openid"}),
            json!({"token_endpoint_auth_method": "client_secret_post"}),
            json!({"resource_server": false}),
            json!({"allowed_resources": null}),
        ] {
            let requested = metadata(extra.clone());
            assert_eq!(
                check_update(Manager::Client, &registered, &requested),
                Ok(()),
                "{extra}"
            );
        }
    }

    #[test]
    fn a_client_cannot_change_what_it_may_do() {
        let registered = metadata(json!({}));
        let cases = [
            (
                "grant_types",
                json!({"grant_types": ["authorization_code", "refresh_token", "client_credentials"]}),
            ),
            ("grant_types", json!({"grant_types": ["authorization_code"]})),
            // PUT replaces: an omitted member is a request to clear it.
            ("grant_types", json!({"grant_types": null})),
            ("scope", json!({"scope": "openid email phone"})),
            ("scope", json!({"scope": "openid"})),
            ("scope", json!({"scope": null})),
            (
                "token_endpoint_auth_method",
                json!({"token_endpoint_auth_method": "none"}),
            ),
            ("resource_server", json!({"resource_server": true})),
            ("allowed_resources", json!({"allowed_resources": ["urn:a"]})),
        ];
        for (member, extra) in cases {
            let requested = metadata(extra.clone());
            let e = check_update(Manager::Client, &registered, &requested).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidClientMetadata, "{extra}");
            assert_eq!(e.status, 400);
            assert!(e.description.starts_with(member), "{extra}: {}", e.description);
            assert_eq!(check_update(Manager::Admin, &registered, &requested), Ok(()), "{extra}");
        }
    }

    #[test]
    fn scopes_compare_by_what_they_allow() {
        // No `scope` allows every supported scope; spelling them out is no change.
        let open = metadata(json!({"scope": null}));
        let spelled = metadata(json!({"scope": "openid profile email address phone offline_access"}));
        assert_eq!(Privileges::of(&open).first_difference(&Privileges::of(&spelled)), None);
        let public = metadata(json!({"token_endpoint_auth_method": "none"}));
        let back = metadata(json!({"token_endpoint_auth_method": "client_secret_basic"}));
        assert_eq!(
            Privileges::of(&public).first_difference(&Privileges::of(&back)),
            Some("token_endpoint_auth_method")
        );
        // A resource server must send the flag back to keep it.
        let rs = metadata(json!({"resource_server": true}));
        let e = check_update(Manager::Client, &rs, &metadata(json!({}))).unwrap_err();
        assert!(e.description.starts_with("resource_server"));
        assert_eq!(check_update(Manager::Client, &rs, &rs), Ok(()));
        // Resources compare as sets; dropping the list would allow any.
        let limited = metadata(json!({"allowed_resources": ["urn:a", "urn:b"]}));
        let reordered = metadata(json!({"allowed_resources": ["urn:b", "urn:a"]}));
        assert_eq!(check_update(Manager::Client, &limited, &reordered), Ok(()));
        for changed in [
            json!({}),
            json!({"allowed_resources": []}),
            json!({"allowed_resources": ["urn:a"]}),
        ] {
            let e = check_update(Manager::Client, &limited, &metadata(changed.clone())).unwrap_err();
            assert!(e.description.starts_with("allowed_resources"), "{changed}");
        }
    }
}
