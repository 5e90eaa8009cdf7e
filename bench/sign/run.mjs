// jwt-compact (Rust → wasm, in V8) against WebCrypto (crypto.subtle), per JWT
// algorithm, sign and verify. Run through ./run.sh, which builds pkg/*.
//
// Per algorithm: one key pair from node:crypto, exported as JWKs, given to
// both sides. Cross-checks first (each side verifies the other's signature).
// Then, for each implementation, a warm-up that also calibrates the count N
// (a run lasts about SIGN_TARGET_MS), then SIGN_REPEATS timed runs of N
// operations, interleaved across implementations; the median run is reported.
//
// Implementations:
//   wasm-z / wasm-o3  jwt-compact in wasm (pkg/z, pkg/o3): sign = build the whole
//                     JWT (JSON, base64url, signature); verify = parse, check the
//                     signature, deserialize the claims. The loop runs in wasm.
//   webcrypto         `await crypto.subtle.sign/verify` on the same signing input,
//                     one at a time, with a key imported once (as webcrypto.rs caches it).
//   node-sync         node:crypto `sign`/`verify` (synchronous OpenSSL): the native
//                     cost without node's WebCrypto thread-pool hop; workerd's
//                     WebCrypto runs BoringSSL on the isolate's thread, so it sits
//                     between node-sync and webcrypto.
//   encode-z          (sign only) the JSON + base64url part of wasm-z's sign with a
//                     no-op signature: what our worker does in wasm before it calls
//                     WebCrypto, so the WebCrypto path costs about encode + webcrypto.
//
// Then the same on workerd (see the comment above that part): wasm-* and
// webcrypto there are the numbers that apply to our worker.
//
// Env: SIGN_REPEATS (3), SIGN_TARGET_MS (1000), SIGN_WARMUP_MS (400),
// SIGN_ALGS (RS256,ES256,EdDSA), SIGN_WORKERD (1; 0 skips workerd).

import { createRequire } from "node:module";
import { existsSync, readFileSync, writeFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { cpus, loadavg } from "node:os";
import * as nodeCrypto from "node:crypto";

const require = createRequire(import.meta.url);
const here = new URL(".", import.meta.url).pathname;
const { subtle } = globalThis.crypto;

const REPEATS = Number(process.env.SIGN_REPEATS || 3);
const TARGET_MS = Number(process.env.SIGN_TARGET_MS || 1000);
const WARMUP_MS = Number(process.env.SIGN_WARMUP_MS || 400);
const ALGS = (process.env.SIGN_ALGS || "RS256,ES256,EdDSA").split(",");

const VARIANTS = ["z", "o3"].filter((v) => existsSync(`${here}pkg/${v}/sign_bench.js`));
if (!VARIANTS.length) {
  console.error("no pkg/z or pkg/o3: run ./run.sh");
  process.exit(1);
}
const wasm = Object.fromEntries(VARIANTS.map((v) => [v, require(`${here}pkg/${v}/sign_bench.js`)]));

const WEBCRYPTO = {
  RS256: { imp: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, op: { name: "RSASSA-PKCS1-v1_5" } },
  ES256: { imp: { name: "ECDSA", namedCurve: "P-256" }, op: { name: "ECDSA", hash: "SHA-256" } },
  EdDSA: { imp: { name: "Ed25519" }, op: { name: "Ed25519" } },
};

function keyPair(alg) {
  const { privateKey, publicKey } =
    alg === "RS256" ? nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 })
    : alg === "ES256" ? nodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
    : nodeCrypto.generateKeyPairSync("ed25519");
  return { privateKey, publicKey, privJwk: privateKey.export({ format: "jwk" }), pubJwk: publicKey.export({ format: "jwk" }) };
}

// node:crypto's one-shot sign/verify, with JWS signature encodings.
function nodeSync(alg, { privateKey, publicKey }) {
  const hash = alg === "EdDSA" ? null : "sha256";
  const priv = alg === "ES256" ? { key: privateKey, dsaEncoding: "ieee-p1363" } : privateKey;
  const pub = alg === "ES256" ? { key: publicKey, dsaEncoding: "ieee-p1363" } : publicKey;
  return {
    sign: (data) => nodeCrypto.sign(hash, data, priv),
    verify: (data, sig) => nodeCrypto.verify(hash, data, pub, sig),
  };
}

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const unb64u = (s) => new Uint8Array(Buffer.from(s, "base64url"));

