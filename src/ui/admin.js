// The admin console's copy buttons, served by the worker at /assets/admin.js
// and loaded under the page's CSP nonce. A button[data-copy] copies the value
// of the input whose id it names; the buttons stay hidden without this script,
// and the inputs stay read-only text a person can select and copy by hand.
"use strict";
(() => {
  const status = document.querySelector("[data-copy-status]");
  const say = (text) => { if (status) status.textContent = text; };
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const input = document.getElementById(button.dataset.copy);
    if (!input) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      input.select();
      try {
        if (navigator.clipboard) await navigator.clipboard.writeText(input.value);
        else if (!document.execCommand("copy")) throw new Error("not copied");
        say("Copied " + button.textContent.replace(/^Copy /, "") + ".");
      } catch {
        say("Could not copy: the text is selected, copy it with the keyboard.");
      }
    });
  }
})();
