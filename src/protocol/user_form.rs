//! The admin console's user forms: what a person types into them, read into
//! the same [`NewUser`] and claims the JSON API takes (`POST/PUT
//! /admin/users`), checked by the same validators with the same messages,
//! each error kept with the field it is about so that the page can show it
//! there.
//!
//! The common claims have fields of their own ([`CLAIM_FIELDS`] and the
//! `email_verified` checkbox); every other claim is edited as a JSON object
//! in the `claims` text area.

use super::params::Params;
use super::user::{validate_claims, validate_password, validate_username, NewUser};
use serde_json::{Map, Value};

/// The string claims that have a field of their own, by the claim's name.
pub const CLAIM_FIELDS: [&str; 4] = ["name", "given_name", "family_name", "email"];
/// The checkbox field of the `email_verified` claim.
pub const EMAIL_VERIFIED: &str = "email_verified";
/// The text area of the other claims.
pub const OTHER_CLAIMS: &str = "claims";

/// What was wrong with a posted form: a message per field (the field's
/// name), in the order of the form.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }
}

/// The claims of a posted form: the named fields (trimmed; an empty one is
/// no claim), `email_verified` (checked: `true`; unchecked: `false` when
/// there is an e-mail address, else no claim), and the JSON object of the
/// others, which may not repeat a claim that has a field. The whole is
/// checked by [`validate_claims`], as the API checks `claims`; its errors
/// are the text area's (only its claims can have a wrong type).
pub fn claims_from_form(params: &Params, errors: &mut FieldErrors) -> Option<Map<String, Value>> {
    let mut claims = match params.get(OTHER_CLAIMS).map(str::trim).filter(|t| !t.is_empty()) {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(other)) => other,
            _ => {
                errors.add(OTHER_CLAIMS, "claims must be a JSON object");
                return None;
            }
        },
    };
    if let Some(named) = claims
        .keys()
        .find(|k| CLAIM_FIELDS.contains(&k.as_str()) || *k == EMAIL_VERIFIED)
    {
        errors.add(OTHER_CLAIMS, format!("{named} has a field of its own above"));
        return None;
    }
    for name in CLAIM_FIELDS {
        if let Some(value) = params.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            claims.insert(name.to_owned(), value.into());
        }
    }
    if params.get(EMAIL_VERIFIED).is_some() {
        claims.insert(EMAIL_VERIFIED.to_owned(), true.into());
    } else if claims.contains_key("email") {
        claims.insert(EMAIL_VERIFIED.to_owned(), false.into());
    }
    if let Err(e) = validate_claims(&claims) {
        errors.add(OTHER_CLAIMS, e.description);
        return None;
    }
    Some(claims)
}

/// The JSON text of the claims that have no field of their own, as the
/// text area shows them (empty when there are none).
pub fn other_claims_text(claims: &Map<String, Value>) -> String {
    let other: Map<String, Value> = claims
        .iter()
        .filter(|(k, _)| !CLAIM_FIELDS.contains(&k.as_str()) && *k != EMAIL_VERIFIED)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if other.is_empty() {
        return String::new();
    }
    serde_json::to_string_pretty(&other).unwrap_or_default()
}

/// A password typed into `field`: the API's rule ([`validate_password`]).
pub fn password_from_form(params: &Params, field: &'static str, errors: &mut FieldErrors) -> Option<String> {
    let password = params.get(field).unwrap_or_default();
    match validate_password(password) {
        Ok(()) => Some(password.to_owned()),
        Err(e) => {
            errors.add(field, e.description);
            None
        }
    }
}

