// Helpers for the grant lifecycle tests (refresh, client_credentials,
// revocation, introspection, logout, expiry): small wrappers over flow.mjs.
import assert from "node:assert/strict";
import { registerClient, createUser, obtainCode, exchange, basicAuth, form } from "./flow.mjs";

/** Registers a confidential client and a user, logs in, redeems the code. */
export async function signIn(worker, { metadata = {}, client, user, overrides = {}, jar } = {}) {
  client ??= await registerClient(worker, metadata);
  user ??= await createUser(worker);
  const got = await obtainCode(worker, client, user, { overrides, jar });
  const tokens = await exchange(worker, client, got);
  return { client, user, got, tokens, jar: got.jar };
}

/** POSTs a form to `path` authenticated as `client` (Basic, or client_id for public clients). */
export function clientPost(worker, path, client, body) {
  const headers = client.client_secret ? { authorization: basicAuth(client) } : {};
  const extra = client.client_secret ? {} : { client_id: client.client_id };
  return worker.fetch(path, form({ ...extra, ...body }, headers));
}

/** POST /token grant_type=refresh_token; returns the Response. */
export const refresh = (worker, client, refreshToken, extra = {}) =>
  clientPost(worker, "/token", client, { grant_type: "refresh_token", refresh_token: refreshToken, ...extra });

/** Reads an error response and checks its status and `error`. */
export async function assertError(res, status, error) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(JSON.parse(text).error, error, text);
}

/** The status of GET /userinfo with this access token. */
export async function userinfoStatus(worker, accessToken) {
  const res = await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${accessToken}` } });
  await res.body?.cancel();
  return res.status;
}

export const introspect = (worker, client, token, extra = {}) =>
  clientPost(worker, "/introspect", client, { token, ...extra });

export const revoke = (worker, client, token, extra = {}) =>
  clientPost(worker, "/revoke", client, { token, ...extra });

/** The grant id inside a code or refresh token. */
export const grantId = (token) => token.split(".")[0];

/** Talks to a grant's Durable Object directly: the parsed reply to `get`. */
export async function grantObject(worker, gid) {
  const ns = await worker.mf.getDurableObjectNamespace("GRANTS");
  const stub = ns.get(ns.idFromString(gid));
  const call = { op: { op: "get" }, now: Math.floor(Date.now() / 1000) };
  return JSON.parse(await stub.run(JSON.stringify(call)));
}

/** Polls `check` (async, truthy = done) every 250 ms for up to `ms`; returns its last value. */
export async function eventually(check, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
