// SPDX-License-Identifier: MIT
// A small real Better Auth server for bearerd's integration tests, fixtures and demo.
//
//   npm ci && BETTER_AUTH_SECRET=$(openssl rand -base64 32) node server.mjs
//
// Configured only by environment variables:
//   PORT (3000), HOST (127.0.0.1; loopback only unless overridden on purpose)
//   BETTER_AUTH_SECRET   required, at least 32 bytes (bearerd refuses shorter secrets)
//   BETTER_AUTH_URL      baseURL, default http://HOST:PORT; https:// switches the
//                        cookie names to __Secure-better-auth.*
//   JWT_ALG              EdDSA (default, Ed25519) | ES256 | ES512 | RS256 | PS256
//   COOKIE_CACHE         off (default) | compact | jwt: session.cookieCache strategy
//   COOKIE_CACHE_MAX_AGE cookie cache lifetime in seconds (300)
//   TRUSTED_ORIGINS      comma-separated extra origins allowed to POST
//   JWT_EXPIRATION       optional jwt lifetime in seconds (Better Auth default: 900)
//   SESSION_EXPIRES_IN, SESSION_UPDATE_AGE  optional, seconds
//
// Storage is Better Auth's in-memory adapter: no native modules, and every
// start begins with no users, no sessions and a fresh JWKS key pair.
// GET /healthz answers "ok"; /api/auth/* is Better Auth; anything else is 404.
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";

const env = process.env;

function die(msg) {
	console.error(`betterauth server: ${msg}`);
	process.exit(2);
}

// A whole number from the environment (seconds, or the port), else |dflt|.
function seconds(name, dflt) {
	const v = env[name];
	if (v === undefined || v === "")
		return dflt;
	if (!/^[0-9]+$/.test(v))
		die(`${name} must be a whole number, got "${v}"`);
	return Number(v);
}

const HOST = env.HOST || "127.0.0.1";
const PORT = seconds("PORT", 3000);
if (PORT < 1 || PORT > 65535)
	die(`PORT must be 1..65535 (the base URL names it), got ${PORT}`);
const BASE_URL = env.BETTER_AUTH_URL || `http://${HOST}:${PORT}`;
const SECRET = env.BETTER_AUTH_SECRET;
if (!SECRET || Buffer.byteLength(SECRET, "utf8") < 32)
	die("BETTER_AUTH_SECRET must be set and at least 32 bytes");

// The algorithms Better Auth 1.7's jwks.keyPairConfig accepts; HS* is not
// one of them (the plugin answers 500), so it is refused here up front.
const ALGS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"];
const JWT_ALG = env.JWT_ALG || "EdDSA";
if (!ALGS.includes(JWT_ALG))
	die(`JWT_ALG must be one of ${ALGS.join(", ")}, got "${JWT_ALG}"`);
const keyPairConfig = { alg: JWT_ALG };
if (JWT_ALG === "EdDSA")
	keyPairConfig.crv = "Ed25519";

const jwtOptions = { jwks: { keyPairConfig }, jwt: {} };
if (env.JWT_EXPIRATION)
	jwtOptions.jwt.expirationTime = `${seconds("JWT_EXPIRATION", 900)}s`;

const COOKIE_CACHE = env.COOKIE_CACHE || "off";
if (!["off", "compact", "jwt"].includes(COOKIE_CACHE))
	die(`COOKIE_CACHE must be off, compact or jwt, got "${COOKIE_CACHE}"`);
const session = {};
if (env.SESSION_EXPIRES_IN)
	session.expiresIn = seconds("SESSION_EXPIRES_IN", 604800);
if (env.SESSION_UPDATE_AGE)
	session.updateAge = seconds("SESSION_UPDATE_AGE", 86400);
if (COOKIE_CACHE !== "off") {
	session.cookieCache = {
		enabled: true,
		strategy: COOKIE_CACHE,
		maxAge: seconds("COOKIE_CACHE_MAX_AGE", 300),
	};
}

const trustedOrigins = (env.TRUSTED_ORIGINS || "")
	.split(",").map((s) => s.trim()).filter((s) => s !== "");

const db = { user: [], session: [], account: [], verification: [], jwks: [] };

const auth = betterAuth({
	secret: SECRET,
	baseURL: BASE_URL,
	database: memoryAdapter(db),
	emailAndPassword: { enabled: true },
	session,
	trustedOrigins,
	telemetry: { enabled: false },
	plugins: [jwt(jwtOptions)],
});

const handler = toNodeHandler(auth);

const server = http.createServer((req, res) => {
	const path = (req.url || "/").split("?")[0];
	if (path === "/healthz") {
		res.writeHead(200, { "content-type": "text/plain" });
		res.end("ok\n");
		return;
	}
	if (path.startsWith("/api/auth/"))
		return handler(req, res);
	res.writeHead(404, { "content-type": "application/json" });
	res.end('{"error":"not found"}');
});

server.listen(PORT, HOST, () => {
	const a = server.address();
	// One JSON line so a test harness can wait for it and read the port.
	console.log(JSON.stringify({
		listening: `http://${HOST}:${a.port}`, baseURL: BASE_URL,
		jwtAlg: JWT_ALG, cookieCache: COOKIE_CACHE,
	}));
});

for (const sig of ["SIGINT", "SIGTERM"])
	process.on(sig, () => server.close(() => process.exit(0)));
