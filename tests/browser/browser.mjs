// SPDX-License-Identifier: MIT
// The browser test: Debian's Chromium, driven by playwright-core, uses the
// demo stack through bearerd's port only, as a person would. Started by
// tests/browser/run inside scripts/demo (DEMO_EXEC), which sets DEMO_URL.
//
//   1. A and B sign up on the demo page; each adds a task and sees exactly
//      its own list (the page calls /api/{id}/tasks through bearerd, and the
//      backend verifies the Bearer token bearerd sends).
//   2. A asks for B's tasks from the tasks page and with fetch, and tries to
//      add one to B's list: bearerd itself answers 403 (problem+json, so the
//      request never reached the backend), and no B data reaches A's page.
//   3. A signs out: the API answers 401.
//   4. A screenshot of A's tasks page is saved as a test artifact.
//
// Prints TAP (one line per check, the plan at the end); exits 1 if any
// check failed or the run stopped early.
// Env: DEMO_URL (required), BROWSER_SHOTS (directory for the screenshot,
// default build/browser), CHROMIUM (/usr/bin/chromium).
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { chromium } from "playwright-core";

const url = process.env.DEMO_URL;
if (!url) {
	console.log("Bail out! DEMO_URL is not set (run tests/browser/run)");
	process.exit(1);
}
const shots = process.env.BROWSER_SHOTS || "build/browser";
const PASSWORD = "correct horse battery staple";
const tag = randomUUID().slice(0, 8);
// Never a downloaded browser. Without the background-networking flags
// Chromium keeps calling out to Google's hosts, which a closed network
// refuses; playwright adds a fresh, empty --user-data-dir of its own.
const FLAGS = [
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
];

let n = 0;
let failures = 0;
const t0 = Date.now();
function check(ok, what, detail) {
	n++;
	if (!ok)
		failures++;
	console.log(`${ok ? "ok" : "not ok"} ${n} - ${what}`);
	if (!ok && detail !== undefined)
		console.log(`  # ${String(detail).replace(/\n/g, "\n  # ")}`);
	return ok;
}
function note(msg) {
	console.log(`# ${msg}`);
}
const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

const tasksUrl = (id) => `${url}/api/${encodeURIComponent(id)}/tasks`;
const isCall = (method, u) => (r) => r.request().method() === method && r.url() === u;

// Problems the pages hit fail the run: a script error, a console error
// (a CSP refusal), an HTTP error status nobody asked for. The refusals the
// test provokes are listed in `expected` (method and URL) before they happen;
// browsers ask for /favicon.ico, which the demo has not.
const expected = new Set();
function watch(page, who, errors) {
	page.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
	page.on("console", (m) => {
		// HTTP statuses are judged by their response below.
		if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
			errors.push(`${who} console: ${m.text()}`);
	});
	page.on("response", (r) => {
		const key = `${r.request().method()} ${r.url()} ${r.status()}`;
		if (r.status() >= 400 && !expected.has(`${who} ${key}`) && new URL(r.url()).pathname !== "/favicon.ico")
			errors.push(`${who}: ${key}`);
	});
}

async function listed(page) {
	return page.locator("#tasks li").allTextContents();
}

