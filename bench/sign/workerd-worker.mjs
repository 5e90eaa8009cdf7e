// The worker run.mjs starts in workerd (miniflare) for the part of the
// benchmark that runs on workerd itself: V8 as Workers runs it, and workerd's
// own WebCrypto (BoringSSL). run.mjs writes the entry module that imports the
// pkg/web-* builds, calls initSync on each and passes them to `handler`.
//
// Time does not advance inside a workerd request (Spectre mitigation), so
// run.mjs times whole requests from outside: GET /run?…&n=N does N operations;
// an n=0 request is the baseline it subtracts.

const ALGS = {
  RS256: { imp: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, op: { name: "RSASSA-PKCS1-v1_5" } },
  ES256: { imp: { name: "ECDSA", namedCurve: "P-256" }, op: { name: "ECDSA", hash: "SHA-256" } },
  EdDSA: { imp: { name: "Ed25519" }, op: { name: "Ed25519" } },
};

const b64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64u = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

export function handler(variants) {
  const state = new Map();
  return {
    async fetch(req) {
      const url = new URL(req.url);
      const q = url.searchParams;
      if (url.pathname === "/setup") {
        const { alg, privJwk, pubJwk } = await req.json();
        const { imp, op } = ALGS[alg];
        const signers = Object.fromEntries(
          Object.entries(variants).map(([v, m]) => [v, new m.Signer(alg, JSON.stringify(privJwk), JSON.stringify(pubJwk))]),
        );
        const priv = await crypto.subtle.importKey("jwk", privJwk, imp, false, ["sign"]);
        const pub = await crypto.subtle.importKey("jwk", pubJwk, imp, false, ["verify"]);
        const token = Object.values(signers)[0].token();
        const dot = token.lastIndexOf(".");
        const input = new TextEncoder().encode(token.slice(0, dot));
        const sig = new Uint8Array(await crypto.subtle.sign(op, priv, input));
        const wcToken = `${token.slice(0, dot)}.${b64u(sig)}`;
        const checks = {
          webcrypto_verifies_wasm: await crypto.subtle.verify(op, pub, unb64u(token.slice(dot + 1)), input),
        };
        for (const [v, s] of Object.entries(signers)) checks[`wasm_${v}_verifies_webcrypto`] = s.verify(wcToken);
        state.set(alg, { signers, priv, pub, op, input, sig });
        return Response.json(checks);
      }
      if (url.pathname === "/run") {
        const n = Number(q.get("n"));
        const impl = q.get("impl");
        const s = state.get(q.get("alg"));
        const sign = q.get("op") === "sign";
        if (n === 0 || impl === "none") return new Response("ok");
        if (impl === "webcrypto") {
          if (sign) for (let i = 0; i < n; i++) await crypto.subtle.sign(s.op, s.priv, s.input);
          else for (let i = 0; i < n; i++) if (!(await crypto.subtle.verify(s.op, s.pub, s.sig, s.input))) throw new Error("verify");
        } else {
          const [kind, v] = impl.split("-"); // wasm-z, encode-z, …
          const signer = s.signers[v];
          if (kind === "encode") signer.encode_n(n);
          else if (sign) signer.sign_n(n);
          else signer.verify_n(n);
        }
        return new Response("ok");
      }
      return new Response("not found", { status: 404 });
    },
  };
}
