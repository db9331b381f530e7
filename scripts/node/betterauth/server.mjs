// A small Better Auth server on PostgreSQL, for authport's tests and examples.
//
// It runs the real better-auth library (version pinned in package.json) with
// email and password sign-in and the jwt, bearer, admin and organization
// plugins, serves the library's handler under /api/auth/*, and adds:
//
//   GET  /healthz                 200 once the database is migrated
//   POST /test/users              {email,password,name?,role?,org?} -> {id,orgId}
//   POST /test/set-role           {userId,role}
//   POST /test/ban                {userId}
//   POST /test/revoke             {token}      (admin revoke-user-session)
//   POST /test/revoke-user        {userId}     (admin revoke-user-sessions)
//   POST /test/expire             {token}      (session.expiresAt moved into the past)
//   GET  /test/signing-keys       the JWT plugin's keys with their private JWKs
//   POST /test/set-active-org     {token, organizationId}
//
// The /test/* routes exist only with AUTHPORT_BA_TEST_ROUTES unset or "1" and
// only ever listen on the loopback address. They use the library's own
// server-side API (auth.api.*, and its internal adapter where the library
// offers no endpoint: moving an expiry, reading the key table).
//
// Environment (the service contract of scripts/services.sh, plus):
//   HOST, PORT                     where to listen (default 127.0.0.1, 0)
//   AUTHPORT_SERVICE_ENV_FILE      KEY=VALUE lines for the Go tests are appended here
//   AUTHPORT_TEST_POSTGRES_URL     a PostgreSQL server; the app (re)creates its own database
//   AUTHPORT_BA_DATABASE           that database's name (default authport_betterauth)
//   BETTER_AUTH_SECRET / BETTER_AUTH_SECRETS / AUTH_SECRET
//                                  read by the library itself; without any, a secret is
//                                  generated and written to the env file
//   BETTER_AUTH_URL                the base URL (default http://HOST:PORT)
//   BETTER_AUTH_TRUSTED_ORIGINS    extra trusted origins (comma separated)
//   AUTHPORT_BA_COOKIE_CACHE       compact|jwt|jwe enables session.cookieCache
//   AUTHPORT_BA_COOKIE_CACHE_MAX_AGE  seconds (default 300)
//   AUTHPORT_BA_COOKIE_PREFIX      advanced.cookiePrefix
//   AUTHPORT_BA_SECURE_COOKIES     "1": advanced.useSecureCookies (__Secure- names)
//   AUTHPORT_BA_JWT_ALG            EdDSA (default), ES256, ES512, RS256, PS256
//   AUTHPORT_BA_RATE_LIMIT         "1": keep the library's rate limit (off for tests)
//   AUTHPORT_BA_SESSION_DATA_BIG   "1": a large additional user field, so the
//                                  session_data cookie is chunked
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import pg from "pg";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";
import { symmetricDecrypt } from "better-auth/crypto";
import { admin, bearer, jwt, organization } from "better-auth/plugins";

const env = process.env;
const host = env.HOST || "127.0.0.1";
const envFile = env.AUTHPORT_SERVICE_ENV_FILE;

function fail(msg) {
	console.error("betterauth: " + msg);
	process.exit(1);
}

if (!["127.0.0.1", "localhost", "::1"].includes(host)) fail("HOST must be a loopback address");
if (!env.AUTHPORT_TEST_POSTGRES_URL) fail("AUTHPORT_TEST_POSTGRES_URL is not set");

// The database: our own, created afresh at every start (its rows, such as
// the JWT plugin's keys encrypted with the secret, belong to one run), so Go
// tests' databases and this app's tables never meet.
const dbName = env.AUTHPORT_BA_DATABASE || "authport_betterauth";
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(dbName)) fail("AUTHPORT_BA_DATABASE must be a plain identifier");
const serverURL = new URL(env.AUTHPORT_TEST_POSTGRES_URL);
{
	const c = new pg.Client({ connectionString: serverURL.toString() });
	await c.connect();
	await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
	await c.query(`CREATE DATABASE "${dbName}"`);
	await c.end();
}
const dbURL = new URL(serverURL);
dbURL.pathname = "/" + dbName;
const pool = new pg.Pool({ connectionString: dbURL.toString(), max: 10 });

