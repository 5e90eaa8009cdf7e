// A software WebAuthn authenticator, for driving passkey sign-ins without a
// browser (the bench's passkey scenario; integration tests too): one ES256
// passkey (ECDSA P-256 with SHA-256, COSE alg -7) made with node:crypto,
// answering as a browser hands a ceremony's result to the page, in the
// WebAuthn Level 3 JSON forms (RegistrationResponseJSON from `create`,
// AuthenticationResponseJSON from `get`), every binary value base64url
// without padding. Attestation is "none" (no attestation statement).
// tests/authenticator.test.mjs checks it against node's own verify.
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";

// WebAuthn §6.1 authenticator data flags.
const UP = 0x01; // user present
const UV = 0x04; // user verified
const BE = 0x08; // backup eligible
const BS = 0x10; // backed up
const AT = 0x40; // attested credential data included

/** COSE (RFC 9053): key type EC2, algorithm ES256, curve P-256. */
const COSE_EC2 = 2;
const COSE_ES256 = -7;
const COSE_P256 = 1;

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const sha256 = (data) => createHash("sha256").update(data).digest();

/** A CBOR head (RFC 8949 §3): major type and argument. */
function head(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/**
 * CBOR for what attestation needs: integers, byte strings (Buffer or
 * Uint8Array), text strings and maps (a `Map`, whose order is kept: CTAP2's
 * canonical order is the caller's to give).
 */
export function cbor(value) {
  if (Number.isInteger(value)) return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (typeof value === "string") {
    const utf8 = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, utf8.length), utf8]);
  }
  if (value instanceof Map) {
    return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  }
  throw new Error(`cbor: cannot encode ${typeof value}`);
}

export class SoftAuthenticator {
  #privateKey;

  /**
   * `rpId` and `origin`: what the server expects (the host of ISSUER, and
   * its origin). `backupEligible`: a synced passkey (BE and BS set) rather
   * than a device-bound one. `counter`: whether it keeps a signature
   * counter (many passkeys always send 0).
   */
  constructor({ rpId, origin, backupEligible = false, counter = true }) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.#privateKey = privateKey;
    this.publicKey = publicKey;
    this.rpId = rpId;
    this.origin = origin;
    this.backupEligible = backupEligible;
    this.counter = counter;
    /** The signature counter; a test may set it back to play a cloned authenticator. */
    this.signCount = 0;
    this.credentialId = randomBytes(16);
    /** The user handle given at registration (base64url), returned by `get`. */
    this.userHandle = undefined;
  }

  /** The credential public key as a COSE_Key (RFC 9053 §7.1.1), in CTAP2's canonical order. */
  coseKey() {
    const { x, y } = this.publicKey.export({ format: "jwk" });
    return cbor(new Map([
      [1, COSE_EC2], [3, COSE_ES256], [-1, COSE_P256],
      [-2, Buffer.from(x, "base64url")], [-3, Buffer.from(y, "base64url")],
    ]));
  }

  /** WebAuthn §6.1: SHA-256(rpId) ‖ flags ‖ signCount (4 bytes, big-endian) ‖ `attested`. */
  #authenticatorData(rpId, flags, attested = Buffer.alloc(0)) {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter ? this.signCount : 0);
    const backup = this.backupEligible ? BE | BS : 0;
    return Buffer.concat([sha256(rpId), Buffer.from([flags | backup]), count, attested]);
  }

  /** WebAuthn §5.8.1 CollectedClientData, as the browser serialises it. */
  static clientData(type, challenge, origin) {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  #credential(response) {
    const id = b64url(this.credentialId);
    return { id, rawId: id, type: "public-key", authenticatorAttachment: "platform", clientExtensionResults: {}, response };
  }

  /**
   * Registration (navigator.credentials.create): `options` as in
   * PublicKeyCredentialCreationOptionsJSON, of which `challenge` and
   * `user.id` (both base64url) are read. Returns a RegistrationResponseJSON.
   */
  create({ challenge, user }) {
    this.userHandle = user.id;
    const aaguid = Buffer.alloc(16); // "none" attestation: all zeros
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([aaguid, idLength, this.credentialId, this.coseKey()]);
    const authData = this.#authenticatorData(this.rpId, UP | UV | AT, attested);
    const attestationObject = cbor(new Map([["fmt", "none"], ["attStmt", new Map()], ["authData", authData]]));
    return this.#credential({
      clientDataJSON: b64url(SoftAuthenticator.clientData("webauthn.create", challenge, this.origin)),
      attestationObject: b64url(attestationObject),
      authenticatorData: b64url(authData),
      publicKey: b64url(this.publicKey.export({ type: "spki", format: "der" })),
      publicKeyAlgorithm: COSE_ES256,
      transports: ["internal"],
    });
  }

  /**
   * Authentication (navigator.credentials.get) over `challenge` (base64url).
   * `origin`, `rpId` and `userVerified` default to the honest values; a
   * test may change one to make an assertion the server must refuse.
   * Returns an AuthenticationResponseJSON.
   */
  get({ challenge, origin = this.origin, rpId = this.rpId, userVerified = true }) {
    if (this.counter) this.signCount++;
    const authData = this.#authenticatorData(rpId, UP | (userVerified ? UV : 0));
    const clientDataJSON = SoftAuthenticator.clientData("webauthn.get", challenge, origin);
    // WebAuthn §6.3.3: the signature over authenticatorData ‖ SHA-256(clientDataJSON);
    // node signs EC keys in ASN.1 DER, the form WebAuthn asks of ES256 signatures.
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), this.#privateKey);
    return this.#credential({
      clientDataJSON: b64url(clientDataJSON),
      authenticatorData: b64url(authData),
      signature: b64url(signature),
      ...(this.userHandle === undefined ? {} : { userHandle: this.userHandle }),
    });
  }
}
