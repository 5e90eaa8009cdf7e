//! Federated sign-in: this server as the relying party of an upstream
//! OpenID Connect provider (OIDC Core §3.1, the code flow) or of a plain
//! OAuth 2.0 one with a user-info endpoint (GitHub's kind).
//!
//! A sign-in runs in this order: [`provider`] (the admin's configuration) →
//! [`discovery`] (the upstream's metadata, or [`discovery::oauth2_metadata`]
//! from the configuration) → [`request::authorization_url`] → the callback
//! → [`request::token_request`] and [`request::parse_token_response`] → for
//! OIDC, [`id_token::parse_id_token`], [`jwks::select_key`], the platform's
//! signature check, then [`id_token::UnverifiedIdToken::check`] →
//! [`identity::identity`], which maps the upstream's claims to ours and
//! names the link ([`identity::link_key`]) that finds the local account.
//!
//! Pure like the rest of `protocol/`: the platform fetches, signs, seals
//! and reads the clock, and passes the results in.

pub mod discovery;
pub mod id_token;
pub mod identity;
pub mod jwks;
pub mod link;
pub mod provider;
pub mod request;

#[cfg(test)]
mod exchange_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod token_tests;

/// How long an excerpt of an upstream's own words may be in a message or
/// a log line: enough to recognise an error, too short to carry a body.
const EXCERPT_CHARS: usize = 80;

/// Why a federated sign-in failed. Every variant has a sentence a person
/// can read on the error page ([`message`](Self::message)) and a reason for
/// the worker log ([`log_reason`](Self::log_reason)); neither ever holds a
/// secret, and upstream text only as a short excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederationError {
    /// The platform could not connect to the upstream (DNS, TLS, refused).
    Unreachable,
    /// The upstream did not answer within the platform's short time-out.
    TimedOut,
    /// The upstream answered something we cannot use: what was wrong with it
    /// (our words: which document, which member).
    BadResponse(String),
    /// The upstream refused (RFC 6749 §4.1.2.1 / §5.2 `error`, with its
    /// `error_description` when it sent one).
    Refused { error: String, description: Option<String> },
    /// The ID token failed a check of OIDC Core §3.1.3.7: which one.
    InvalidIdToken(String),
    /// RFC 9207 / RFC 9700 §4.4: the authorization response came from (or
    /// names) another issuer than the provider this request went to.
    MixUp,
}

/// At most [`EXCERPT_CHARS`] characters of an upstream's text, controls
/// replaced, so a log line or a page stays one short line.
pub fn excerpt(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

impl FederationError {
    /// The upstream's refusal (a token endpoint's error body, or `error`
    /// in the authorization response), its words cut to an excerpt.
    pub fn refused(error: &str, description: Option<&str>) -> Self {
        Self::Refused {
            error: excerpt(error),
            description: description.map(excerpt),
        }
    }

    /// A sentence for the person, meant to follow a heading that names the
    /// provider ("Sign-in with GitHub failed"): what happened and what to do.
    pub fn message(&self) -> String {
        match self {
            Self::Unreachable => "The provider could not be reached. Try again, or sign in another way.".into(),
            Self::TimedOut => "The provider took too long to answer. Try again, or sign in another way.".into(),
            Self::BadResponse(_) | Self::InvalidIdToken(_) => {
                "The provider's answer could not be used, so you were not signed in. Try again, or sign in another way."
                    .into()
            }
            Self::Refused { error, .. } if error == "access_denied" => {
                "The sign-in was cancelled or refused at the provider. Try again, or sign in another way.".into()
            }
            Self::Refused { error, .. } => format!(
                "The provider refused the sign-in ({}). Try again, or sign in another way.",
                excerpt(error)
            ),
            Self::MixUp => {
                "The answer came from another provider than the one this sign-in went to. Start the sign-in again."
                    .into()
            }
        }
    }

    /// A reason for the worker log: the detail the page leaves out.
    pub fn log_reason(&self) -> String {
        match self {
            Self::Unreachable => "upstream unreachable".into(),
            Self::TimedOut => "upstream timed out".into(),
            Self::BadResponse(what) => format!("upstream bad response: {what}"),
            Self::Refused { error, description } => format!(
                "upstream refused: {}{}",
                excerpt(error),
                description
                    .as_deref()
                    .map(|d| format!(" ({})", excerpt(d)))
                    .unwrap_or_default()
            ),
            Self::InvalidIdToken(what) => format!("upstream ID token refused: {what}"),
            Self::MixUp => "upstream mix-up: the response's issuer is not the provider's".into(),
        }
    }
}

impl std::fmt::Display for FederationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.log_reason())
    }
}

/// A URL an upstream is reached at, from the admin or from a discovery
/// document: an absolute `https` URL (or `http` on a loopback host, for
/// development and tests), without userinfo or fragment. Returns why not.
pub fn check_endpoint(raw: &str) -> Result<(), &'static str> {
    let url = crate::protocol::client::check_web_url(raw)?;
    match url.fragment() {
        Some(_) => Err("must not contain a fragment"),
        None => Ok(()),
    }
}
