// Federated sign-in through a plain OAuth 2.0 provider of GitHub's kind
// (tests/upstreams.mjs startOAuthUpstream: GitHub's endpoints and answers,
// no ID token, the person known by the user endpoint's numeric `id`). The
// relying party is the unmodified openid-client library.
//
// Covered: a first sign-in makes a local account whose claims are the
// mapped members; the next one (same numeric id, even under a new login)
// finds it; a user without a public e-mail; a refusal at the provider;
// and what our worker sent to the provider's token and user endpoints.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as oidc from "openid-client";
import { startWorker } from "./helpers.mjs";
import { Jar, registerClient } from "./flow.mjs";
import {
  startOAuthUpstream, GITHUB_CLIENT, adminCall, visit, postStep, openidRp, backToRp, assertSignedOut,
} from "./upstreams.mjs";

const CLAIMS = { sub: "id", name: "name", email: "email", preferred_username: "login", picture: "avatar_url" };

let gh, ours, rp;
before(async () => {
  [gh, ours] = await Promise.all([startOAuthUpstream(), startWorker()]);
  rp = await openidRp(ours, await registerClient(ours, { client_name: "The RP" }));
  for (const [id, method] of [["github", undefined], ["github-post", "client_secret_post"]]) {
    const res = await adminCall(ours, "POST", "/admin/idps", {
      id, name: id === "github" ? "GitHub" : "GitHub (post)", kind: "oauth2",
      authorization_endpoint: `${gh.url}/login/oauth/authorize`,
      token_endpoint: `${gh.url}/login/oauth/access_token`,
      userinfo_endpoint: `${gh.url}/user`,
      client_id: GITHUB_CLIENT.id, client_secret: GITHUB_CLIENT.secret, claims: CLAIMS,
      ...(method ? { token_endpoint_auth_method: method } : {}),
    });
    assert.equal(res.status, 201, await res.clone().text());
  }
});
after(async () => {
  await Promise.all([gh?.stop(), ours?.stop()]);
});

/**
 * From the RP's URL through ours' login page and its `idp` button to the
 * provider, which answers at once (its authorize endpoint signs in the
 * current user; `deny` makes it refuse instead). Returns { res (ours'
 * answer to the callback), jar, checks, authorize (the URL ours sent the
 * person to) }.
 */
async function attempt(idp, { deny = false } = {}) {
  const jar = new Jar();
  const { url, checks } = await rp.start();
  const page = await visit(ours, jar, url);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, new RegExp(`<button type="submit" name="idp" value="${idp}"[^>]*>Continue with `));
  const started = await postStep(ours, jar, html, "federation", { idp });
  assert.equal(started.status, 303);
  const authorize = new URL(started.headers.get("location"));
  assert.equal(`${authorize.origin}${authorize.pathname}`, `${gh.url}/login/oauth/authorize`);
  if (deny) authorize.searchParams.set("deny", "1"); // the person presses "Cancel" at the provider
  const answer = await fetch(authorize, { redirect: "manual" });
  assert.equal(answer.status, 302);
  const callback = new URL(answer.headers.get("location"));
  assert.equal(`${callback.origin}${callback.pathname}`, `${ours.url}/federation/${idp}/callback`);
  return { res: await visit(ours, jar, callback), jar, checks, authorize };
}

/** A whole sign-in: the RP's ID token claims and user info. */
async function signIn(idp = "github") {
  const { res, jar, checks } = await attempt(idp);
  const back = await backToRp(ours, jar, res);
  const tokens = await oidc.authorizationCodeGrant(rp.config, back, checks);
  const claims = tokens.claims();
  return { claims, info: await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub) };
}

test("a sign-in through a GitHub-like provider makes a local account from the mapped members", async () => {
  gh.setUser("octocat");
  const first = await signIn();
  assert.equal(first.claims.idp, "github");
  assert.notEqual(first.claims.sub, "583231", "a local sub, not GitHub's id");
  assert.match(first.claims.sub, /^[A-Za-z0-9_-]{16,}$/);
  assert.equal(first.claims.amr, undefined, "GitHub says nothing of how the person signed in");
  assert.deepEqual(
    [first.info.name, first.info.email, first.info.preferred_username, first.info.picture],
    ["The Octocat", "octocat@example.com", "octocat", "https://avatars.example.com/u/583231"],
  );
  assert.equal(first.info.email_verified, undefined, "GitHub's /user does not say the address is verified");

  const again = await signIn();
  assert.equal(again.claims.sub, first.claims.sub, "the same person, the same account");

  // GitHub's numeric id is the link, not the login: a renamed account
  // (same id, new login and name) is the same person.
  gh.setUser("octocat-renamed", { id: 583231, name: "Renamed Octocat", email: "octocat@example.com" });
  const renamed = await signIn();
  assert.equal(renamed.claims.sub, first.claims.sub);
  assert.deepEqual([renamed.info.preferred_username, renamed.info.name], ["octocat-renamed", "Renamed Octocat"], "claims copied again");

  // Through the other provider with the same endpoints, the same GitHub
  // account is another identity (links are per provider), whose e-mail
  // address the account above has: GitHub's /user does not say it is
  // verified, so the person must first sign in to that account.
  gh.setUser("octocat");
  const { res, jar } = await attempt("github-post");
  assert.equal(res.status, 400);
  assert.match(await res.text(), /An account here already uses the e-mail address of your GitHub \(post\) account\./);
  await assertSignedOut(ours, rp, jar);
});

