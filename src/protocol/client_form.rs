//! The admin console's client form: what a person types, as the RFC 7591
//! metadata the JSON API takes. The console validates the result with the
//! very parser of `POST /register` (`client::parse_metadata_fields`), so
//! both refuse the same things with the same words; each error is then
//! shown next to the field of the member it names. Every field is named
//! after its member, so the member is the field.
//!
//! Lists are typed one entry a line (`redirect_uris`, `contacts`, …) or,
//! where the specification joins them with spaces, as one line
//! (`scope`, `default_acr_values`). An empty field is an omitted member.
//! Checkboxes have names of their own (`grant_type_refresh_token`): form
//! parameters are read once each (`params`), a repeated one is refused.

use super::client::{ApplicationType, ClientMetadata, GrantType};
use super::params::Params;
use serde_json::{Map, Value};

/// Members typed one entry a line.
const LINE_LISTS: [&str; 4] = [
    "redirect_uris",
    "post_logout_redirect_uris",
    "contacts",
    "allowed_cors_origins",
];

/// Members typed as one line of text.
const TEXTS: [&str; 10] = [
    "client_name",
    "scope",
    "token_endpoint_auth_method",
    "application_type",
    "id_token_signed_response_alg",
    "client_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "default_acr_values",
];

/// The grant types the form offers, each a checkbox named
/// `grant_type_<type>` ([`grant_box`]).
pub const GRANT_TYPES: [GrantType; 3] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
];

/// The form's values, as typed (or as stored, for the edit form): what
/// the page shows again when the metadata is refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientForm {
    /// [`TEXTS`] then [`LINE_LISTS`], by name.
    values: Vec<(&'static str, String)>,
    /// The checked `grant_types`.
    pub grant_types: Vec<GrantType>,
    /// `response_types` includes `code`.
    pub response_code: bool,
    pub resource_server: bool,
    /// `allowed_resources` is a list (maybe empty: none), not absent (any).
    pub limit_resources: bool,
    pub allowed_resources: String,
}

/// Entries of a field, one a line, blank lines dropped.
fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| Value::String(l.to_owned()))
        .collect()
}

/// The name of the checkbox of `grant`.
pub fn grant_box(grant: GrantType) -> String {
    format!("grant_type_{}", grant.as_str())
}

fn checked(params: &Params, name: &str) -> bool {
    params.get(name).is_some_and(|v| !v.is_empty())
}

impl ClientForm {
    /// A new client's form: a confidential web client of the code flow,
    /// RFC 7591's defaults.
    pub fn new_client() -> Self {
        Self::from_metadata(&ClientMetadata {
            grant_types: vec![GrantType::AuthorizationCode],
            response_types: vec!["code".into()],
            ..ClientMetadata::default()
        })
    }

    /// The form as posted.
    pub fn from_params(params: &Params) -> Self {
        let value = |name| params.get(name).unwrap_or_default().to_owned();
        Self {
            values: TEXTS.iter().chain(&LINE_LISTS).map(|&n| (n, value(n))).collect(),
            grant_types: GRANT_TYPES
                .into_iter()
                .filter(|g| checked(params, &grant_box(*g)))
                .collect(),
            response_code: checked(params, "response_type_code"),
            resource_server: checked(params, "resource_server"),
            limit_resources: checked(params, "limit_resources"),
            allowed_resources: value("allowed_resources"),
        }
    }

    /// The form showing a registered client's metadata.
    pub fn from_metadata(m: &ClientMetadata) -> Self {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let texts = [
            opt(&m.client_name),
            opt(&m.scope),
            m.token_endpoint_auth_method.as_str().to_owned(),
            match m.application_type {
                ApplicationType::Web => "web".to_owned(),
                ApplicationType::Native => "native".to_owned(),
            },
            m.id_token_signed_response_alg.as_str().to_owned(),
            opt(&m.client_uri),
            opt(&m.logo_uri),
            opt(&m.policy_uri),
            opt(&m.tos_uri),
            m.default_acr_values.join(" "),
        ];
        let lists = [
            &m.redirect_uris,
            &m.post_logout_redirect_uris,
            &m.contacts,
            &m.allowed_cors_origins,
        ]
        .map(|l| l.join("\n"));
        Self {
            values: TEXTS
                .into_iter()
                .zip(texts)
                .chain(LINE_LISTS.into_iter().zip(lists))
                .collect(),
            grant_types: m.grant_types.clone(),
            response_code: m.response_types.iter().any(|r| r == "code"),
            resource_server: m.resource_server,
            limit_resources: m.allowed_resources.is_some(),
            allowed_resources: m.allowed_resources.as_deref().unwrap_or_default().join("\n"),
        }
    }

