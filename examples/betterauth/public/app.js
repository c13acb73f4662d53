// SPDX-License-Identifier: MIT
// The demo pages' code: Better Auth's HTTP API for signing in, and the tasks
// API through bearerd. Every request is same-origin; the cookies are httpOnly
// and never touched here.
"use strict";
const bearerdDemo = (() => {
	const $ = (id) => document.getElementById(id);
	const show = (label, status, body) => {
		$("out").textContent = `${label} -> ${status}\n${typeof body === "string" ? body : JSON.stringify(body, null, 2)}`;
	};

	async function call(method, url, body) {
		const init = { method, credentials: "same-origin", headers: {} };
		if (body !== undefined) {
			init.headers["content-type"] = "application/json";
			init.body = JSON.stringify(body);
		}
		const r = await fetch(url, init);
		const text = await r.text();
		let data = text;
		try { data = JSON.parse(text); } catch (e) { /* not JSON */ }
		return { status: r.status, data };
	}

	async function session() {
		const r = await call("GET", "/api/auth/get-session");
		return r.status === 200 && r.data ? r.data : null;
	}

	// With Better Auth's cookie cache (session_data, 5 minutes) bearerd
	// answers 401 once it has expired: get-session re-issues it and the
	// call is tried once more. With the session cookie (the default) a 401
	// means the session is gone, and get-session says so.
	async function api(method, url, body) {
		let r = await call(method, url, body);
		if (r.status === 401 && await session() !== null)
			r = await call(method, url, body);
		return r;
	}

	async function whoami() {
		const s = await session();
		$("who").textContent = s ? `Signed in as ${s.user.email} (user id ${s.user.id}).` : "Not signed in.";
		return s;
	}

	function form(id, url) {
		$(id).addEventListener("submit", async (ev) => {
			ev.preventDefault();
			const r = await call("POST", url, Object.fromEntries(new FormData(ev.target)));
			show(`POST ${url}`, r.status, r.data);
			if (r.status === 200) {
				await whoami();
				location.href = "/tasks";
			}
		});
	}

	async function index() {
		form("signup", "/api/auth/sign-up/email");
		form("signin", "/api/auth/sign-in/email");
		$("signout").addEventListener("click", async () => {
			const r = await call("POST", "/api/auth/sign-out", {});
			show("POST /api/auth/sign-out", r.status, r.data);
			await whoami();
		});
		await whoami();
	}

	async function tasks() {
		const s = await whoami();
		if (s === null) {
			location.href = "/";
			return;
		}
		const base = `/api/${encodeURIComponent(s.user.id)}/tasks`;
		const list = async () => {
			const r = await api("GET", base);
			show(`GET ${base}`, r.status, r.data);
			const ul = $("tasks");
			ul.replaceChildren();
			for (const t of (r.status === 200 ? r.data.tasks : [])) {
				const li = document.createElement("li");
				li.textContent = t.title;
				ul.append(li);
			}
		};
		$("add").addEventListener("submit", async (ev) => {
			ev.preventDefault();
			const title = new FormData(ev.target).get("title");
			const r = await api("POST", base, { title });
			show(`POST ${base}`, r.status, r.data);
			if (r.status === 201) {
				ev.target.reset();
				await list();
			}
		});
		$("peek").addEventListener("click", async () => {
			const url = `/api/${encodeURIComponent($("other").value)}/tasks`;
			const r = await api("GET", url);
			show(`GET ${url}`, r.status, r.data);
		});
		await list();
	}

	// No inline script: the page says which it is (the CSP allows only
	// this file).
	const pages = { index, tasks };
	document.addEventListener("DOMContentLoaded", () => pages[document.body.dataset.page]());
	return pages;
})();
