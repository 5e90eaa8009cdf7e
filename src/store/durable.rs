//! Grants in Durable Objects: one object per grant, created with a unique
//! id whose hex form is the grant id. Reaching a grant needs no lookup, and
//! grants never contend with one another.

use super::{GrantStore, StoreError, StoreResult};
use crate::protocol::grant::{Grant, GrantOp, GrantReply, Refusal};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use worker::{Method, ObjectNamespace, Request, RequestInit, Stub};

/// The message the worker sends to a grant object.
#[derive(Serialize, Deserialize)]
pub struct GrantCall {
    pub op: GrantOp,
    pub now: u64,
}

pub struct DurableGrants(pub ObjectNamespace);

fn do_err(e: worker::Error) -> StoreError {
    StoreError(format!("grant object: {e}"))
}

async fn call(stub: Stub, op: GrantOp, now: u64) -> StoreResult<GrantReply> {
    let body = serde_json::to_string(&GrantCall { op, now }).map_err(|e| StoreError(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let req = Request::new_with_init("https://grant/apply", &init).map_err(do_err)?;
    let mut resp = stub.fetch_with_request(req).await.map_err(do_err)?;
    resp.json::<GrantReply>().await.map_err(do_err)
}

#[async_trait(?Send)]
impl GrantStore for DurableGrants {
    async fn create(&self, grant: Grant, now: u64) -> StoreResult<String> {
        let id = self.0.unique_id().map_err(do_err)?;
        let hex = id.to_string();
        call(
            id.get_stub().map_err(do_err)?,
            GrantOp::Create { grant: Box::new(grant) },
            now,
        )
        .await?;
        Ok(hex)
    }

    async fn apply(&self, id: &str, op: GrantOp, now: u64) -> StoreResult<GrantReply> {
        // An id that is not one of ours (a forged or mangled token) is
        // simply an unknown grant.
        let Ok(object) = self.0.id_from_string(id) else {
            return Ok(GrantReply::Refused {
                refusal: Refusal::NotFound,
            });
        };
        call(object.get_stub().map_err(do_err)?, op, now).await
    }
}
