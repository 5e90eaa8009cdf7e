//! One grant: everything issued from one authorization (its code, its
//! refresh token chain, its revocation), as a state machine without I/O.
//! The grant's Durable Object and the in-memory store both run exactly this
//! code, one operation at a time, so "use once" and "rotate once" are
//! decided here and nowhere else.

use super::acr::password_amr;
use super::encoding::ct_eq;
use super::object::{Machine, Tagged};
use super::pkce;
use super::resource::narrow;
use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// How many superseded refresh tokens a grant remembers to recognise reuse.
/// An older one presented is merely invalid, not proof of theft.
const REMEMBERED_REFRESH_TOKENS: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeBinding {
    pub hash: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub expires_at: u64,
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshState {
    pub current_hash: String,
    pub previous_hashes: Vec<String>,
    pub last_used_at: u64,
    /// The absolute end of the chain, whatever its use.
    pub expires_at: u64,
    /// The idle lifetime in force at the last use: the chain also ends this
    /// long after it, so its storage need not wait for `expires_at`. Zero
    /// in grants stored before it was kept.
    #[serde(default)]
    pub idle_ttl: u64,
}

impl RefreshState {
    /// When the chain can no longer be used, by the lifetimes it knows.
    fn ends_at(&self) -> u64 {
        match self.idle_ttl {
            0 => self.expires_at,
            idle => self.expires_at.min(self.last_used_at.saturating_add(idle)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    pub sub: String,
    pub scopes: Vec<String>,
    /// The user's claims when the grant was made, for `/userinfo`.
    pub claims: Map<String, Value>,
    pub auth_time: u64,
    /// RFC 8176 methods of the sign-in, for every ID token of the grant.
    /// Grants stored before it was kept came from a password sign-in, the
    /// only way in then.
    #[serde(default = "password_amr")]
    pub amr: Vec<String>,
    /// The class the sign-in achieved among those requested
    /// (`acr::achieved`); none when none was requested or achieved, as in
    /// grants stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The upstream provider of a federated sign-in, for the ID token's
    /// `idp` claim; none for a sign-in here (and in grants stored before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    pub nonce: Option<String>,
    pub sid: Option<String>,
    /// RFC 8707 resources authorized at `/authorize`; empty in grants
    /// made without any (and in those stored before they were kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    pub created_at: u64,
    pub code: Option<CodeBinding>,
    pub refresh: Option<RefreshState>,
    /// The latest expiry of any access token issued from this grant.
    pub tokens_valid_until: u64,
    pub revoked: bool,
}

/// What the token endpoint presents to redeem a code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeRedemption {
    pub code_hash: String,
    /// The grant a sealed code carries (protocol/sealed_code.rs), for its
    /// first redemption to make; none for a code an earlier release stored
    /// with its grant at `/authorize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Box<Grant>>,
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// RFC 8707 `resource` values of the token request: some of the
    /// grant's; empty asks for all of them.
    #[serde(default)]
    pub resources: Vec<String>,
    /// The refresh token to start the chain with, when the client may have one.
    pub refresh_hash: Option<String>,
    /// `REFRESH_TOKEN_POLICY=offline_access`: start the chain only when
    /// `offline_access` was granted (OIDC Core §11).
    pub refresh_needs_offline_access: bool,
    pub refresh_ttl: u64,
    pub refresh_idle_ttl: u64,
    pub access_token_exp: u64,
}

/// What the token endpoint presents to rotate a refresh token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshRotation {
    /// RFC 6749 §6: a narrower scope may be asked for; `None` keeps all.
    pub requested_scopes: Option<Vec<String>>,
    /// RFC 8707 `resource` values, as in [`CodeRedemption`].
    #[serde(default)]
    pub resources: Vec<String>,
    pub presented_hash: String,
    pub new_hash: String,
    pub client_id: String,
    pub idle_ttl: u64,
    pub access_token_exp: u64,
}

/// The operations a grant store performs atomically. Read by hand
/// (`Tagged`), in the form `Serialize` writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum GrantOp {
    Create {
        grant: Box<Grant>,
    },
    RedeemCode(CodeRedemption),
    RotateRefresh(RefreshRotation),
    /// Introspection (RFC 7662): is this the live refresh token?
    InspectRefresh {
        presented_hash: String,
        idle_ttl: u64,
    },
    /// Revocation (RFC 7009) by a refresh token of this grant, current or
    /// superseded, presented by the client it was issued to.
    RevokeRefresh {
        presented_hash: String,
        client_id: String,
    },
    Get,
    Revoke,
    /// Takes back what a [`GrantOp::RedeemCode`] did, when the token
    /// response it was for could not be made (a later step failed to reach
    /// storage): see [`GrantOp::undo`].
    UndoRedemption {
        code_hash: String,
        refresh_hash: Option<String>,
    },
    /// Takes back what a [`GrantOp::RotateRefresh`] did, likewise.
    UndoRotation {
        presented_hash: String,
        new_hash: String,
    },
}

impl GrantOp {
    /// The operation that takes this one back, for the token endpoint to
    /// send when, after the grant's object did this, a later step failed to
    /// reach storage (the user's revocations, the signing keys): the client
    /// got a 503 and no tokens, and its retry must not count as a replay.
    /// It carries the new refresh token's hash, which only the request that
    /// made it knows, so it applies only to the state that request left.
    pub fn undo(&self) -> Option<GrantOp> {
        match self {
            GrantOp::RedeemCode(r) => Some(GrantOp::UndoRedemption {
                code_hash: r.code_hash.clone(),
                refresh_hash: r.refresh_hash.clone(),
            }),
            GrantOp::RotateRefresh(r) => Some(GrantOp::UndoRotation {
                presented_hash: r.presented_hash.clone(),
                new_hash: r.new_hash.clone(),
            }),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for GrantOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let op = Tagged::internal(d, "op")?;
        Ok(match op.name() {
            "create" => GrantOp::Create {
                grant: op.field("grant")?,
            },
            "redeem_code" => GrantOp::RedeemCode(op.fields()?),
            "rotate_refresh" => GrantOp::RotateRefresh(op.fields()?),
            "inspect_refresh" => GrantOp::InspectRefresh {
                presented_hash: op.field("presented_hash")?,
                idle_ttl: op.field("idle_ttl")?,
            },
            "revoke_refresh" => GrantOp::RevokeRefresh {
                presented_hash: op.field("presented_hash")?,
                client_id: op.field("client_id")?,
            },
            "get" => GrantOp::Get,
            "revoke" => GrantOp::Revoke,
            "undo_redemption" => GrantOp::UndoRedemption {
                code_hash: op.field("code_hash")?,
                refresh_hash: op.field("refresh_hash")?,
            },
            "undo_rotation" => GrantOp::UndoRotation {
                presented_hash: op.field("presented_hash")?,
                new_hash: op.field("new_hash")?,
            },
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

/// Why an operation was refused. Every case is `invalid_grant` on the wire;
/// the distinction matters to the store (replay revokes) and to logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    NotFound,
    Revoked,
    Mismatch,
    Expired,
    WrongClient,
    WrongRedirectUri,
    PkceFailed,
    /// A refresh asked for a scope the grant does not have.
    ScopeExceeded,
    /// A token request asked for a resource the grant does not have.
    ResourceExceeded,
    /// A used code or a superseded refresh token came back: RFC 6749
    /// §4.1.2 / RFC 9700 §4.14 — the grant is now revoked.
    Replayed,
}

impl Refusal {
    pub fn description(self) -> &'static str {
        match self {
            Self::NotFound | Self::Mismatch => "the grant is invalid",
            Self::Revoked => "the grant has been revoked",
            Self::Expired => "the grant has expired",
            Self::WrongClient => "the grant was issued to another client",
            Self::WrongRedirectUri => "redirect_uri does not match the authorization request",
            Self::PkceFailed => "code_verifier does not match the code_challenge",
            Self::Replayed => "the grant was already used; every token issued from it is now revoked",
            Self::ScopeExceeded => "the requested scope exceeds the scope originally granted",
            Self::ResourceExceeded => "a requested resource was not authorized for this grant",
        }
    }

    /// The RFC 6749 §5.2 error this refusal is on the wire.
    pub fn error(self) -> super::error::OAuthError {
        use super::error::{ErrorCode, OAuthError};
        let code = match self {
            Self::ScopeExceeded => ErrorCode::InvalidScope,
            Self::ResourceExceeded => ErrorCode::InvalidTarget,
            _ => ErrorCode::InvalidGrant,
        };
        OAuthError::new(code, self.description())
    }
}

/// Read by hand (`Tagged`), in the form `Serialize` writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantReply {
    Ok { grant: Box<Grant> },
    Refused { refusal: Refusal },
}

impl<'de> Deserialize<'de> for GrantReply {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let reply = Tagged::external(d)?;
        Ok(match reply.name() {
            "ok" => GrantReply::Ok {
                grant: reply.field("grant")?,
            },
            "refused" => GrantReply::Refused {
                refusal: reply.field("refusal")?,
            },
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

impl GrantReply {
    /// The grant, or its refusal as the RFC 6749 §5.2 error.
    pub fn into_grant(self) -> super::error::OAuthResult<Box<Grant>> {
        match self {
            Self::Ok { grant } => Ok(grant),
            Self::Refused { refusal } => Err(refusal.error()),
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    ct_eq(a.as_bytes(), b.as_bytes())
}

/// RFC 8707 §2.2: a token request may name some of the resources the grant
/// was authorized for, never another (checked before the code is consumed
/// or the refresh token rotated, so the client may retry).
fn within_resources(granted: &[String], requested: &[String]) -> Result<(), Refusal> {
    match narrow(requested, granted) {
        Ok(_) => Ok(()),
        Err(_) => Err(Refusal::ResourceExceeded),
    }
}

impl Grant {
    /// RFC 6749 §4.1.3 checks, then consumes the code. Checks that a thief
    /// without the client's verifier would fail do not consume it, so the
    /// rightful client can still redeem.
    fn redeem_code(&mut self, r: &CodeRedemption, now: u64) -> Result<(), Refusal> {
        let code = self.code.as_mut().ok_or(Refusal::Mismatch)?;
        if !same(&code.hash, &r.code_hash) {
            return Err(Refusal::Mismatch);
        }
        if code.used {
            self.revoked = true;
            return Err(Refusal::Replayed);
        }
        if now >= code.expires_at {
            return Err(Refusal::Expired);
        }
        if self.client_id != r.client_id {
            return Err(Refusal::WrongClient);
        }
        // "redirect_uri: REQUIRED, if the redirect_uri parameter was
        // included in the authorization request ... their values MUST be
        // identical." We always record it, so it is always required.
        if r.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
            return Err(Refusal::WrongRedirectUri);
        }
        // RFC 7636 §4.6, and RFC 9700 §4.8.2: a verifier without a
        // challenge is a downgrade attempt and is refused too.
        match (&code.code_challenge, &r.code_verifier) {
            (Some(challenge), Some(verifier)) if pkce::verify(challenge, verifier) => {}
            (None, None) => {}
            _ => return Err(Refusal::PkceFailed),
        }
        within_resources(&self.resources, &r.resources)?;
        code.used = true;
        let offline = self.scopes.iter().any(|s| s == "offline_access");
        if let Some(hash) = r
            .refresh_hash
            .as_ref()
            .filter(|_| offline || !r.refresh_needs_offline_access)
        {
            self.refresh = Some(RefreshState {
                current_hash: hash.clone(),
                previous_hashes: Vec::new(),
                last_used_at: now,
                expires_at: now.saturating_add(r.refresh_ttl),
                idle_ttl: r.refresh_idle_ttl,
            });
        }
        self.tokens_valid_until = self.tokens_valid_until.max(r.access_token_exp);
        Ok(())
    }

    /// RFC 6749 §6 with RFC 9700 §4.14.2 rotation: the presented token is
    /// replaced by a new one; a superseded one presented again revokes the
    /// whole grant.
    fn rotate_refresh(&mut self, r: &RefreshRotation, now: u64) -> Result<(), Refusal> {
        let refresh = self.refresh.as_mut().ok_or(Refusal::Mismatch)?;
        if refresh.previous_hashes.iter().any(|h| same(h, &r.presented_hash)) {
            self.revoked = true;
            return Err(Refusal::Replayed);
        }
        if !same(&refresh.current_hash, &r.presented_hash) {
            return Err(Refusal::Mismatch);
        }
        // RFC 6749 §6: the refresh token is bound to the client it was issued to.
        if self.client_id != r.client_id {
            return Err(Refusal::WrongClient);
        }
        if now >= refresh.expires_at || now >= refresh.last_used_at.saturating_add(r.idle_ttl) {
            return Err(Refusal::Expired);
        }
        // RFC 6749 §6: "MUST NOT include any scope not originally granted".
        if let Some(requested) = &r.requested_scopes {
            if !requested.iter().all(|s| self.scopes.contains(s)) {
                return Err(Refusal::ScopeExceeded);
            }
        }
        within_resources(&self.resources, &r.resources)?;
        let old = std::mem::replace(&mut refresh.current_hash, r.new_hash.clone());
        refresh.previous_hashes.push(old);
        let excess = refresh.previous_hashes.len().saturating_sub(REMEMBERED_REFRESH_TOKENS);
        refresh.previous_hashes.drain(..excess);
        refresh.last_used_at = now;
        refresh.idle_ttl = r.idle_ttl;
        self.tokens_valid_until = self.tokens_valid_until.max(r.access_token_exp);
        Ok(())
    }

    /// The grant as a reply carries it to the worker: without the hashes
    /// of the superseded refresh tokens, which only the object reads (to
    /// recognise a replay). A chain rotated often holds
    /// `REMEMBERED_REFRESH_TOKENS` of them, most of the grant's text, which
    /// every refresh would otherwise write and parse once more.
    fn answered(&mut self) -> Box<Grant> {
        let superseded = self.refresh.as_mut().map(|r| std::mem::take(&mut r.previous_hashes));
        let answer = Box::new(self.clone());
        if let (Some(r), Some(hashes)) = (self.refresh.as_mut(), superseded) {
            r.previous_hashes = hashes;
        }
        answer
    }

    fn inspect_refresh(&self, presented_hash: &str, idle_ttl: u64, now: u64) -> Result<(), Refusal> {
        let refresh = self.refresh.as_ref().ok_or(Refusal::Mismatch)?;
        if !same(&refresh.current_hash, presented_hash) {
            return Err(Refusal::Mismatch);
        }
        if now >= refresh.expires_at || now >= refresh.last_used_at.saturating_add(idle_ttl) {
            return Err(Refusal::Expired);
        }
        Ok(())
    }

    /// RFC 7009 §2.1: the server "first validates the client credentials
    /// ... and then verifies whether the token was issued to the client
    /// making the revocation request".
    fn revoke_by_refresh(&mut self, presented_hash: &str, client_id: &str) -> Result<(), Refusal> {
        let refresh = self.refresh.as_ref().ok_or(Refusal::Mismatch)?;
        let known = same(&refresh.current_hash, presented_hash)
            || refresh.previous_hashes.iter().any(|h| same(h, presented_hash));
        if !known {
            return Err(Refusal::Mismatch);
        }
        if self.client_id != client_id {
            return Err(Refusal::WrongClient);
        }
        self.revoked = true;
        Ok(())
    }

    /// Undoes [`Grant::redeem_code`], provided the grant is exactly as that
    /// redemption left it: its code used, and the refresh chain it started
    /// (if any) still at its first token, which never left the worker. A
    /// replay in between revoked the grant, so nothing is undone then. The
    /// access tokens' end it moved stays: no token of it was sent, and a
    /// later end only keeps the storage longer.
    fn undo_redemption(&mut self, code_hash: &str, refresh_hash: Option<&str>) -> Result<(), Refusal> {
        let code = self.code.as_mut().ok_or(Refusal::Mismatch)?;
        if !same(&code.hash, code_hash) || !code.used {
            return Err(Refusal::Mismatch);
        }
        let untouched = match (&self.refresh, refresh_hash) {
            (None, _) => true,
            (Some(r), Some(h)) => same(&r.current_hash, h) && r.previous_hashes.is_empty(),
            (Some(_), None) => false,
        };
        if !untouched {
            return Err(Refusal::Mismatch);
        }
        code.used = false;
        self.refresh = None;
        Ok(())
    }

    /// Undoes [`Grant::rotate_refresh`], provided the chain is exactly as
    /// that rotation left it: the new token (never sent) current, the
    /// presented one the last superseded. The presented token becomes
    /// current again; its last use stays the attempt's time.
    fn undo_rotation(&mut self, presented_hash: &str, new_hash: &str) -> Result<(), Refusal> {
        let refresh = self.refresh.as_mut().ok_or(Refusal::Mismatch)?;
        let superseded_last = refresh.previous_hashes.last().is_some_and(|h| same(h, presented_hash));
        if !same(&refresh.current_hash, new_hash) || !superseded_last {
            return Err(Refusal::Mismatch);
        }
        refresh.previous_hashes.pop();
        refresh.current_hash = presented_hash.to_owned();
        Ok(())
    }

    /// The moment nothing in this grant can be used any more, after which
    /// its storage can go. A revoked grant can go at once: an absent grant
    /// and a revoked one are refused alike.
    pub fn ends_at(&self) -> u64 {
        if self.revoked {
            return 0;
        }
        let code = self.code.as_ref().filter(|c| !c.used).map_or(0, |c| c.expires_at);
        let refresh = self.refresh.as_ref().map_or(0, RefreshState::ends_at);
        code.max(refresh).max(self.tokens_valid_until)
    }
}

/// Applies one operation to the grant held in `slot` (None: no such grant).
/// This is the whole concurrency contract: callers run it one at a time per
/// grant and persist `slot` before answering.
pub fn apply(slot: &mut Option<Grant>, op: GrantOp, now: u64) -> GrantReply {
    let refused = |refusal| GrantReply::Refused { refusal };
    if let GrantOp::Create { grant } = op {
        *slot = Some(*grant.clone());
        return GrantReply::Ok { grant };
    }
    if let (
        None,
        GrantOp::RedeemCode(CodeRedemption {
            pending: Some(grant), ..
        }),
    ) = (&slot, &op)
    {
        return redeem_first(slot, (**grant).clone(), op, now);
    }
    let Some(grant) = slot.as_mut() else {
        return refused(Refusal::NotFound);
    };
    let outcome = match &op {
        GrantOp::RedeemCode(r) if !grant.revoked => grant.redeem_code(r, now),
        GrantOp::RotateRefresh(r) if !grant.revoked => grant.rotate_refresh(r, now),
        GrantOp::InspectRefresh {
            presented_hash,
            idle_ttl,
        } if !grant.revoked => grant.inspect_refresh(presented_hash, *idle_ttl, now),
        GrantOp::RevokeRefresh {
            presented_hash,
            client_id,
        } => grant.revoke_by_refresh(presented_hash, client_id),
        GrantOp::Revoke => {
            grant.revoked = true;
            Ok(())
        }
        GrantOp::UndoRedemption {
            code_hash,
            refresh_hash,
        } if !grant.revoked => grant.undo_redemption(code_hash, refresh_hash.as_deref()),
        GrantOp::UndoRotation {
            presented_hash,
            new_hash,
        } if !grant.revoked => grant.undo_rotation(presented_hash, new_hash),
        GrantOp::Get if grant.revoked => Err(Refusal::Revoked),
        GrantOp::Get if grant.ends_at() <= now => Err(Refusal::Expired),
        GrantOp::Get => Ok(()),
        _ => Err(Refusal::Revoked),
    };
    match outcome {
        Ok(()) => GrantReply::Ok {
            grant: grant.answered(),
        },
        Err(refusal) => refused(refusal),
    }
}

/// A sealed code's first redemption: its grant is made from the code and
/// kept only if the code is consumed, so a code refused before that (a
/// thief without the verifier, an expired code) leaves no grant behind, and
/// the rightful client can still redeem it. Once kept, the grant answers
/// every later redemption of the code as a replay.
fn redeem_first(slot: &mut Option<Grant>, pending: Grant, op: GrantOp, now: u64) -> GrantReply {
    let mut made = Some(pending);
    let reply = apply(&mut made, op, now);
    if matches!(reply, GrantReply::Ok { .. }) {
        *slot = made;
    }
    reply
}

/// The grant object's rules, for the object that holds a grant.
pub struct GrantMachine;

impl Machine for GrantMachine {
    type State = Grant;
    type Op = GrantOp;
    type Reply = GrantReply;

    fn apply(slot: &mut Option<Grant>, op: GrantOp, now: u64) -> GrantReply {
        apply(slot, op, now)
    }

    /// A code redeemed into a refresh chain moves the end later; a
    /// revocation brings it forward to now.
    fn ends_at(grant: &Grant) -> u64 {
        grant.ends_at()
    }
}

#[cfg(test)]
#[path = "grant_tests.rs"]
mod tests;
