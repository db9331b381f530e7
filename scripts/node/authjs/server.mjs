// A small Auth.js (@auth/core) deployment for authport's authjs adapter:
// its tests, the conformance harness, the example web app and the browser
// suite run against it. Everything a session is made of (cookies, JWEs,
// database rows) comes from the library's own code paths.
//
// Instances (each an Auth.js configuration, served under its base path):
//
//	/api/auth           JWT strategy, Credentials provider, secret S
//	/secure/api/auth    the same with useSecureCookies (__Secure- names)
//	/rotated/api/auth   JWT strategy after a secret rotation: secrets [S2, S]
//	/db/api/auth        database strategy on PostgreSQL (@auth/pg-adapter),
//	                    email sign-in whose verification link is captured
//
// Test routes (JSON in, JSON out; loopback only):
//
//	POST /test/users    {email,password,name?,image?,role?} -> {id}
//	POST /test/signin   {instance,email,password?,pad?}     -> {cookies:[{name,value}]}
//	POST /test/signout  {instance,cookies}                   -> {}   (the library's sign-out)
//	POST /test/expire   {sessionToken}                       -> {}   (adapter.updateSession)
//	POST /test/encode   {secret:"main"|"rotated"|"foreign",salt,token,maxAge} -> {jwe}
//	POST /test/decode   {salt,jwe}                           -> {token}  (null if refused)
//	GET  /healthz
//
// Environment: HOST, PORT (0 = any), AUTHPORT_TEST_POSTGRES_URL (a server
// where the database authport_authjs is created, or AUTHJS_DATABASE_URL to
// name the database directly), AUTH_SECRET and AUTHJS_ROTATED_SECRET
// (random when unset), AUTHPORT_SERVICE_ENV_FILE (the secrets and database
// URL are appended to it, for the Go tests).
import http from "node:http";
import crypto from "node:crypto";
import fs from "node:fs";
import { Auth } from "@auth/core";
import Credentials from "@auth/core/providers/credentials";
import { encode, decode } from "@auth/core/jwt";
import PostgresAdapter from "@auth/pg-adapter";
import pg from "pg";

const HOST = process.env.HOST || "127.0.0.1";
const PORT = Number(process.env.PORT || 0);
const S = process.env.AUTH_SECRET || crypto.randomBytes(32).toString("base64url");
const S2 = process.env.AUTHJS_ROTATED_SECRET || crypto.randomBytes(32).toString("base64url");
const SECRETS = { main: [S], rotated: [S2, S] };

// ---------------------------------------------------------------- database

async function databaseURL() {
  if (process.env.AUTHJS_DATABASE_URL) return process.env.AUTHJS_DATABASE_URL;
  const base = process.env.AUTHPORT_TEST_POSTGRES_URL;
  if (!base) throw new Error("AUTHPORT_TEST_POSTGRES_URL (or AUTHJS_DATABASE_URL) is not set");
  const name = "authport_authjs";
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    const r = await admin.query("select 1 from pg_database where datname = $1", [name]);
    if (r.rowCount === 0) {
      try {
        await admin.query(`create database ${name}`);
      } catch (e) {
        if (e.code !== "42P04" && e.code !== "23505") throw e; // created concurrently
      }
    }
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = "/" + name;
  return u.toString();
}

