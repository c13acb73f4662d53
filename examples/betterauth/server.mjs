// SPDX-License-Identifier: MIT
// The example web app bearerd runs in front of: Better Auth (email and
// password, in-memory storage, the jwt plugin)
// at /api/auth/*, a sign-up / sign-in page at / and a tasks page at /tasks
// that calls the API at /api/{user id}/tasks. Browsers reach it only through
// bearerd, on one origin:
//
//   browser ─▶ bearerd ─┬─ /api/auth/**, /, /tasks ─▶ this app
//                       └─ /api/{user_id}/** ─(Bearer, minted)─▶ the API
//
// Configured by environment variables:
//   BETTER_AUTH_SECRET   required, at least 32 bytes; bearerd checks the
//                        session cookie's HMAC with it
//   BETTER_AUTH_URL      the origin browsers use, i.e. bearerd's
//                        (default http://127.0.0.1:8080)
//   HOST (127.0.0.1), PORT (3000)   where this app listens
//   COOKIE_CACHE         off (default: bearerd exchanges the session cookie
//                        itself) | compact | jwt: Better Auth's session_data
//                        cookie cache, for bearerd's better-auth-compact or
//                        jwt credentials
//   COOKIE_CACHE_MAX_AGE seconds the session_data cookie lives (300)
//   TRUSTED_ORIGINS      comma-separated extra origins allowed to POST
// GET /healthz answers "ok". SIGTERM and SIGINT stop it at once (it keeps
// nothing: every start begins with no users).
import "./webcrypto.mjs";

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";

const env = process.env;
const here = path.dirname(fileURLToPath(import.meta.url));

function die(msg) {
	console.error(`betterauth app: ${msg}`);
	process.exit(2);
}

function whole(name, dflt) {
	const v = env[name];
	if (v === undefined || v === "")
		return dflt;
	if (!/^[0-9]+$/.test(v))
		die(`${name} must be a whole number, got "${v}"`);
	return Number(v);
}

const HOST = env.HOST || "127.0.0.1";
const PORT = whole("PORT", 3000);
if (PORT < 1 || PORT > 65535)
	die(`PORT must be 1..65535, got ${PORT}`);
const BASE_URL = env.BETTER_AUTH_URL || "http://127.0.0.1:8080";
const SECRET = env.BETTER_AUTH_SECRET;
if (!SECRET || Buffer.byteLength(SECRET, "utf8") < 32)
	die("BETTER_AUTH_SECRET must be set and at least 32 bytes");
const COOKIE_CACHE = env.COOKIE_CACHE || "off";
if (!["off", "compact", "jwt"].includes(COOKIE_CACHE))
	die(`COOKIE_CACHE must be off, compact or jwt, got "${COOKIE_CACHE}"`);
const session = {};
if (COOKIE_CACHE !== "off")
	session.cookieCache = { enabled: true, strategy: COOKIE_CACHE, maxAge: whole("COOKIE_CACHE_MAX_AGE", 300) };

const auth = betterAuth({
	secret: SECRET,
	baseURL: BASE_URL,
	database: memoryAdapter({ user: [], session: [], account: [], verification: [], jwks: [] }),
	emailAndPassword: { enabled: true },
	session,
	trustedOrigins: (env.TRUSTED_ORIGINS || "").split(",").map((s) => s.trim()).filter((s) => s !== ""),
	telemetry: { enabled: false },
	plugins: [jwt()],
});
const handler = toNodeHandler(auth);

// The jwt plugin makes its key pair on the first token it signs. Make it
// now, so that /api/auth/jwks has the key before the first user signs in:
// bearerd fetches the key set once at start (credential = session).
await auth.api.signJWT({ body: { payload: { sub: "startup" } } });

// The only files served: read once, never a path from the request.
const pages = {
	"/": "index.html",
	"/tasks": "tasks.html",
	"/app.js": "app.js",
	"/style.css": "style.css",
};
const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const files = {};
for (const [url, name] of Object.entries(pages))
	files[url] = { body: fs.readFileSync(path.join(here, "public", name)), type: types[path.extname(name)] };

const server = http.createServer((req, res) => {
	const p = (req.url || "/").split("?")[0];
	if (p.startsWith("/api/auth/"))
		return handler(req, res);
	if (p === "/healthz") {
		res.writeHead(200, { "content-type": "text/plain" });
		return res.end("ok\n");
	}
	const f = files[p];
	if (f !== undefined && (req.method === "GET" || req.method === "HEAD")) {
		res.writeHead(200, {
			"content-type": f.type,
			"cache-control": "no-cache",
			"x-content-type-options": "nosniff",
			"content-security-policy": "default-src 'self'; frame-ancestors 'none'",
		});
		return res.end(req.method === "HEAD" ? undefined : f.body);
	}
	res.writeHead(404, { "content-type": "application/json" });
	res.end('{"error":"not found"}');
});

server.listen(PORT, HOST, () => {
	console.log(JSON.stringify({ listening: `http://${HOST}:${PORT}`, baseURL: BASE_URL, cookieCache: COOKIE_CACHE }));
});

// As PID 1 in a container, node ignores SIGTERM unless it is handled.
for (const sig of ["SIGINT", "SIGTERM"])
	process.on(sig, () => {
		server.close();
		process.exit(0);
	});
