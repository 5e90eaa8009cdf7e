// bench/authenticator.mjs, the software passkey the bench (and tests) sign
// in with, against node's own verify and the byte layouts the WebAuthn and
// COSE specs give: what it sends is what a server verifying by the book
// accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, verify } from "node:crypto";
import { SoftAuthenticator, cbor } from "../bench/authenticator.mjs";

const RP_ID = "localhost";
const ORIGIN = "http://localhost:8787";
const sha256 = (data) => createHash("sha256").update(data).digest();
const bytes = (b64url) => Buffer.from(b64url, "base64url");
const hex = (s) => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** Whether `assertion` (AuthenticationResponseJSON) verifies with `publicKey`, as a server checks it. */
const verifies = (assertion, publicKey) => verify(
  "sha256",
  Buffer.concat([bytes(assertion.response.authenticatorData), sha256(bytes(assertion.response.clientDataJSON))]),
  publicKey,
  bytes(assertion.response.signature),
);

test("CBOR: the encodings attestation needs (RFC 8949 Appendix A)", () => {
  assert.deepEqual(cbor(0), hex("00"));
  assert.deepEqual(cbor(23), hex("17"));
  assert.deepEqual(cbor(24), hex("1818"));
  assert.deepEqual(cbor(1000), hex("1903e8"));
  assert.deepEqual(cbor(1000000), hex("1a000f4240"));
  assert.deepEqual(cbor(-1), hex("20"));
  assert.deepEqual(cbor(-7), hex("26"));
  assert.deepEqual(cbor(-100), hex("3863"));
  assert.deepEqual(cbor("IETF"), hex("6449455446"));
  assert.deepEqual(cbor(hex("01020304")), hex("4401020304"));
  assert.deepEqual(cbor(new Map([[1, 2], [3, 4]])), hex("a201020304"));
  assert.throws(() => cbor(1.5));
});

test("registration: a none attestation whose credential and COSE key are the authenticator's", () => {
  const a = new SoftAuthenticator({ rpId: RP_ID, origin: ORIGIN });
  const challenge = Buffer.from("registration challenge").toString("base64url");
  const userId = Buffer.from("sub-123").toString("base64url");
  const reg = a.create({ challenge, user: { id: userId } });
  assert.equal(reg.type, "public-key");
  assert.equal(reg.id, reg.rawId);
  assert.deepEqual(JSON.parse(bytes(reg.response.clientDataJSON)), { type: "webauthn.create", challenge, origin: ORIGIN, crossOrigin: false });

  const authData = bytes(reg.response.authenticatorData);
  assert.deepEqual(authData.subarray(0, 32), sha256(RP_ID), "rpIdHash");
  assert.equal(authData[32], 0x45, "flags UP | UV | AT");
  assert.equal(authData.readUInt32BE(33), 0, "signCount");
  assert.deepEqual(authData.subarray(37, 53), Buffer.alloc(16), "aaguid");
  assert.equal(authData.readUInt16BE(53), 16);
  assert.deepEqual(authData.subarray(55, 71), bytes(reg.rawId), "credentialId");
  // RFC 9053 §7.1.1: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
  const cose = authData.subarray(71);
  assert.equal(cose.length, 77);
  assert.deepEqual(cose.subarray(0, 10), hex("a5 01 02 03 26 20 01 21 58 20"));
  assert.deepEqual(cose.subarray(42, 45), hex("22 58 20"));
  const [x, y] = [cose.subarray(10, 42), cose.subarray(45, 77)];
  // The SPKI the response also carries ends with the uncompressed point 04 ‖ x ‖ y.
  assert.deepEqual(bytes(reg.response.publicKey).subarray(-65), Buffer.concat([hex("04"), x, y]));
  assert.equal(reg.response.publicKeyAlgorithm, -7);

  // {"fmt": "none", "attStmt": {}, "authData": <148 bytes>}, in CTAP2's canonical order.
  const attestation = bytes(reg.response.attestationObject);
  assert.deepEqual(attestation.subarray(0, 30), Buffer.concat([
    hex("a3 63"), Buffer.from("fmt"), hex("64"), Buffer.from("none"), hex("67"), Buffer.from("attStmt"), hex("a0 68"),
    Buffer.from("authData"), hex("58 94"),
  ]));
  assert.deepEqual(attestation.subarray(30), authData);

  // The key in the COSE structure is the one that verifies its assertions.
  const key = createPublicKey({ key: { kty: "EC", crv: "P-256", x: x.toString("base64url"), y: y.toString("base64url") }, format: "jwk" });
  assert.ok(verifies(a.get({ challenge }), key));
});

test("authentication: signed over authenticatorData ‖ SHA-256(clientDataJSON), counting up", () => {
  const a = new SoftAuthenticator({ rpId: RP_ID, origin: ORIGIN });
  const userId = Buffer.from("sub-123").toString("base64url");
  const key = createPublicKey({ key: bytes(a.create({ challenge: "AAAA", user: { id: userId } }).response.publicKey), format: "der", type: "spki" });
  const challenge = Buffer.from("sign-in challenge").toString("base64url");
  const first = a.get({ challenge });
  assert.deepEqual([first.id, first.rawId], [a.credentialId.toString("base64url"), a.credentialId.toString("base64url")]);
  assert.equal(first.response.userHandle, userId);
  assert.deepEqual(JSON.parse(bytes(first.response.clientDataJSON)), { type: "webauthn.get", challenge, origin: ORIGIN, crossOrigin: false });
  const authData = bytes(first.response.authenticatorData);
  assert.equal(authData.length, 37);
  assert.deepEqual(authData.subarray(0, 32), sha256(RP_ID));
  assert.equal(authData[32], 0x05, "flags UP | UV");
  assert.equal(authData.readUInt32BE(33), 1);
  assert.equal(bytes(first.response.signature)[0], 0x30, "an ASN.1 DER SEQUENCE");
  assert.ok(verifies(first, key));
  assert.equal(bytes(a.get({ challenge }).response.authenticatorData).readUInt32BE(33), 2, "the counter goes up");

  // A byte changed after signing does not verify.
  const tampered = structuredClone(first);
  const changed = bytes(tampered.response.authenticatorData);
  changed[32] ^= 0x04; // UV
  tampered.response.authenticatorData = changed.toString("base64url");
  assert.ok(!verifies(tampered, key));
  // Assertions a server must refuse for what they say (no UV, another origin
  // and RP ID) are signed as honestly: its own checks have to refuse them.
  const unverified = a.get({ challenge, userVerified: false });
  assert.equal(bytes(unverified.response.authenticatorData)[32], 0x01);
  assert.ok(verifies(unverified, key));
  const elsewhere = a.get({ challenge, origin: "https://evil.example", rpId: "evil.example" });
  assert.equal(JSON.parse(bytes(elsewhere.response.clientDataJSON)).origin, "https://evil.example");
  assert.deepEqual(bytes(elsewhere.response.authenticatorData).subarray(0, 32), sha256("evil.example"));
  assert.ok(verifies(elsewhere, key));
});

test("a synced passkey sets BE and BS; one without a counter always sends 0", () => {
  const synced = new SoftAuthenticator({ rpId: RP_ID, origin: ORIGIN, backupEligible: true, counter: false });
  synced.create({ challenge: "AAAA", user: { id: "dQ" } });
  for (let i = 0; i < 2; i++) {
    const authData = bytes(synced.get({ challenge: "AAAA" }).response.authenticatorData);
    assert.equal(authData[32], 0x1d, "UP | UV | BE | BS");
    assert.equal(authData.readUInt32BE(33), 0);
  }
});