// The @auth/pg-adapter schema (its documented schema.sql), plus the role
// column an application adds, plus this app's own password table.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS verification_token (
  identifier TEXT NOT NULL,
  expires TIMESTAMPTZ NOT NULL,
  token TEXT NOT NULL,
  PRIMARY KEY (identifier, token)
);
CREATE TABLE IF NOT EXISTS accounts (
  id SERIAL,
  "userId" INTEGER NOT NULL,
  type VARCHAR(255) NOT NULL,
  provider VARCHAR(255) NOT NULL,
  "providerAccountId" VARCHAR(255) NOT NULL,
  refresh_token TEXT,
  access_token TEXT,
  expires_at BIGINT,
  id_token TEXT,
  scope TEXT,
  session_state TEXT,
  token_type TEXT,
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS sessions (
  id SERIAL,
  "userId" INTEGER NOT NULL,
  expires TIMESTAMPTZ NOT NULL,
  "sessionToken" VARCHAR(255) NOT NULL,
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS users (
  id SERIAL,
  name VARCHAR(255),
  email VARCHAR(255),
  "emailVerified" TIMESTAMPTZ,
  image TEXT,
  PRIMARY KEY (id)
);
ALTER TABLE users ADD COLUMN IF NOT EXISTS role TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS sessions_token_idx ON sessions ("sessionToken");
CREATE TABLE IF NOT EXISTS app_passwords (
  email TEXT PRIMARY KEY,
  hash TEXT NOT NULL
);
`;

const dbURL = await databaseURL();
const pool = new pg.Pool({ connectionString: dbURL, max: 5 });
{
  const c = await pool.connect();
  try {
    await c.query("select pg_advisory_lock(7315)");
    await c.query(SCHEMA);
  } finally {
    await c.query("select pg_advisory_unlock(7315)").catch(() => {});
    c.release();
  }
}
const adapter = PostgresAdapter(pool);

function hashPassword(pw) {
  const salt = crypto.randomBytes(16);
  const h = crypto.scryptSync(pw, salt, 32);
  return salt.toString("base64") + "$" + h.toString("base64");
}

function checkPassword(pw, stored) {
  const [salt, h] = String(stored).split("$");
  const got = crypto.scryptSync(pw, Buffer.from(salt, "base64"), 32);
  const want = Buffer.from(h, "base64");
  return want.length === got.length && crypto.timingSafeEqual(got, want);
}

// ------------------------------------------------------------ Auth.js setup

// The application's user lookup for the Credentials provider.
async function authorize(credentials) {
  const email = String(credentials?.email ?? "");
  const pw = String(credentials?.password ?? "");
  const r = await pool.query(
    `select u.id, u.name, u.email, u.image, u.role, p.hash from users u join app_passwords p on p.email = u.email where u.email = $1`,
    [email],
  );
  if (r.rowCount === 0 || !checkPassword(pw, r.rows[0].hash)) return null;
  const u = r.rows[0];
  const pad = Number(credentials?.pad ?? 0);
  return { id: String(u.id), name: u.name, email: u.email, image: u.image, role: u.role, pad: pad > 0 ? "p".repeat(Math.min(pad, 20000)) : undefined };
}

const callbacks = {
  // The application adds its role claim (and, for the chunking tests, a
  // large claim) to the token, as an Auth.js app does in its jwt callback.
  async jwt({ token, user }) {
    if (user) {
      if (user.role) token.role = user.role;
      if (user.pad) token.pad = user.pad;
    }
    return token;
  },
};

// A refused sign-in is the library's normal answer, not worth a stack.
const logger = {
  error(e) {
    if (e?.type !== "CredentialsSignin") console.error(e);
  },
  warn() {},
  debug() {},
};

// Verification links of the email provider, by email address.
const mailbox = new Map();

// Every configuration names the adapter: @auth/core's config assertion
// keeps module-level flags (an email provider seen once makes every later
// configuration without an adapter fail), so one process serving several
// configurations needs it on all. With the JWT strategy and Credentials the
// adapter is never called, so the cookies are those of an adapter-less app.
function jwtConfig(basePath, secret, extra = {}) {
  return {
    basePath,
    secret,
    trustHost: true,
    adapter,
    logger,
    session: { strategy: "jwt" },
    providers: [
      Credentials({
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        authorize,
      }),
    ],
    callbacks,
    ...extra,
  };
}

const instances = {
  jwt: jwtConfig("/api/auth", SECRETS.main),
  secure: jwtConfig("/secure/api/auth", SECRETS.main, { useSecureCookies: true }),
  rotated: jwtConfig("/rotated/api/auth", SECRETS.rotated),
  db: {
    basePath: "/db/api/auth",
    secret: SECRETS.main,
    trustHost: true,
    logger,
    adapter,
    session: { strategy: "database" },
    providers: [
      {
        id: "email",
        type: "email",
        name: "Email",
        from: "auth@example.com",
        maxAge: 600,
        options: {},
        async sendVerificationRequest({ identifier, url }) {
          mailbox.set(identifier, url);
        },
      },
    ],
  },
};

function instanceFor(pathname) {
  let best = null;
  for (const cfg of Object.values(instances)) {
    if (pathname === cfg.basePath || pathname.startsWith(cfg.basePath + "/")) {
      if (!best || cfg.basePath.length > best.basePath.length) best = cfg;
    }
  }
  return best;
}

// ------------------------------------------------------- in-process client

class Jar {
  constructor() {
    this.m = new Map();
  }
  take(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || attrs.some((a) => /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (gone || value === "") this.m.delete(name);
      else this.m.set(name, value);
    }
  }
  header() {
    return [...this.m].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

// call runs one request through Auth.js in process, as a browser would.
async function call(cfg, jar, method, path, form) {
  const headers = { cookie: jar.header() };
  let body;
  if (form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  }
  const res = await Auth(new Request(origin + path, { method, headers, body }), cfg);
  jar.take(res);
  return res;
}

async function csrf(cfg, jar) {
  const res = await call(cfg, jar, "GET", cfg.basePath + "/csrf");
  return (await res.json()).csrfToken;
}

function sessionCookies(jar) {
  return [...jar.m]
    .filter(([k]) => /(^|__Secure-)authjs\.session-token(\.\d+)?$/.test(k))
    .map(([name, value]) => ({ name, value }));
}

async function signIn(name, { email, password, pad }) {
  const cfg = instances[name];
  if (!cfg) throw httpError(400, "unknown instance");
  const jar = new Jar();
  const csrfToken = await csrf(cfg, jar);
  if (name === "db") {
    mailbox.delete(email);
    await call(cfg, jar, "POST", cfg.basePath + "/signin/email", { csrfToken, email, callbackUrl: origin + "/" });
    const link = mailbox.get(email);
    if (!link) throw httpError(401, "no verification link was sent");
    mailbox.delete(email);
    const u = new URL(link);
    await call(cfg, jar, "GET", u.pathname + u.search);
  } else {
    const form = { csrfToken, email, password: password ?? "", callbackUrl: origin + "/" };
    if (pad) form.pad = String(pad);
    await call(cfg, jar, "POST", cfg.basePath + "/callback/credentials", form);
  }
  const cookies = sessionCookies(jar);
  if (cookies.length === 0) throw httpError(401, "sign-in refused");
  return { cookies };
}

async function signOut(name, cookies) {
  const cfg = instances[name];
  if (!cfg) throw httpError(400, "unknown instance");
  const jar = new Jar();
  for (const c of cookies ?? []) jar.m.set(c.name, c.value);
  const csrfToken = await csrf(cfg, jar);
  const res = await call(cfg, jar, "POST", cfg.basePath + "/signout", { csrfToken, callbackUrl: origin + "/" });
  if (res.status >= 400) throw httpError(502, "sign-out failed: " + res.status);
  return {};
}

// ------------------------------------------------------------- test routes

function httpError(status, message) {
  const e = new Error(message);
  e.status = status;
  return e;
}

async function readJSON(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > 1 << 20) throw httpError(413, "body too large");
    chunks.push(c);
  }
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {};
}

const routes = {
  async "POST /test/users"(b) {
    const email = String(b.email ?? "").toLowerCase();
    if (!email) throw httpError(400, "email required");
    const user = await adapter.createUser({ email, name: b.name ?? null, image: b.image ?? null, emailVerified: null });
    if (b.role) await pool.query("update users set role = $2 where id = $1", [user.id, b.role]);
    if (b.password) await pool.query("insert into app_passwords (email, hash) values ($1, $2) on conflict (email) do update set hash = excluded.hash", [email, hashPassword(b.password)]);
    return { id: String(user.id) };
  },
  async "POST /test/signin"(b) {
    return signIn(String(b.instance ?? "jwt"), { email: String(b.email ?? "").toLowerCase(), password: b.password, pad: b.pad });
  },
  async "POST /test/signout"(b) {
    return signOut(String(b.instance ?? "jwt"), b.cookies);
  },
  async "POST /test/expire"(b) {
    const sessionToken = String(b.sessionToken);
    if (!(await adapter.getSessionAndUser(sessionToken))) throw httpError(404, "no such session");
    await adapter.updateSession({ sessionToken, expires: new Date(Date.now() - 60_000) });
    return {};
  },
  async "POST /test/encode"(b) {
    const secret = b.secret === "foreign" ? crypto.randomBytes(32).toString("base64url") : SECRETS[b.secret ?? "main"];
    if (!secret) throw httpError(400, "unknown secret");
    const jwe = await encode({ token: b.token ?? {}, secret, salt: String(b.salt ?? "authjs.session-token"), maxAge: b.maxAge ?? undefined });
    return { jwe };
  },
  async "POST /test/decode"(b) {
    try {
      const token = await decode({ token: String(b.jwe), secret: SECRETS[b.secret ?? "main"], salt: String(b.salt ?? "authjs.session-token") });
      return { token };
    } catch {
      return { token: null };
    }
  },
};

async function toRequest(req) {
  const host = req.headers["x-forwarded-host"] || req.headers.host || `${HOST}:${PORT}`;
  const proto = req.headers["x-forwarded-proto"] || "http";
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else if (v !== undefined) headers.set(k, v);
  }
  let body;
  if (req.method !== "GET" && req.method !== "HEAD") {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    body = Buffer.concat(chunks);
  }
  return new Request(`${proto}://${host}${req.url}`, { method: req.method, headers, body });
}

async function send(res, response) {
  const headers = {};
  response.headers.forEach((v, k) => {
    if (k !== "set-cookie") headers[k] = v;
  });
  const sc = response.headers.getSetCookie();
  if (sc.length) headers["set-cookie"] = sc;
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

let origin = "";
const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  try {
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" });
      return res.end("ok");
    }
    const route = routes[`${req.method} ${path}`];
    if (route) {
      const out = await route(await readJSON(req));
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(out));
    }
    const cfg = instanceFor(path);
    if (cfg) return send(res, await Auth(await toRequest(req), cfg));
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  } catch (e) {
    const status = e.status || 500;
    if (status === 500) console.error(e);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: e.message }));
  }
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  origin = `http://${HOST}:${port}`;
  if (process.env.AUTHPORT_SERVICE_ENV_FILE) {
    fs.appendFileSync(
      process.env.AUTHPORT_SERVICE_ENV_FILE,
      `AUTHPORT_TEST_AUTHJS_SECRET=${S}\nAUTHPORT_TEST_AUTHJS_ROTATED_SECRET=${S2}\nAUTHPORT_TEST_AUTHJS_DATABASE_URL=${dbURL}\n`,
    );
  }
  console.log(`authjs listening on ${origin}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.closeAllConnections();
    server.close();
    pool.end().finally(() => process.exit(0));
  });
}