// The secret: the library reads BETTER_AUTH_SECRETS, BETTER_AUTH_SECRET and
// AUTH_SECRET itself; generate one only when none is given.
let secret;
if (!env.BETTER_AUTH_SECRETS && !env.BETTER_AUTH_SECRET && !env.AUTH_SECRET) {
	secret = crypto.randomBytes(32).toString("base64url");
}

// Listen first, so the base URL can name the port.
const server = http.createServer();
await new Promise((resolve, reject) => {
	server.once("error", reject);
	server.listen(Number(env.PORT || 0), host, resolve);
});
const port = server.address().port;
const baseURL = env.BETTER_AUTH_URL || `http://${host}:${port}`;

const cacheStrategy = env.AUTHPORT_BA_COOKIE_CACHE || "";
if (cacheStrategy && !["compact", "jwt", "jwe"].includes(cacheStrategy)) fail("AUTHPORT_BA_COOKIE_CACHE must be compact, jwt or jwe");
const jwtAlg = env.AUTHPORT_BA_JWT_ALG || "EdDSA";
const keyPairConfig = { alg: jwtAlg };
if (jwtAlg === "EdDSA") keyPairConfig.crv = "Ed25519";

const options = {
	appName: "authport-betterauth",
	baseURL,
	database: pool,
	emailAndPassword: { enabled: true, autoSignIn: true },
	trustedOrigins: (env.BETTER_AUTH_TRUSTED_ORIGINS || "").split(",").map((s) => s.trim()).filter(Boolean),
	session: {},
	advanced: {},
	user: {},
	// The library rate-limits sign-in (3 per 10 s per address); tests sign
	// in far more often from one address.
	rateLimit: { enabled: env.AUTHPORT_BA_RATE_LIMIT === "1" },
	plugins: [jwt({ jwks: { keyPairConfig } }), bearer(), admin(), organization()],
};
if (secret) options.secret = secret;
if (cacheStrategy) {
	options.session.cookieCache = {
		enabled: true,
		strategy: cacheStrategy,
		maxAge: Number(env.AUTHPORT_BA_COOKIE_CACHE_MAX_AGE || 300),
	};
}
if (env.AUTHPORT_BA_COOKIE_PREFIX) options.advanced.cookiePrefix = env.AUTHPORT_BA_COOKIE_PREFIX;
if (env.AUTHPORT_BA_SECURE_COOKIES === "1") options.advanced.useSecureCookies = true;
if (env.AUTHPORT_BA_SESSION_DATA_BIG === "1") {
	options.user.additionalFields = { bio: { type: "string", required: false, defaultValue: "" } };
}

const auth = betterAuth(options);
const { runMigrations } = await getMigrations(options);
await runMigrations();
const ctx = await auth.$context;

// An administrator for the admin plugin's endpoints, which need an admin
// session even on the server.
const adminEmail = `authport-admin-${crypto.randomBytes(6).toString("hex")}@example.com`;
const adminPassword = crypto.randomBytes(18).toString("base64url");
{
	await auth.api.createUser({ body: { email: adminEmail, password: adminPassword, name: "authport admin", role: "admin" } });
}
async function adminHeaders() {
	const res = await auth.api.signInEmail({ body: { email: adminEmail, password: adminPassword }, asResponse: true });
	const h = new Headers();
	h.set("cookie", res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; "));
	return h;
}
let adminH = await adminHeaders();

async function readJSON(req) {
	let body = "";
	for await (const chunk of req) {
		body += chunk;
		if (body.length > 1 << 20) throw new Error("body too large");
	}
	return body ? JSON.parse(body) : {};
}

function send(res, status, obj) {
	const b = JSON.stringify(obj ?? null);
	res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(b) });
	res.end(b);
}

