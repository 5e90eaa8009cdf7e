//! Scopes (RFC 6749 §3.3): parsing the space-delimited `scope` parameter,
//! checking a request against what may be granted, and narrowing a refresh
//! (RFC 6749 §6) to what was originally granted.

use crate::protocol::client::ClientRecord;
use crate::protocol::discovery::SCOPES_SUPPORTED;
use crate::protocol::error::{ErrorCode, OAuthError, OAuthResult};

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

/// One scope token, as a configuration lists it (RFC 6749 §3.3 grammar).
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_scope_char)
}

fn invalid_scope(description: String) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidScope, description)
}

/// RFC 6749 §3.3: "The value of the scope parameter is expressed as a list
/// of space-delimited, case-sensitive strings." Extra spaces are tolerated,
/// a repeated token is kept once (first position wins), and a token with a
/// character outside the grammar is `invalid_scope`.
pub fn parse_scope(s: &str) -> OAuthResult<Vec<String>> {
    let mut scopes: Vec<String> = Vec::new();
    for token in s.split(' ').filter(|t| !t.is_empty()) {
        if !token.bytes().all(is_scope_char) {
            return Err(invalid_scope(
                "the `scope` parameter has a character a scope may not contain".into(),
            ));
        }
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    Ok(scopes)
}

/// The wire form: tokens joined by single spaces.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Every requested scope is among the granted ones.
pub fn is_subset(requested: &[String], granted: &[String]) -> bool {
    requested.iter().all(|r| granted.contains(r))
}

/// RFC 6749 §6: the refresh request's scope "MUST NOT include any scope not
/// originally granted by the resource owner, and if omitted is treated as
/// equal to the scope originally granted by the resource owner."
pub fn narrow(requested: Option<&str>, granted: &[String]) -> OAuthResult<Vec<String>> {
    let requested = match requested {
        Some(s) => parse_scope(s)?,
        None => return Ok(granted.to_vec()),
    };
    if requested.is_empty() {
        return Ok(granted.to_vec());
    }
    match requested.iter().find(|r| !granted.contains(r)) {
        Some(extra) => Err(invalid_scope(format!("the scope `{extra}` was not originally granted"))),
        None => Ok(requested),
    }
}

/// The scopes a client may ask for: those it registered (RFC 7591 §2
/// `scope`), or else every scope this server supports.
pub fn allowed_for_client(client: &ClientRecord) -> Vec<String> {
    allowed_by(client.metadata.scope.as_deref())
}

/// The scopes a registered `scope` value allows: its own, or every scope
/// this server supports when there is none.
pub fn allowed_by(registered: Option<&str>) -> Vec<String> {
    match registered {
        // Validated at registration; a stray bad token simply allows nothing.
        Some(registered) => parse_scope(registered).unwrap_or_default(),
        None => SCOPES_SUPPORTED.iter().map(|s| s.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::parse_client_metadata;
    use serde_json::{json, Value};

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn client(extra: Value) -> ClientRecord {
        let mut body = json!({ "redirect_uris": ["https://app.example/cb"] });
        for (k, val) in extra.as_object().unwrap() {
            body[k] = val.clone();
        }
        ClientRecord {
            client_id: "c1".into(),
            client_secret_hash: None,
            registration_access_token_hash: String::new(),
            client_id_issued_at: 0,
            self_registered: None,
            metadata: parse_client_metadata(&body).unwrap(),
        }
    }

    #[test]
    fn parsing_follows_rfc_6749_section_3_3() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("openid email", Some(&["openid", "email"])),
            ("  openid   email ", Some(&["openid", "email"])),
            ("email openid email", Some(&["email", "openid"])),
            ("", Some(&[])),
            ("a!#[]~:/", Some(&["a!#[]~:/"])),
            ("open\"id", None),
            ("open\\id", None),
            ("openid\temail", None),
            ("é", None),
        ];
        for (input, want) in cases {
            match (parse_scope(input), want) {
                (Ok(got), Some(want)) => assert_eq!(got, v(want), "{input:?}"),
                (Err(e), None) => assert_eq!(e.code, ErrorCode::InvalidScope, "{input:?}"),
                (got, _) => panic!("{input:?}: unexpected {got:?}"),
            }
        }
    }

    #[test]
    fn join_and_subset() {
        assert_eq!(join(&v(&["openid", "email"])), "openid email");
        assert_eq!(join(&[]), "");
        let granted = v(&["openid", "email", "profile"]);
        assert!(is_subset(&v(&["email", "openid"]), &granted));
        assert!(is_subset(&[], &granted));
        assert!(!is_subset(&v(&["openid", "phone"]), &granted));
    }

    #[test]
    fn narrowing_never_widens() {
        let granted = v(&["openid", "email", "offline_access"]);
        assert_eq!(narrow(None, &granted).unwrap(), granted);
        assert_eq!(narrow(Some(" "), &granted).unwrap(), granted);
        assert_eq!(narrow(Some("email openid"), &granted).unwrap(), v(&["email", "openid"]));
        let e = narrow(Some("openid phone"), &granted).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        assert!(e.description.contains("`phone`"), "{}", e.description);
        assert_eq!(
            narrow(Some("bad\"scope"), &granted).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn allowed_scopes_come_from_registration_or_discovery() {
        let open = client(json!({}));
        assert_eq!(allowed_for_client(&open), v(&SCOPES_SUPPORTED));
        let narrow_client = client(json!({ "scope": "openid api:read" }));
        assert_eq!(allowed_for_client(&narrow_client), v(&["openid", "api:read"]));
    }
}