/// The console's "new user" form: `username`, `password` (optional:
/// without one the account is passkey-only), and the claims. Every field's
/// error at once.
pub fn new_user_from_form(params: &Params) -> Result<NewUser, FieldErrors> {
    let mut errors = FieldErrors::default();
    let username = params.get("username").unwrap_or_default().trim();
    if let Err(e) = validate_username(username) {
        errors.add("username", e.description);
    }
    let password = match params.get("password") {
        Some(_) => password_from_form(params, "password", &mut errors),
        None => None,
    };
    let claims = claims_from_form(params, &mut errors);
    match claims {
        Some(claims) if errors.is_empty() => Ok(NewUser {
            username: username.to_owned(),
            password,
            claims,
            admin: false,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::params::parse_form;
    use serde_json::json;

    fn form(body: &str) -> Params {
        parse_form(body).unwrap()
    }

    fn encoded(text: &str) -> String {
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    #[test]
    fn a_new_user_from_its_fields() {
        let new = new_user_from_form(&form(
            "username=+ada+&password=correct+horse&name=Ada+Lovelace&email=ada%40example.com&email_verified=on\
             &claims=%7B%22locale%22%3A%22en-GB%22%7D",
        ))
        .unwrap();
        assert_eq!(new.username, "ada", "trimmed");
        assert_eq!(new.password.as_deref(), Some("correct horse"));
        assert!(!new.admin, "the role is granted on its own form");
        assert_eq!(
            Value::Object(new.claims),
            json!({"name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true, "locale": "en-GB"})
        );
    }

    #[test]
    fn without_a_password_the_account_is_passkey_only() {
        let new = new_user_from_form(&form("username=pk&password=&email=pk%40example.com")).unwrap();
        assert_eq!(new.password, None);
        assert_eq!(
            Value::Object(new.claims),
            json!({"email": "pk@example.com", "email_verified": false}),
            "an address not checked as verified is unverified"
        );
        let bare = new_user_from_form(&form("username=bare")).unwrap();
        assert!(bare.claims.is_empty(), "no address: no email_verified either");
    }

    #[test]
    fn every_error_by_its_field_with_the_api_s_words() {
        let errors = new_user_from_form(&form(
            "username=no+spaces&password=short&claims=%7B%22shoe_size%22%3A42%7D",
        ))
        .unwrap_err();
        assert_eq!(
            errors.get("username"),
            Some("username must be 1 to 64 characters of letters, digits and . _ @ + -")
        );
        assert_eq!(
            errors.get("password"),
            Some("password must be 8 to 1024 characters long")
        );
        assert_eq!(
            errors.get("claims"),
            Some("unsupported claims: shoe_size (only OIDC standard claims other than sub are allowed)")
        );
        assert_eq!(errors.0.len(), 3);
        let missing = new_user_from_form(&form("name=Nobody")).unwrap_err();
        assert!(missing.get("username").is_some() && missing.get("password").is_none());
    }

    #[test]
    fn the_other_claims_must_be_an_object_of_standard_claims_without_the_named_ones() {
        for (text, error) in [
            ("[1]", "claims must be a JSON object"),
            ("{not json", "claims must be a JSON object"),
            (r#"{"email": "x@example.com"}"#, "email has a field of its own above"),
            (
                r#"{"email_verified": true}"#,
                "email_verified has a field of its own above",
            ),
            (
                r#"{"phone_number_verified": "yes"}"#,
                "claim phone_number_verified must be a boolean",
            ),
        ] {
            let mut errors = FieldErrors::default();
            let params = form(&format!("name=A&claims={}", encoded(text)));
            assert_eq!(claims_from_form(&params, &mut errors), None, "{text}");
            assert_eq!(errors.get("claims"), Some(error), "{text}");
        }
        let mut errors = FieldErrors::default();
        let claims = claims_from_form(&form("claims=++"), &mut errors).unwrap();
        assert!(claims.is_empty() && errors.is_empty(), "blank: none");
    }

    #[test]
    fn the_text_area_shows_the_claims_without_fields() {
        let claims = json!({"name": "A", "email": "a@example.com", "email_verified": true, "locale": "en", "address": {"country": "UK"}});
        let text = other_claims_text(claims.as_object().unwrap());
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"locale": "en", "address": {"country": "UK"}})
        );
        assert_eq!(other_claims_text(json!({"name": "A"}).as_object().unwrap()), "");
        // What it shows reads back to the same claims.
        let mut errors = FieldErrors::default();
        let body = format!(
            "name=A&email=a%40example.com&email_verified=on&claims={}",
            encoded(&text)
        );
        assert_eq!(claims_from_form(&form(&body), &mut errors).as_ref(), claims.as_object());
    }

    #[test]
    fn a_password_follows_the_api_s_rule() {
        let mut errors = FieldErrors::default();
        assert_eq!(
            password_from_form(&form("password=12345678"), "password", &mut errors).as_deref(),
            Some("12345678")
        );
        assert_eq!(password_from_form(&form("x=1"), "password", &mut errors), None);
        assert_eq!(
            errors.get("password"),
            Some("password must be 8 to 1024 characters long")
        );
    }
}
