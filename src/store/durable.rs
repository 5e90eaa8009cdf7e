//! Grants in Durable Objects: one object per grant, created with a unique
//! id whose hex form is the grant id. Reaching a grant needs no lookup, and
//! grants never contend with one another.

use super::{GrantStore, StoreError, StoreResult};
use crate::protocol::grant::{Grant, GrantOp, GrantReply, Refusal};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use worker::{ObjectNamespace, Stub};

/// The message the worker sends to a grant object.
#[derive(Serialize, Deserialize)]
pub struct GrantCall {
    pub op: GrantOp,
    pub now: u64,
}

pub struct DurableGrants(pub ObjectNamespace);

fn do_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("grant object: {e}"))
}

// One JavaScript call per operation: an RPC to the object's `run` (see
// src/entry.mjs) with the call as JSON text, answered the same way.
#[wasm_bindgen(inline_js = r#"
export async function call_run(stub, body) {
  return await stub.run(body);
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn call_run(stub: &JsValue, body: &str) -> Result<JsValue, JsValue>;
}

/// Sends `call` to an object's `run` and reads its answer, both JSON. Every
/// object class of src/entry.mjs takes this shape.
pub(super) async fn run<C: Serialize, R: DeserializeOwned>(stub: Stub, call: &C) -> Result<R, String> {
    let body = serde_json::to_string(call).map_err(|e| e.to_string())?;
    let text = call_run(&stub.into_rpc::<JsValue>(), &body)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let text = text.as_string().ok_or("the answer is not text")?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

async fn call(stub: Stub, op: GrantOp, now: u64) -> StoreResult<GrantReply> {
    run(stub, &GrantCall { op, now }).await.map_err(do_err)
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
