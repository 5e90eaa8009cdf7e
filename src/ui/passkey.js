// The WebAuthn calls of our pages, served by the worker at /assets/passkey.js
// and loaded under each page's CSP nonce. Nothing here decides anything: the
// server put every option on the form (data-* attributes) and verifies what
// comes back. Without this script (or without WebAuthn) the passkey parts of
// a page stay hidden and password sign-in works as before.
//
// A form with data-webauthn="get" (sign in) or "create" (add a passkey) is
// sent with the ceremony's result, as WebAuthn Level 3's JSON form, in its
// hidden `credential` field.
"use strict";
(() => {
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  const enc = (buf) =>
    btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

  // RegistrationResponseJSON / AuthenticationResponseJSON, built by hand:
  // PublicKeyCredential.toJSON() is not in every browser yet.
  function toJSON(cred) {
    const r = cred.response;
    const response = { clientDataJSON: enc(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = enc(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = enc(r.authenticatorData);
      response.signature = enc(r.signature);
      response.userHandle = r.userHandle ? enc(r.userHandle) : null;
    }
    return JSON.stringify({
      id: cred.id,
      rawId: enc(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults(),
      response,
    });
  }

  function say(form, text) {
    const status = form.querySelector("[data-passkey-status]");
    if (status) status.textContent = text;
  }

  function send(form, cred) {
    form.elements.credential.value = toJSON(cred);
    form.submit();
  }

  function failed(form, err) {
    if (err && err.name === "AbortError") return;
    say(
      form,
      err && err.name === "NotAllowedError"
        ? "The passkey request was cancelled or timed out. Try again."
        : "This browser could not use a passkey here."
    );
  }

  function getOptions(form) {
    return {
      challenge: dec(form.dataset.challenge),
      rpId: form.dataset.rpId,
      userVerification: "required",
      timeout: 300000,
    };
  }

  // Sign in: the button asks at once; the username field's autofill offers
  // passkeys too (conditional mediation), where the browser can.
  function signIn(form) {
    let conditional = null;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (conditional) conditional.abort();
      say(form, "");
      navigator.credentials
        .get({ publicKey: getOptions(form) })
        .then((cred) => send(form, cred), (err) => failed(form, err));
    });
    const check = PublicKeyCredential.isConditionalMediationAvailable;
    if (!check) return;
    check.call(PublicKeyCredential).then((available) => {
      if (!available) return;
      conditional = new AbortController();
      navigator.credentials
        .get({ mediation: "conditional", publicKey: getOptions(form), signal: conditional.signal })
        .then((cred) => send(form, cred), (err) => failed(form, err));
    });
  }

  // Add a passkey: a discoverable credential with user verification, no
  // attestation; the person's other passkeys are excluded.
  function register(form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      say(form, "");
      const d = form.dataset;
      const publicKey = {
        challenge: dec(d.challenge),
        rp: { id: d.rpId, name: d.rpName },
        user: { id: dec(d.userId), name: d.userName, displayName: d.userDisplayName },
        // ES256, EdDSA, RS256: what the server verifies.
        pubKeyCredParams: [-7, -8, -257].map((alg) => ({ type: "public-key", alg })),
        excludeCredentials: (d.exclude || "")
          .split(" ")
          .filter(Boolean)
          .map((id) => ({ type: "public-key", id: dec(id) })),
        authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
        attestation: "none",
        timeout: 300000,
      };
      navigator.credentials.create({ publicKey }).then((cred) => send(form, cred), (err) => failed(form, err));
    });
  }

  for (const form of document.querySelectorAll("form[data-webauthn]")) {
    form.hidden = false;
    (form.dataset.webauthn === "get" ? signIn : register)(form);
  }
})();