// asAdmin retries once with a fresh admin session (the admin's own session
// may have been revoked by a test).
async function asAdmin(call) {
	try {
		return await call(adminH);
	} catch (e) {
		if (e?.status !== "UNAUTHORIZED" && e?.statusCode !== 401) throw e;
		adminH = await adminHeaders();
		return await call(adminH);
	}
}

const testRoutes = {
	"POST /test/users": async (b) => {
		const body = { email: b.email, password: b.password, name: b.name || b.email };
		if (b.role) body.role = b.role;
		if (b.bio) body.data = { bio: b.bio };
		const r = await auth.api.createUser({ body });
		let orgId = "";
		if (b.org) {
			const org = await auth.api.createOrganization({ body: { name: b.org, slug: b.org, userId: r.user.id } });
			orgId = org.id;
		}
		return { id: r.user.id, orgId };
	},
	"POST /test/set-role": async (b) => {
		await asAdmin((headers) => auth.api.setRole({ headers, body: { userId: b.userId, role: b.role } }));
		return {};
	},
	"POST /test/ban": async (b) => {
		await asAdmin((headers) => auth.api.banUser({ headers, body: { userId: b.userId } }));
		return {};
	},
	"POST /test/revoke": async (b) => {
		await asAdmin((headers) => auth.api.revokeUserSession({ headers, body: { sessionToken: b.token } }));
		return {};
	},
	"POST /test/revoke-user": async (b) => {
		await asAdmin((headers) => auth.api.revokeUserSessions({ headers, body: { userId: b.userId } }));
		return {};
	},
	"POST /test/expire": async (b) => {
		await ctx.internalAdapter.updateSession(b.token, { expiresAt: new Date(Date.now() - 60_000) });
		return {};
	},
	"POST /test/set-active-org": async (b) => {
		const headers = new Headers({ authorization: "Bearer " + b.token });
		await auth.api.setActiveOrganization({ headers, body: { organizationId: b.organizationId } });
		return {};
	},
	"GET /test/signing-keys": async () => {
		// Make sure a key exists (the plugin creates it on first use).
		await fetch(baseURL + "/api/auth/jwks");
		const rows = await ctx.adapter.findMany({ model: "jwks" });
		const out = [];
		for (const row of rows) {
			let priv = row.privateKey;
			try {
				priv = await symmetricDecrypt({ key: ctx.secretConfig, data: JSON.parse(row.privateKey) });
			} catch {
				// stored unencrypted
			}
			let jwk = JSON.parse(priv);
			if (typeof jwk === "string") jwk = JSON.parse(jwk);
			out.push({ kid: row.id, alg: row.alg || jwtAlg, privateJWK: jwk, publicJWK: JSON.parse(row.publicKey) });
		}
		return out;
	},
};

const handler = toNodeHandler(auth);
const testsOn = env.AUTHPORT_BA_TEST_ROUTES === undefined || env.AUTHPORT_BA_TEST_ROUTES === "1";
server.on("request", async (req, res) => {
	const path = (req.url || "/").split("?")[0];
	if (path === "/healthz") return send(res, 200, { ok: true });
	if (path.startsWith("/api/auth/") || path === "/api/auth") return handler(req, res);
	const route = testsOn && testRoutes[req.method + " " + path];
	if (!route) return send(res, 404, { error: "not_found" });
	try {
		send(res, 200, await route(await readJSON(req)));
	} catch (e) {
		const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
		send(res, status, { error: String(e?.body?.code || e?.status || "error"), message: String(e?.body?.message || e?.message || e) });
	}
});

if (envFile) {
	const lines = [`AUTHPORT_TEST_BETTERAUTH_DATABASE_URL=${dbURL.toString()}`];
	if (secret) lines.push(`AUTHPORT_TEST_BETTERAUTH_SECRET=${secret}`);
	fs.appendFileSync(envFile, lines.join("\n") + "\n");
}
console.log(`betterauth: listening on http://${host}:${port} base ${baseURL} (database ${dbName})`);

function shutdown() {
	server.closeAllConnections?.();
	server.close(() => pool.end().finally(() => process.exit(0)));
	setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