// Signs up on the demo page, lands on /tasks, adds one task; returns the id.
async function signUpAndAdd(page, name, title) {
	const email = `${name}-${tag}@example.com`;
	await page.goto(`${url}/`);
	check(new URL(page.url()).origin === new URL(url).origin, `${name}: the demo page is served through bearerd's port`);
	await page.fill("#signup [name=name]", name);
	await page.fill("#signup [name=email]", email);
	await page.fill("#signup [name=password]", PASSWORD);
	const firstList = page.waitForResponse((r) => r.request().method() === "GET" && /\/api\/[^/]+\/tasks$/.test(r.url()) &&
		!r.url().includes("/api/auth/"));
	// After a 200 the page asks Better Auth who is signed in, then moves to
	// /tasks. Chromium forgets the old document's response bodies as the
	// move starts, so reading the sign-up body raced it: when the read came
	// late, the body was gone and a good answer failed the check. The page's
	// next call is held here until the body has been read; route.continue()
	// then sends it unchanged.
	let release;
	const bodyRead = new Promise((resolve) => { release = resolve; });
	const nextCall = `${url}/api/auth/get-session`;
	const hold = async (route) => { await bodyRead; await route.continue(); };
	await page.route(nextCall, hold, { times: 1 });
	const [signup] = await Promise.all([
		page.waitForResponse(isCall("POST", `${url}/api/auth/sign-up/email`)),
		page.click("#signup button"),
	]);
	let readError = "";
	const body = await signup.json().catch((e) => { readError = `: ${e.message}`; return null; });
	release();
	const id = body && body.user && body.user.id;
	if (!check(signup.status() === 200 && typeof id === "string" && id !== "",
		`${name}: sign-up through bearerd answers 200 with a user id`,
		`status ${signup.status()}${readError}${body && !readError ? `, body ${JSON.stringify(body).slice(0, 200)}` : ""}`))
		throw new Error(`${name} could not sign up`);
	// The page goes to /tasks, which asks Better Auth (through bearerd) who
	// is signed in and then lists the tasks; if the session cookie did not
	// survive the trip, it goes back to the sign-in page instead.
	const list = await firstList.catch(async () => {
		check(false, `${name}: signed in, the tasks page lists the tasks`,
			`the page is at ${page.url()}: ${await page.locator("#who").textContent().catch(() => "?")}`);
		throw new Error(`${name}: the tasks page never called the API`);
	});
	await page.waitForURL(`${url}/tasks`);
	check(list.url() === tasksUrl(id) && list.status() === 200,
		`${name}: the tasks page's GET /api/{own id}/tasks is 200`, `${list.url()} -> ${list.status()}`);
	await page.locator("#who", { hasText: id }).waitFor();

	await page.fill("#add [name=title]", title);
	const [post] = await Promise.all([
		page.waitForResponse(isCall("POST", tasksUrl(id))),
		page.click("#add button"),
	]);
	check(post.status() === 201, `${name}: POST /api/{own id}/tasks is 201 (the backend verified bearerd's Bearer)`,
		`status ${post.status()}: ${await post.text().catch(() => "")}`);
	await page.locator("#tasks li", { hasText: title }).waitFor();
	const items = await listed(page);
	check(items.length === 1 && items[0] === title, `${name}: the page lists exactly its own task`, JSON.stringify(items));
	return id;
}

// bearerd's own refusal is problem+json (RFC 9457); the backend's is not, so
// a 403 from the backend means bearerd let the request through.
function fromBearerd403(status, type, body) {
	let p = null;
	try { p = JSON.parse(body); } catch { /* not JSON */ }
	return status === 403 && /^application\/problem\+json/.test(type || "") && p !== null && p.status === 403;
}