test("a user without a public e-mail address (email: null) signs in, and two such users stay apart", async () => {
  gh.setUser("hubot");
  const hubot = await signIn();
  assert.ok(!("email" in hubot.info), `no email claim: ${JSON.stringify(hubot.info)}`);
  assert.equal(hubot.info.preferred_username, "hubot");
  gh.setUser("ghost", { name: null, email: null });
  const ghost = await signIn();
  assert.notEqual(ghost.claims.sub, hubot.claims.sub);
  assert.ok(!("name" in ghost.info), "a null name is left out");
  gh.setUser("hubot");
  assert.equal((await signIn()).claims.sub, hubot.claims.sub);
  gh.setUser("octocat");
});

test("a sign-in refused at the provider (access_denied): the login page says it was cancelled", async () => {
  const from = gh.requests.length;
  const { res, jar } = await attempt("github", { deny: true });
  assert.equal(res.status, 400);
  const html = (await res.text()).replace(/&#x27;|&#39;/g, "'");
  assert.match(html, /Signing in with GitHub did not work\. The sign-in was cancelled or refused at the provider\./);
  assert.match(html, /name="password"/, "the person can sign in another way");
  assert.deepEqual(gh.requests.slice(from).map((r) => r.path), ["/login/oauth/authorize"], "no token request followed");
  await assertSignedOut(ours, rp, jar);
});

test("the token and user requests our worker sent: PKCE, JSON, the configured client authentication, a User-Agent", async () => {
  for (const idp of ["github", "github-post"]) {
    gh.setUser(`requests-${idp}`, { name: "Requests" }); // a new account, no e-mail address: a plain first sign-in
    const from = gh.requests.length;
    const { res, jar, checks, authorize } = await attempt(idp);
    await oidc.authorizationCodeGrant(rp.config, await backToRp(ours, jar, res), checks);
    const sent = gh.requests.slice(from);
    const tokenRequests = sent.filter((r) => r.path === "/login/oauth/access_token");
    const userRequests = sent.filter((r) => r.path === "/user");
    assert.equal(tokenRequests.length, 1, idp);
    assert.equal(userRequests.length, 1, idp);
    const [tok] = tokenRequests;

    // The authorization request: S256 PKCE, a state, our callback.
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.equal(authorize.searchParams.get("client_id"), GITHUB_CLIENT.id);
    assert.equal(authorize.searchParams.get("redirect_uri"), `${ours.url}/federation/${idp}/callback`);
    assert.ok(authorize.searchParams.get("state"));

    // The token request.
    assert.equal(tok.method, "POST");
    assert.match(tok.headers["content-type"], /^application\/x-www-form-urlencoded/);
    assert.equal(tok.headers.accept, "application/json", "GitHub answers JSON only when asked");
    assert.equal(tok.headers["user-agent"], "edge-oidc");
    assert.equal(tok.form.grant_type, "authorization_code");
    assert.equal(tok.form.redirect_uri, `${ours.url}/federation/${idp}/callback`);
    assert.match(tok.form.code_verifier ?? "", /^[A-Za-z0-9._~-]{43,128}$/, "a PKCE verifier (RFC 7636 §4.1)");
    assert.equal(createHash("sha256").update(tok.form.code_verifier).digest("base64url"),
      authorize.searchParams.get("code_challenge"), "the verifier of the challenge sent");
    if (idp === "github") {
      const basic = Buffer.from(GITHUB_CLIENT.id + ":" + GITHUB_CLIENT.secret).toString("base64");
      assert.equal(tok.headers.authorization, `Basic ${basic}`, "client_secret_basic (the default)");
      assert.equal(tok.form.client_secret, undefined, "the secret only in the header");
    } else {
      assert.deepEqual([tok.form.client_id, tok.form.client_secret], [GITHUB_CLIENT.id, GITHUB_CLIENT.secret], "client_secret_post");
      assert.equal(tok.headers.authorization, undefined, "the secret only in the form");
    }

    // The user request: the access token, a User-Agent (GitHub's API refuses requests without one).
    const [user] = userRequests;
    assert.equal(user.method, "GET");
    assert.match(user.headers.authorization, /^Bearer gho_[0-9a-f]{40}$/);
    assert.equal(user.headers["user-agent"], "edge-oidc");
    assert.equal(user.body, "");
  }
  gh.setUser("octocat");
});
