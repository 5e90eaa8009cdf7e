//! Registration tokens in Durable Objects: one object per token, named by
//! the token's id (`id_from_name`), so no lookup is needed and tokens never
//! contend with one another. The object runs
//! `protocol::registration_token::step`, one call at a time.

use super::durable::run;
use super::{StoreError, StoreResult};
use crate::protocol::registration_token::{TokenCall, TokenOp, TokenReply};
use worker::ObjectNamespace;

pub struct DurableRegistrationTokens(pub ObjectNamespace);

fn do_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("registration token object: {e}"))
}

impl DurableRegistrationTokens {
    /// `id` must be a token id (`registration_token::is_token_id`).
    pub async fn apply(&self, id: &str, op: TokenOp, now: u64) -> StoreResult<TokenReply> {
        let stub = self.0.id_from_name(id).and_then(|o| o.get_stub()).map_err(do_err)?;
        run(stub, &TokenCall { op, now }).await.map_err(do_err)
    }
}