let browser;
try {
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		headless: true,
		chromiumSandbox: false,
		args: FLAGS,
		timeout: 30000,
	});
	note(`chromium ${browser.version()} started (${since()})`);
	const errors = [];
	const ctxB = await browser.newContext();
	const ctxA = await browser.newContext();
	ctxA.setDefaultTimeout(15000);
	ctxB.setDefaultTimeout(15000);
	const pageB = await ctxB.newPage();
	const pageA = await ctxA.newPage();
	watch(pageA, "A", errors);
	watch(pageB, "B", errors);

	// 1. Each user signs up, adds a task, sees its own list.
	const secretB = `B's secret task ${tag}`;
	const titleA = `A's task ${tag}`;
	const idB = await signUpAndAdd(pageB, "bob", secretB);
	const idA = await signUpAndAdd(pageA, "alice", titleA);
	check(idA !== idB, "the two users have different ids");
	note(`signed up and added tasks (${since()})`);

	// 2. A asks for B's tasks: from the page's own form, then with fetch.
	expected.add(`A GET ${tasksUrl(idB)} 403`);
	expected.add(`A POST ${tasksUrl(idB)} 403`);
	await pageA.fill("#other", idB);
	const [peek] = await Promise.all([
		pageA.waitForResponse(isCall("GET", tasksUrl(idB))),
		pageA.click("#peek"),
	]);
	const peekBody = await peek.text();
	check(fromBearerd403(peek.status(), peek.headers()["content-type"], peekBody),
		"A's tasks page asking for B's tasks gets bearerd's 403 (problem+json, never the backend)",
		`${peek.status()} ${peek.headers()["content-type"]}: ${peekBody}`);
	await pageA.locator("#out", { hasText: "-> 403" }).waitFor();
	const tried = await pageA.evaluate(async ([u, title]) => {
		const out = [];
		for (const init of [{}, { method: "POST", headers: { "content-type": "application/json" },
			body: JSON.stringify({ title }) }]) {
			const r = await fetch(u, { credentials: "same-origin", ...init });
			out.push({ method: init.method || "GET", status: r.status, type: r.headers.get("content-type"), body: await r.text() });
		}
		return out;
	}, [tasksUrl(idB), `planted by A ${tag}`]);
	for (const t of tried)
		check(fromBearerd403(t.status, t.type, t.body) && !t.body.includes(secretB),
			`A's fetch ${t.method} /api/{B's id}/tasks gets bearerd's 403 with no B data`,
			`${t.status} ${t.type}: ${t.body}`);
	const pageText = await pageA.locator("body").innerText();
	check(!pageText.includes(secretB), "no B task appears anywhere on A's page");
	check(JSON.stringify(await listed(pageA)) === JSON.stringify([titleA]), "A's list still holds only A's task");

	// 4. The artifact: A's tasks page, with the 403 it was just given.
	fs.mkdirSync(shots, { recursive: true });
	const shot = path.join(shots, "tasks-alice.png");
	await pageA.screenshot({ path: shot, fullPage: true });
	check(fs.statSync(shot).size > 1000, `screenshot of A's tasks page saved: ${shot}`);

	// B's list is untouched by A's attempt to add to it.
	const [relist] = await Promise.all([
		pageB.waitForResponse(isCall("GET", tasksUrl(idB))),
		pageB.reload(),
	]);
	await pageB.locator("#tasks li", { hasText: secretB }).waitFor();
	check(relist.status() === 200 && JSON.stringify(await listed(pageB)) === JSON.stringify([secretB]),
		"B's list holds only B's task (A's POST never landed)", JSON.stringify(await listed(pageB)));
	note(`cross-user checks done (${since()})`);

	// 3. A signs out; the API then answers 401.
	await pageA.goto(`${url}/`);
	await pageA.locator("#who", { hasText: idA }).waitFor();
	const [out] = await Promise.all([
		pageA.waitForResponse(isCall("POST", `${url}/api/auth/sign-out`)),
		pageA.click("#signout"),
	]);
	check(out.status() === 200, "A signs out through bearerd (200)", `status ${out.status()}`);
	await pageA.locator("#who", { hasText: "Not signed in." }).waitFor();
	expected.add(`A GET ${tasksUrl(idA)} 401`);
	const after = await pageA.evaluate(async (u) => {
		const r = await fetch(u, { credentials: "same-origin" });
		return { status: r.status, body: await r.text() };
	}, tasksUrl(idA));
	check(after.status === 401 && !after.body.includes(titleA), "after sign-out, GET /api/{A's id}/tasks is 401",
		`${after.status}: ${after.body}`);
	const left = (await ctxA.cookies()).filter((c) => /better-auth\.session_(token|data)/.test(c.name) && c.value !== "");
	check(left.length === 0, "no Better Auth session cookie is left in A's browser", left.map((c) => c.name).join(", "));
	check(errors.length === 0, "no script error, console error or unasked-for HTTP error on the pages", errors.join("\n"));
	note(`signed out (${since()})`);
} catch (e) {
	check(false, "the run went to its end", e && e.stack ? e.stack : e);
} finally {
	if (browser)
		await browser.close().catch(() => {});
}
console.log(`1..${n}`);
note(`${n - failures} of ${n} checks passed in ${since()}`);
process.exit(failures === 0 ? 0 : 1);
