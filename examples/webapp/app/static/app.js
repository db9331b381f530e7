// Calls GET /api/me with the session cookie and shows the answer.
"use strict";
document.getElementById("call-api").addEventListener("click", async () => {
  const out = document.getElementById("api-result");
  out.textContent = "Calling /api/me…";
  try {
    const r = await fetch("/api/me", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const body = await r.text();
    out.textContent = r.status + " " + r.statusText + "\n" + body;
    out.dataset.status = String(r.status);
  } catch (e) {
    out.textContent = "Request failed: " + e;
    out.dataset.status = "error";
  }
});
