// Signs in through the JavaScript auth server's email and password endpoint
// (Better Auth's POST /api/auth/sign-in/email), then goes where the query's
// "next" says (a same-origin path; default /app/).
"use strict";
document.getElementById("js-sign-in").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = document.getElementById("js-sign-in-result");
  out.textContent = "Signing in…";
  const next = new URLSearchParams(location.search).get("next") || "/app/";
  try {
    const r = await fetch("/api/auth/sign-in/email", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
      }),
    });
    if (!r.ok) {
      out.textContent = "Sign-in failed (" + r.status + ")";
      return;
    }
    location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/app/");
  } catch (e) {
    out.textContent = "Request failed: " + e;
  }
});