    /// The value of the text or list field `name`, as typed.
    pub fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn has_grant(&self, grant: &GrantType) -> bool {
        self.grant_types.contains(grant)
    }

    /// Whether the checkbox `name` is checked.
    pub fn is_checked(&self, name: &str) -> bool {
        match name {
            "response_type_code" => self.response_code,
            "resource_server" => self.resource_server,
            "limit_resources" => self.limit_resources,
            _ => self.grant_types.iter().any(|g| grant_box(*g) == name),
        }
    }

    /// The registration request the form stands for, with `client_id`
    /// when it updates that client (RFC 7592 §2.2 asks for it).
    pub fn to_json(&self, client_id: Option<&str>) -> Value {
        let mut m = Map::new();
        for (name, text) in &self.values {
            let text = text.trim();
            if LINE_LISTS.contains(name) {
                m.insert((*name).into(), Value::Array(lines(text)));
            } else if *name == "default_acr_values" {
                let values = text.split_whitespace().map(|v| Value::String(v.into())).collect();
                m.insert((*name).into(), Value::Array(values));
            } else if !text.is_empty() {
                m.insert((*name).into(), text.into());
            }
        }
        let grants = self.grant_types.iter().map(|g| Value::from(g.as_str())).collect();
        m.insert("grant_types".into(), Value::Array(grants));
        let responses = if self.response_code {
            vec!["code".into()]
        } else {
            vec![]
        };
        m.insert("response_types".into(), Value::Array(responses));
        m.insert("resource_server".into(), self.resource_server.into());
        if self.limit_resources {
            m.insert("allowed_resources".into(), Value::Array(lines(&self.allowed_resources)));
        }
        if let Some(id) = client_id {
            m.insert("client_id".into(), id.into());
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::{parse_client_metadata, parse_metadata_fields, AuthMethod, Invalid};
    use crate::protocol::jose::SigningAlg;
    use crate::protocol::params::parse_form;
    use serde_json::json;

    fn posted(body: &str) -> ClientForm {
        ClientForm::from_params(&parse_form(body).unwrap())
    }

    #[test]
    fn a_full_form_is_the_registration_request_it_shows() {
        let form = posted(
            "client_name=My+App&redirect_uris=https%3A%2F%2Fapp.example%2Fcb%0D%0A%0D%0A++https%3A%2F%2Fapp.example%2Fcb2+\
             &post_logout_redirect_uris=https%3A%2F%2Fapp.example%2Fbye\
             &grant_type_authorization_code=on&grant_type_refresh_token=on&response_type_code=on\
             &token_endpoint_auth_method=client_secret_post&application_type=web&scope=openid+email\
             &id_token_signed_response_alg=ES256&client_uri=https%3A%2F%2Fapp.example%2F\
             &logo_uri=&policy_uri=&tos_uri=&contacts=ops%40app.example%0Adev%40app.example\
             &default_acr_values=phr++phrh&allowed_cors_origins=&resource_server=on\
             &limit_resources=on&allowed_resources=https%3A%2F%2Fapi.example%2F",
        );
        let body = form.to_json(None);
        assert_eq!(
            body,
            json!({
                "client_name": "My App",
                "redirect_uris": ["https://app.example/cb", "https://app.example/cb2"],
                "post_logout_redirect_uris": ["https://app.example/bye"],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_post",
                "application_type": "web",
                "scope": "openid email",
                "id_token_signed_response_alg": "ES256",
                "client_uri": "https://app.example/",
                "contacts": ["ops@app.example", "dev@app.example"],
                "default_acr_values": ["phr", "phrh"],
                "allowed_cors_origins": [],
                "resource_server": true,
                "allowed_resources": ["https://api.example/"],
            })
        );
        let m = parse_client_metadata(&body).unwrap();
        assert_eq!(m.token_endpoint_auth_method, AuthMethod::ClientSecretPost);
        assert_eq!(m.id_token_signed_response_alg, SigningAlg::ES256);
        assert!(m.resource_server);
        // The edit form shows what was registered, and posts it back unchanged.
        let shown = ClientForm::from_metadata(&m);
        assert_eq!(
            shown.value("redirect_uris"),
            "https://app.example/cb\nhttps://app.example/cb2"
        );
        assert_eq!(shown.value("default_acr_values"), "phr phrh");
        assert_eq!(parse_client_metadata(&shown.to_json(None)).unwrap(), m);
    }

    #[test]
    fn a_new_form_registers_a_confidential_code_flow_client() {
        let form = ClientForm::new_client();
        assert!(form.has_grant(&GrantType::AuthorizationCode) && !form.has_grant(&GrantType::RefreshToken));
        assert!(form.response_code && !form.resource_server && !form.limit_resources);
        assert_eq!(form.value("token_endpoint_auth_method"), "client_secret_basic");
        assert_eq!(form.value("id_token_signed_response_alg"), "RS256");
        let mut body = form.to_json(None);
        body["redirect_uris"] = json!(["https://app.example/cb"]);
        let m = parse_client_metadata(&body).unwrap();
        assert_eq!(m.token_endpoint_auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(m.allowed_resources, None, "any resource unless limited");
    }

    #[test]
    fn unchecked_boxes_and_empty_fields() {
        let form =
            posted("client_name=+&scope=&token_endpoint_auth_method=none&redirect_uris=https%3A%2F%2Fa.example%2Fcb");
        let body = form.to_json(Some("c1"));
        assert_eq!(body["client_id"], "c1");
        assert!(body.get("client_name").is_none() && body.get("scope").is_none());
        assert_eq!(body["grant_types"], json!([]));
        assert_eq!(body["response_types"], json!([]));
        assert_eq!(body["resource_server"], false);
        assert!(body.get("allowed_resources").is_none());
        // Limited to nothing listed: no resource at all.
        let none = posted("limit_resources=on&allowed_resources=%0A").to_json(None);
        assert_eq!(none["allowed_resources"], json!([]));
    }

    fn errors(body: &str) -> Vec<Invalid> {
        parse_metadata_fields(&posted(body).to_json(None)).unwrap_err().0
    }

    #[test]
    fn errors_name_the_fields_they_belong_to() {
        let all = errors(
            "redirect_uris=http%3A%2F%2Fapp.example%2Fcb&grant_type_authorization_code=on&response_type_code=on\
             &logo_uri=ftp%3A%2F%2Fx&scope=a+a&token_endpoint_auth_method=private_key_jwt",
        );
        let fields: Vec<_> = all.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                Some("scope"),
                Some("token_endpoint_auth_method"),
                Some("redirect_uris"),
                Some("logo_uri")
            ]
        );
        assert_eq!(
            all[2].error.description,
            "redirect_uris: \"http://app.example/cb\" must use https (http is allowed only on loopback hosts)"
        );
        // The same words as the JSON API's first error.
        let posted_json = posted("scope=a+a").to_json(None);
        assert_eq!(all[0].error, parse_client_metadata(&posted_json).unwrap_err());
        // Boxes that disagree: the one to change.
        let cc = errors("grant_type_client_credentials=on&response_type_code=on");
        assert_eq!(cc.iter().map(|e| e.field).collect::<Vec<_>>(), [Some("response_types")]);
        let none = errors("redirect_uris=");
        assert_eq!(none[0].field, Some("grant_types"), "nothing checked: {none:?}");
    }

    #[test]
    fn every_typed_field_is_a_member_the_parser_reads() {
        // Each field typed too long is refused as that member: none is
        // dropped as unknown on the way.
        for name in TEXTS.iter().chain(&LINE_LISTS) {
            let mut form = ClientForm::new_client();
            form.values.iter_mut().find(|(n, _)| n == name).unwrap().1 = "x".repeat(2500);
            let body = form.to_json(None);
            let fields: Vec<_> = parse_metadata_fields(&body)
                .unwrap_err()
                .0
                .iter()
                .map(|e| e.field)
                .collect();
            assert!(fields.contains(&Some(*name)), "{name}: {fields:?}");
        }
    }
}
