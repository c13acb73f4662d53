// SPDX-License-Identifier: MIT
// Node 18 (Debian 12's nodejs) has Web Crypto only as require("node:crypto")
// .webcrypto; Better Auth expects the global `crypto` of Node 19 and later.
// Imported first by server.mjs, before Better Auth's modules run.
import { webcrypto } from "node:crypto";

if (globalThis.crypto === undefined)
	globalThis.crypto = webcrypto;
