// SPDX-License-Identifier: MIT
// Captures real Better Auth tokens and cookies, one fixture JSON per JWT alg.
//
//   (cd tests/betterauth && npm ci) && node tests/data/betterauth/capture.mjs [outdir]
//
// For each alg it starts tests/betterauth/server.mjs twice on 127.0.0.1: once
// with COOKIE_CACHE=jwt (JWKS, /token JWT, session_token cookie, HS256
// session_data) and once with COOKIE_CACHE=compact (compact session_data, a
// second user). Each run signs a user up, asks /api/auth/token, fetches
// /api/auth/jwks, then stops the server by its pid. Values are copied
// verbatim from the wire; nothing here signs or verifies anything.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..", "..");
const serverJs = path.join(root, "tests", "betterauth", "server.mjs");
const outDir = path.resolve(process.argv[2] || here);
const basePort = Number(process.env.BASE_PORT || 3391);
const ALGS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"];
// One random secret per capture; 32 random bytes as base64url (43 chars).
const SECRET = process.env.BETTER_AUTH_SECRET ||
    randomBytes(32).toString("base64url");

function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

async function startServer(port, env) {
	const child = spawn(process.execPath, [serverJs], {
		env: { ...process.env, HOST: "127.0.0.1", PORT: String(port),
		    BETTER_AUTH_SECRET: SECRET,
		    BETTER_AUTH_URL: `http://127.0.0.1:${port}`, ...env },
		stdio: ["ignore", "pipe", "inherit"],
	});
	let exited = false;
	child.on("exit", () => { exited = true; });
	for (let i = 0; i < 100; i++) {
		if (exited)
			throw new Error(`server on ${port} exited early`);
		try {
			const r = await fetch(`http://127.0.0.1:${port}/healthz`);
			if (r.ok && (await r.text()).trim() === "ok")
				return child;
		} catch {
			/* not listening yet */
		}
		await sleep(100);
	}
	child.kill("SIGTERM");
	throw new Error(`server on ${port} did not come up`);
}

function stopServer(child) {
	return new Promise((resolve) => {
		if (child.exitCode !== null)
			return resolve();
		child.on("exit", () => resolve());
		child.kill("SIGTERM");
	});
}

// The raw value of cookie |name| from a response's Set-Cookie lines.
function setCookieValue(res, name) {
	for (const line of res.headers.getSetCookie()) {
		const semi = line.indexOf(";");
		const pair = semi < 0 ? line : line.slice(0, semi);
		const eq = pair.indexOf("=");
		if (eq > 0 && pair.slice(0, eq) === name)
			return pair.slice(eq + 1);
	}
	return null;
}

function decodeJwtPart(part) {
	return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

// Signs up a fresh user and returns what the wire carried.
async function session(port, cache) {
	const base = `http://127.0.0.1:${port}`;
	const email = `fixture-${randomBytes(4).toString("hex")}@example.com`;
	const su = await fetch(`${base}/api/auth/sign-up/email`, {
		method: "POST",
		// undici's fetch looks like a browser (sec-fetch-mode), so
		// Better Auth's CSRF check wants an Origin: send our own.
		headers: { "content-type": "application/json", origin: base },
		body: JSON.stringify({ email, password: "fixture-password-1",
		    name: "Fixture User" }),
	});
	if (su.status !== 200)
		throw new Error(`sign-up: HTTP ${su.status} ${await su.text()}`);
	const body = await su.json();
	const out = { userId: body.user.id, rawToken: body.token };
	out.sessionToken = setCookieValue(su, "better-auth.session_token");
	if (!out.sessionToken)
		throw new Error("sign-up set no better-auth.session_token");
	if (cache !== "off") {
		out.sessionData = setCookieValue(su, "better-auth.session_data");
		if (!out.sessionData)
			throw new Error("sign-up set no better-auth.session_data");
	}
	const cookie = `better-auth.session_token=${out.sessionToken}`;
	const tr = await fetch(`${base}/api/auth/token`, { headers: { cookie } });
	if (tr.status !== 200)
		throw new Error(`/token: HTTP ${tr.status} ${await tr.text()}`);
	out.jwt = (await tr.json()).token;
	const jr = await fetch(`${base}/api/auth/jwks`);
	if (jr.status !== 200)
		throw new Error(`/jwks: HTTP ${jr.status}`);
	out.jwks = await jr.json();
	return out;
}

async function run(port, env, cache) {
	const child = await startServer(port, { ...env, COOKIE_CACHE: cache });
	try {
		return await session(port, cache);
	} finally {
		await stopServer(child);
	}
}

let port = basePort;
for (const alg of ALGS) {
	const a = await run(port++, { JWT_ALG: alg }, "jwt");
	const b = await run(port++, { JWT_ALG: alg }, "compact");
	const [h, p] = a.jwt.split(".");
	const header = decodeJwtPart(h);
	const claims = decodeJwtPart(p);
	if (header.alg !== alg || claims.sub !== a.userId)
		throw new Error(`${alg}: unexpected token ${JSON.stringify(header)}`);
	const sdJwt = decodeJwtPart(a.sessionData.split(".")[1]);
	const sdCompact = JSON.parse(
	    Buffer.from(b.sessionData, "base64url").toString("utf8"));
	const fixture = {
		alg,
		jwks: a.jwks,
		token: a.jwt,
		sub: a.userId,
		iss: claims.iss,
		aud: claims.aud,
		iat: claims.iat,
		exp: claims.exp,
		secret: SECRET,
		session_token_cookie: a.sessionToken,
		session_token: a.rawToken,
		session_data_jwt: a.sessionData,
		session_data_jwt_iat: sdJwt.iat,
		session_data_jwt_exp: sdJwt.exp,
		session_data_compact: b.sessionData,
		session_data_compact_sub: b.userId,
		session_data_compact_expires_at: sdCompact.expiresAt,
	};
	const file = path.join(outDir, `${alg.toLowerCase()}.json`);
	writeFileSync(file, JSON.stringify(fixture, null, 2) + "\n");
	console.log(`wrote ${file}`);
}