function splitToken(token) {
  const dot = token.lastIndexOf(".");
  return { input: new TextEncoder().encode(token.slice(0, dot)), sig: unb64u(token.slice(dot + 1)) };
}

// Warm-up for WARMUP_MS (at least 3 ops, growing batches), then the n that makes
// a run last about TARGET_MS (at least 10).
async function calibrate(fn) {
  let done = 0, batch = 1;
  const t0 = performance.now();
  while (done < 3 || performance.now() - t0 < WARMUP_MS) {
    await fn(batch);
    done += batch;
    batch = Math.min(batch * 2, 256);
  }
  const perOpMs = (performance.now() - t0) / done;
  return Math.max(10, Math.ceil(TARGET_MS / perOpMs));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function check(cond, what) {
  if (!cond) {
    console.error(`cross-check failed: ${what}`);
    process.exit(1);
  }
}

const results = [];
const pairs = {};
for (const alg of ALGS) {
  const keys = (pairs[alg] = keyPair(alg));
  const signers = Object.fromEntries(
    VARIANTS.map((v) => [v, new wasm[v].Signer(alg, JSON.stringify(keys.privJwk), JSON.stringify(keys.pubJwk))]),
  );
  const { imp, op } = WEBCRYPTO[alg];
  const wcPriv = await subtle.importKey("jwk", keys.privJwk, imp, false, ["sign"]);
  const wcPub = await subtle.importKey("jwk", keys.pubJwk, imp, false, ["verify"]);
  const sync = nodeSync(alg, keys);

  // Cross-checks: same signing input, each side verifies the other's signature.
  const token = signers[VARIANTS[0]].token();
  const { input, sig } = splitToken(token);
  const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url"));
  check(header.alg === alg && header.typ === "at+jwt", `${alg}: header ${JSON.stringify(header)}`);
  check(await subtle.verify(op, wcPub, sig, input), `${alg}: WebCrypto verifies jwt-compact's signature`);
  const wcSig = new Uint8Array(await subtle.sign(op, wcPriv, input));
  const wcToken = `${new TextDecoder().decode(input)}.${b64u(wcSig)}`;
  for (const v of VARIANTS) {
    check(signers[v].verify(wcToken), `${alg}: jwt-compact (${v}) verifies WebCrypto's signature`);
    check(signers[v].verify(signers[v].token()), `${alg}: jwt-compact (${v}) verifies its own token`);
    const bad = wcSig.slice();
    bad[5] ^= 1;
    check(!signers[v].verify(`${new TextDecoder().decode(input)}.${b64u(bad)}`), `${alg}: ${v} rejects a bad signature`);
  }
  check(sync.verify(input, wcSig), `${alg}: node:crypto verifies WebCrypto's signature`);
  check(await subtle.verify(op, wcPub, sync.sign(input), input), `${alg}: WebCrypto verifies node:crypto's signature`);

  const impls = { sign: {}, verify: {} };
  for (const v of VARIANTS) {
    impls.sign[`wasm-${v}`] = (n) => signers[v].sign_n(n);
    impls.verify[`wasm-${v}`] = (n) => signers[v].verify_n(n);
  }
  impls.sign.webcrypto = async (n) => {
    for (let i = 0; i < n; i++) await subtle.sign(op, wcPriv, input);
  };
  impls.verify.webcrypto = async (n) => {
    for (let i = 0; i < n; i++) if (!(await subtle.verify(op, wcPub, wcSig, input))) throw new Error("verify");
  };
  impls.sign["node-sync"] = (n) => {
    for (let i = 0; i < n; i++) sync.sign(input);
  };
  impls.verify["node-sync"] = (n) => {
    for (let i = 0; i < n; i++) if (!sync.verify(input, wcSig)) throw new Error("verify");
  };
  if (signers.z) impls.sign["encode-z"] = (n) => signers.z.encode_n(n);

  for (const opName of ["sign", "verify"]) await measure("node", alg, opName, impls[opName]);
}

// Calibrates each implementation, then REPEATS rounds of one run each, interleaved.
// `base` (optional) gives a fixed per-run cost in ms to subtract (workerd's request).
async function measure(env, alg, opName, impls, base) {
  const entries = Object.entries(impls);
  const ns = {};
  for (const [name, fn] of entries) ns[name] = await calibrate(fn);
  const runs = Object.fromEntries(entries.map(([name]) => [name, []]));
  for (let r = 0; r < REPEATS; r++) {
    const baseMs = base ? await base() : 0;
    for (const [name, fn] of entries) {
      const t0 = performance.now();
      await fn(ns[name]);
      runs[name].push(((performance.now() - t0 - baseMs) * 1000) / ns[name]);
    }
  }
  for (const [name] of entries) {
    const row = { env, alg, op: opName, impl: name, n: ns[name], runs_us: runs[name].map((x) => +x.toFixed(2)), median_us: +median(runs[name]).toFixed(2) };
    results.push(row);
    console.error(`${env.padEnd(7)} ${alg.padEnd(5)} ${opName.padEnd(6)} ${name.padEnd(9)} n=${String(row.n).padStart(6)}  median ${row.median_us.toFixed(1).padStart(9)} µs  runs [${row.runs_us.join(", ")}]`);
  }
}

// The same on workerd (miniflare from /work/main/node_modules, as the project's
// tests start it), with the pkg/web-* builds: V8 as Workers runs it, and
// workerd's own WebCrypto (BoringSSL, on the isolate's thread). Time stands still
// inside a workerd request, so whole requests are timed from here, minus the
// median of n=0 requests. SIGN_WORKERD=0 skips it.
const WEB = VARIANTS.filter((v) => existsSync(`${here}pkg/web-${v}/sign_bench.js`));
let workerd = null;
if (process.env.SIGN_WORKERD !== "0" && WEB.length) {
  let mfMod = null;
  try {
    mfMod = await import("miniflare");
  } catch {
    console.error("no miniflare (npm install in /work/main): workerd part skipped");
  }
  if (mfMod) {
    const { Miniflare, convertV4MiniflareOptions } = mfMod;
    const entry =
      WEB.map((v) => `import * as m_${v} from "./pkg/web-${v}/sign_bench.js";\nimport w_${v} from "./pkg/web-${v}/sign_bench_bg.wasm";\nm_${v}.initSync({ module: w_${v} });\n`).join("") +
      `import { handler } from "./workerd-worker.mjs";\nexport default handler({ ${WEB.map((v) => `${v}: m_${v}`).join(", ")} });\n`;
    const compatibilityDate = readFileSync(`${here}../../wrangler.toml`, "utf8").match(/^compatibility_date\s*=\s*"([^"]+)"/m)[1];
    const opts = {
      modules: [
        { type: "ESModule", path: `${here}entry.mjs`, contents: entry },
        { type: "ESModule", path: `${here}workerd-worker.mjs` },
        ...WEB.flatMap((v) => [
          { type: "ESModule", path: `${here}pkg/web-${v}/sign_bench.js` },
          { type: "CompiledWasm", path: `${here}pkg/web-${v}/sign_bench_bg.wasm` },
        ]),
      ],
      modulesRoot: here,
      compatibilityDate,
    };
    const mf = new Miniflare(convertV4MiniflareOptions ? convertV4MiniflareOptions(opts) : opts);
    await mf.ready;
    workerd = { compatibilityDate, version: JSON.parse(readFileSync(`${here}../../node_modules/workerd/package.json`, "utf8")).version };
    const call = async (path, init) => {
      const res = await mf.dispatchFetch(`http://bench${path}`, init);
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body}`);
      return body;
    };
    const base = async () => {
      const ts = [];
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        await call("/run?n=0");
        ts.push(performance.now() - t0);
      }
      return median(ts);
    };
    try {
      for (const alg of ALGS) {
        const { privJwk, pubJwk } = pairs[alg];
        const checks = JSON.parse(await call("/setup", { method: "POST", body: JSON.stringify({ alg, privJwk, pubJwk }) }));
        for (const [k, ok] of Object.entries(checks)) check(ok, `workerd ${alg}: ${k}`);
        for (const opName of ["sign", "verify"]) {
          const impls = {};
          const run = (impl) => (n) => call(`/run?alg=${alg}&op=${opName}&impl=${impl}&n=${n}`);
          for (const v of WEB) impls[`wasm-${v}`] = run(`wasm-${v}`);
          impls.webcrypto = run("webcrypto");
          if (opName === "sign" && WEB.includes("z")) impls["encode-z"] = run("encode-z");
          await measure("workerd", alg, opName, impls, base);
        }
      }
    } finally {
      await mf.dispose();
    }
  }
}

// Module sizes: every pkg/*/sign_bench_bg.wasm there is (run.sh --sizes adds
// single-algorithm builds), and our worker's own module for scale.
const size = (file) => {
  const b = readFileSync(file);
  return { bytes: b.length, gzip: gzipSync(b, { level: 9 }).length };
};
const sizes = {};
for (const d of readdirSync(`${here}pkg`).sort().filter((d) => !d.startsWith("web-"))) {
  const f = `${here}pkg/${d}/sign_bench_bg.wasm`;
  if (existsSync(f)) sizes[d] = { ...size(f), wasm_opt: existsSync(`${here}pkg/${d}/.wasm-opt`) };
}
const workerWasm = `${here}../../build/index_bg.wasm`;
if (existsSync(workerWasm)) sizes["edge-oidc build/index_bg.wasm"] = size(workerWasm);

const med = (env, alg, op, impl) => results.find((r) => r.env === env && r.alg === alg && r.op === op && r.impl === impl)?.median_us;
const tables = {};
for (const env of ["node", ...(workerd ? ["workerd"] : [])]) {
  const variants = env === "node" ? VARIANTS : WEB;
  tables[env] = [];
  for (const alg of ALGS) {
    for (const op of ["sign", "verify"]) {
      const wc = med(env, alg, op, "webcrypto");
      const row = { alg, op, webcrypto_us: wc };
      if (env === "node") row.node_sync_us = med(env, alg, op, "node-sync");
      for (const v of variants) {
        row[`wasm_${v}_us`] = med(env, alg, op, `wasm-${v}`);
        row[`wasm_${v}_over_webcrypto`] = +(row[`wasm_${v}_us`] / wc).toFixed(2);
      }
      if (op === "sign") row.encode_z_us = med(env, alg, op, "encode-z");
      tables[env].push(row);
    }
  }
}

const meta = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  openssl: process.versions.openssl,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  loadavg_end: loadavg().map((x) => +x.toFixed(2)),
  repeats: REPEATS,
  target_ms: TARGET_MS,
  warmup_ms: WARMUP_MS,
  variants: VARIANTS,
  workerd,
  jwt_compact: readFileSync(`${here}Cargo.lock`, "utf8").match(/name = "jwt-compact"\nversion = "([^"]+)"/)?.[1],
};
writeFileSync(`${here}results.json`, JSON.stringify({ meta, tables, sizes, results }, null, 2) + "\n");

// The tables: µs per operation (median of REPEATS runs), ×WC = wasm ÷ WebCrypto.
const f = (x) => (x === undefined ? "-" : x >= 100 ? x.toFixed(0) : x.toFixed(1));
for (const [env, table] of Object.entries(tables)) {
  const variants = env === "node" ? VARIANTS : WEB;
  const cols = ["alg", "op", ...variants.flatMap((v) => [`wasm ${v} µs`, `×WC`]), "WebCrypto µs", ...(env === "node" ? ["node sync µs"] : []), "encode µs"];
  const lines = table.map((r) => [
    r.alg, r.op,
    ...variants.flatMap((v) => [f(r[`wasm_${v}_us`]), `${r[`wasm_${v}_over_webcrypto`].toFixed(1)}×`]),
    f(r.webcrypto_us), ...(env === "node" ? [f(r.node_sync_us)] : []), f(r.encode_z_us),
  ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => "| " + cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") + " |";
  console.log(
    env === "node"
      ? `\nnode ${process.version} (V8 ${process.versions.v8}, WebCrypto = OpenSSL ${process.versions.openssl}); median of ${REPEATS} runs`
      : `\nworkerd ${workerd.version} via miniflare (WebCrypto = BoringSSL), compatibility_date ${workerd.compatibilityDate}; median of ${REPEATS} runs`,
  );
  console.log(fmt(cols));
  console.log("|" + widths.map((w, i) => (i < 2 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|");
  for (const l of lines) console.log(fmt(l));
}
console.log("\nwasm module sizes (bytes / gzip -9):");
for (const [k, s] of Object.entries(sizes)) console.log(`  ${k.padEnd(32)} ${String(s.bytes).padStart(8)} / ${String(s.gzip).padStart(7)}`);
console.log(`\nwrote ${here}results.json`);
