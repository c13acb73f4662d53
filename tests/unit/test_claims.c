/* SPDX-License-Identifier: MIT */
/* Tests for auth/claims.c: time edges, iss/aud, subject, kept claims. */
#include <stdint.h>

#include "crypto_testutil.h"
#include "internal.h"
#include "tap.h"

#define NOW INT64_C(1795694643)
#define L 30

struct ccase {
	const char *name;
	const char *payload;
	int64_t now;
	int64_t leeway;
	enum auth_status want;
};

/* Each edge: one second before, on, and one second after. RFC 7519: valid
 * while now < exp (+ leeway), and from nbf (- leeway) on. */
#define EXP_AT "\"sub\":\"u\",\"exp\":1795694643"
static const struct ccase time_cases[] = {
    {"exp, leeway 0, now = exp - 1", "{" EXP_AT "}", NOW - 1, 0, AUTH_OK},
    {"exp, leeway 0, now = exp", "{" EXP_AT "}", NOW, 0, AUTH_EXPIRED},
    {"exp, leeway 0, now = exp + 1", "{" EXP_AT "}", NOW + 1, 0, AUTH_EXPIRED},
    {"exp, leeway 30, now = exp + L - 1", "{" EXP_AT "}", NOW + L - 1, L,
        AUTH_OK},
    {"exp, leeway 30, now = exp + L", "{" EXP_AT "}", NOW + L, L, AUTH_EXPIRED},
    {"exp, leeway 30, now = exp + L + 1", "{" EXP_AT "}", NOW + L + 1, L,
        AUTH_EXPIRED},
    {"exp, leeway 30, now well before", "{" EXP_AT "}", NOW - 900, L, AUTH_OK},
    {"nbf, leeway 0, now = nbf - 1",
        "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1795694643}", NOW - 1, 0,
        AUTH_NOT_YET_VALID},
    {"nbf, leeway 0, now = nbf",
        "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1795694643}", NOW, 0,
        AUTH_OK},
    {"nbf, leeway 0, now = nbf + 1",
        "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1795694643}", NOW + 1, 0,
        AUTH_OK},
    {"nbf, leeway 30, now = nbf - L - 1",
        "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1795694643}", NOW - L - 1, L,
        AUTH_NOT_YET_VALID},
    {"nbf, leeway 30, now = nbf - L",
        "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1795694643}", NOW - L, L,
        AUTH_OK},
    {"nbf, leeway 30, now = nbf - L + 1",
        "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1795694643}", NOW - L + 1, L,
        AUTH_OK},
    {"iat, leeway 30, now = iat - L - 1",
        "{\"sub\":\"u\",\"exp\":4102444800,\"iat\":1795694643}", NOW - L - 1, L,
        AUTH_NOT_YET_VALID},
    {"iat, leeway 30, now = iat - L",
        "{\"sub\":\"u\",\"exp\":4102444800,\"iat\":1795694643}", NOW - L, L,
        AUTH_OK},
    {"iat, leeway 30, now = iat - L + 1",
        "{\"sub\":\"u\",\"exp\":4102444800,\"iat\":1795694643}", NOW - L + 1, L,
        AUTH_OK},
    {"negative leeway acts as 0", "{" EXP_AT "}", NOW, -100, AUTH_EXPIRED},
    {"exp = -1", "{\"sub\":\"u\",\"exp\":-1}", NOW, L, AUTH_EXPIRED},
    {"exp = 0", "{\"sub\":\"u\",\"exp\":0}", NOW, L, AUTH_EXPIRED},
    {"exp = 1e30", "{\"sub\":\"u\",\"exp\":1e30}", NOW, L, AUTH_CLAIM_INVALID},
    {"exp as float 4102444800.0", "{\"sub\":\"u\",\"exp\":4102444800.0}", NOW,
        L, AUTH_CLAIM_INVALID},
    {"exp as float 4.1e9", "{\"sub\":\"u\",\"exp\":4.1e9}", NOW, L,
        AUTH_CLAIM_INVALID},
    {"exp as string", "{\"sub\":\"u\",\"exp\":\"4102444800\"}", NOW, L,
        AUTH_CLAIM_INVALID},
    {"exp as bool", "{\"sub\":\"u\",\"exp\":true}", NOW, L, AUTH_CLAIM_INVALID},
    {"exp null", "{\"sub\":\"u\",\"exp\":null}", NOW, L, AUTH_CLAIM_INVALID},
    {"exp = INT64_MAX", "{\"sub\":\"u\",\"exp\":9223372036854775807}", NOW, L,
        AUTH_OK},
    {"exp = INT64_MIN", "{\"sub\":\"u\",\"exp\":-9223372036854775808}", NOW, L,
        AUTH_EXPIRED},
    {"exp missing", "{\"sub\":\"u\"}", NOW, L, AUTH_CLAIM_MISSING},
    {"nbf as float", "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1.5}", NOW, L,
        AUTH_CLAIM_INVALID},
    {"iat as string", "{\"sub\":\"u\",\"exp\":4102444800,\"iat\":\"1\"}", NOW,
        L, AUTH_CLAIM_INVALID},
    {"nbf = INT64_MAX",
        "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":9223372036854775807}", NOW,
        L, AUTH_NOT_YET_VALID},
};

/* Policy checks: iss "https://iss.test", aud "api". */
#define T "\"exp\":4102444800"
static const struct ccase policy_cases[] = {
    {"iss and aud match",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\",\"aud\":\"api\"}",
        NOW, L, AUTH_OK},
    {"wrong iss",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://evil.test\",\"aud\":\"api\"}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"iss differs in case",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://ISS.test\",\"aud\":\"api\"}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"iss with trailing slash",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test/\",\"aud\":\"api\"}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"iss prefix",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.tes\",\"aud\":\"api\"}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"iss missing", "{\"sub\":\"u\"," T ",\"aud\":\"api\"}", NOW, L,
        AUTH_CLAIM_MISSING},
    {"iss not a string",
        "{\"sub\":\"u\"," T ",\"iss\":[\"https://iss.test\"],\"aud\":\"api\"}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"wrong aud string",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\",\"aud\":\"apix\"}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"aud array containing ours",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":[\"other\",\"api\"]}",
        NOW, L, AUTH_OK},
    {"aud array without ours",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":[\"other\",\"API\"]}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"aud empty array",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\",\"aud\":[]}", NOW, L,
        AUTH_CLAIM_MISMATCH},
    {"aud array with a number",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":[\"api\",1]}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"aud object",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":{\"api\":1}}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"aud missing", "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\"}", NOW,
        L, AUTH_CLAIM_MISSING},
    {"sub number",
        "{\"sub\":12," T ",\"iss\":\"https://iss.test\",\"aud\":\"api\"}", NOW,
        L, AUTH_NO_SUBJECT},
    {"sub empty",
        "{\"sub\":\"\"," T ",\"iss\":\"https://iss.test\",\"aud\":\"api\"}",
        NOW, L, AUTH_NO_SUBJECT},
    {"sub null",
        "{\"sub\":null," T ",\"iss\":\"https://iss.test\",\"aud\":\"api\"}",
        NOW, L, AUTH_NO_SUBJECT},
    {"sub missing", "{" T ",\"iss\":\"https://iss.test\",\"aud\":\"api\"}", NOW,
        L, AUTH_NO_SUBJECT},
    {"sub with newline",
        "{\"sub\":\"a\\nb\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":\"api\"}",
        NOW, L, AUTH_NO_SUBJECT},
    {"sub with DEL",
        "{\"sub\":\"a\\u007fb\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":\"api\"}",
        NOW, L, AUTH_NO_SUBJECT},
    {"sub UTF-8",
        "{\"sub\":\"J\\u00fcrgen\"," T ",\"iss\":"
        "\"https://iss.test\",\"aud\":\"api\"}",
        NOW, L, AUTH_OK},
    {"expired beats iss mismatch",
        "{\"sub\":\"u\",\"exp\":1,\"iss\":\"x\",\"aud\":\"api\"}", NOW, L,
        AUTH_EXPIRED},
};

/*
 * No audience configured (iss "https://iss.test" only). RFC 7519 §4.1.3: a
 * recipient that does not identify itself with a value of a present aud
 * MUST reject; PyJWT does. Accepting it would take a token minted for
 * another audience by the same keys (an OAuth client's ID token, Better
 * Auth's "better-auth:session-cache" JWT) as a credential here.
 */
static const struct ccase noaud_cases[] = {
    {"no aud, none configured",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\"}", NOW, L, AUTH_OK},
    {"aud string, none configured",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":\"other-client\"}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"aud array, none configured",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":[\"api\"]}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"aud empty array, none configured",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":[]}",
        NOW, L, AUTH_CLAIM_MISMATCH},
    {"aud null, none configured",
        "{\"sub\":\"u\"," T ",\"iss\":\"https://iss.test\","
        "\"aud\":null}",
        NOW, L, AUTH_CLAIM_MISMATCH},
};

static struct auth_policy
policy(int64_t leeway)
{
	struct auth_policy p;

	memset(&p, 0, sizeof(p));
	p.leeway = leeway;
	return p;
}

static enum auth_status
run(const struct auth_policy *p, const char *text, int64_t now,
    bool check_times, struct auth_claims *out)
{
	struct tu_guard g;
	json_t *j;
	enum auth_status st;

	/* The parser reads from a guard-page copy. */
	j = auth_json_parse_object(tu_guard_copy(&g, text, strlen(text)),
	    strlen(text));
	tu_guard_free(&g);
	if (j == NULL)
		return AUTH_MALFORMED;
	st = auth_claims_from_json(p, j, now, check_times, out);
	json_decref(j);
	return st;
}

static void
test_table(const char *kind, const struct ccase *c, size_t n, const char *iss,
    const char *aud)
{
	struct auth_claims out;
	size_t i;

	for (i = 0; i < n; i++) {
		struct auth_policy p = policy(c[i].leeway);
		enum auth_status st;

		p.issuer = iss;
		p.audience = aud;
		memset(&out, 0x5a, sizeof(out));
		st = run(&p, c[i].payload, c[i].now, true, &out);
		is_int(st, c[i].want, "%s: %s (%s)", kind, c[i].name,
		    auth_status_str(st));
		if (st != AUTH_OK && c[i].want != AUTH_OK)
			ok(out.sub[0] == 0x5a && out.extra[0] == 0x5a,
			    "%s: %s leaves out untouched", kind, c[i].name);
	}
}

static void
test_subject(void)
{
	struct auth_policy p = policy(0);
	struct auth_claims c;
	char sub[AUTH_MAX_SUB_LEN + 2], text[1024];

	is_int(run(&p, "{\"sub\":\"abc\",\"exp\":4102444800,\"iat\":17}", NOW,
	           true, &c),
	    AUTH_OK, "plain sub");
	is_str(c.sub, "abc", "sub copied");
	is_int(c.sub_len, 3, "sub_len");
	is_int(c.exp, 4102444800, "exp copied");
	is_int(c.iat, 17, "iat copied");
	is_int(c.alg, AUTH_ALG_INVALID, "alg left to the caller");
	is_str(c.extra, "{}", "no kept claims");
	is_int(c.extra_len, 2, "extra_len");

	memset(sub, 'x', sizeof(sub));
	sub[AUTH_MAX_SUB_LEN] = '\0';
	snprintf(text, sizeof(text), "{\"sub\":\"%s\",\"exp\":4102444800}",
	    sub);
	is_int(run(&p, text, NOW, true, &c), AUTH_OK, "sub of 255 bytes");
	is_int(c.sub_len, AUTH_MAX_SUB_LEN, "sub_len 255");
	sub[AUTH_MAX_SUB_LEN] = 'x';
	sub[AUTH_MAX_SUB_LEN + 1] = '\0';
	snprintf(text, sizeof(text), "{\"sub\":\"%s\",\"exp\":4102444800}",
	    sub);
	is_int(run(&p, text, NOW, true, &c), AUTH_NO_SUBJECT,
	    "sub of 256 bytes");

	p.subject_path = "session.userId";
	is_int(run(&p,
	           "{\"session\":{\"userId\":\"U1\"},\"sub\":\"S\","
	           "\"exp\":4102444800}",
	           NOW, true, &c),
	    AUTH_OK, "subject path");
	is_str(c.sub, "U1", "subject from session.userId");
	is_int(run(&p, "{\"session\":{\"id\":\"U1\"},\"exp\":4102444800}", NOW,
	           true, &c),
	    AUTH_NO_SUBJECT, "subject path missing leaf");
	is_int(run(&p, "{\"session\":\"U1\",\"exp\":4102444800}", NOW, true,
	           &c),
	    AUTH_NO_SUBJECT, "subject path through a string");
	is_int(run(&p, "{\"session\":{\"userId\":7},\"exp\":4102444800}", NOW,
	           true, &c),
	    AUTH_NO_SUBJECT, "subject path to a number");
	is_int(run(&p, "{\"session.userId\":\"U1\",\"exp\":4102444800}", NOW,
	           true, &c),
	    AUTH_NO_SUBJECT, "dotted key is not a path");
	p.subject_path = "session..userId";
	is_int(run(&p, "{\"session\":{\"userId\":\"U1\"},\"exp\":4102444800}",
	           NOW, true, &c),
	    AUTH_NO_SUBJECT, "empty path segment");
	p.subject_path = "user.id";
	is_int(run(&p, "{\"user\":{\"id\":\"U2\"},\"exp\":4102444800}", NOW,
	           true, &c),
	    AUTH_OK, "path user.id");
	is_str(c.sub, "U2", "subject from user.id");

	/* Duplicate "sub" never reaches claims: the parser refuses it. */
	ok(auth_json_parse_object("{\"sub\":\"a\",\"sub\":\"b\"}", 21) == NULL,
	    "duplicate sub refused by the parser");
}

static void
test_times_off(void)
{
	struct auth_policy p = policy(0);
	struct auth_claims c;

	is_int(run(&p, "{\"sub\":\"u\"}", NOW, false, &c), AUTH_OK,
	    "check_times false: exp not required");
	is_int(c.exp, INT64_MAX, "absent exp is INT64_MAX");
	is_int(c.iat, 0, "absent iat is 0");
	is_int(run(&p, "{\"sub\":\"u\",\"exp\":1}", NOW, false, &c), AUTH_OK,
	    "check_times false: past exp not compared");
	is_int(c.exp, 1, "exp still copied");
	is_int(run(&p, "{\"sub\":\"u\",\"exp\":1.5}", NOW, false, &c),
	    AUTH_CLAIM_INVALID, "check_times false: still type-checked");
	p.exp_optional = true;
	is_int(run(&p, "{\"sub\":\"u\"}", NOW, true, &c), AUTH_OK,
	    "exp_optional: no exp");
	is_int(c.exp, INT64_MAX, "exp_optional: INT64_MAX");
	is_int(run(&p, "{\"sub\":\"u\",\"exp\":5}", NOW, true, &c),
	    AUTH_EXPIRED, "exp_optional: a present exp is still checked");
}

static void
test_keep(void)
{
	struct auth_policy p = policy(0);
	struct auth_claims c;
	char v[64], big[4096];
	size_t n;

	p.keep_claims[0] = "role";
	p.keep_claims[1] = "org";
	p.keep_claims[2] = "absent";
	p.keep_claims[3] = "n";
	p.keep_claims[4] = "admin";
	p.keep_claims[5] = "groups";
	p.keep_claims[6] = "f";
	p.n_keep_claims = 7;
	is_int(
	    run(&p,
	        "{\"sub\":\"u\",\"exp\":4102444800,\"org\":\"o1\","
	        "\"role\":\"ad\\\"min\",\"n\":42,\"admin\":true,\"groups\":[\"a\","
	        "\"b\"],\"f\":1.5,\"secret\":\"x\"}",
	        NOW, true, &c),
	    AUTH_OK, "kept claims");
	is_str(c.extra,
	    "{\"admin\":true,\"f\":1.5,\"groups\":[\"a\",\"b\"],"
	    "\"n\":42,\"org\":\"o1\",\"role\":\"ad\\\"min\"}",
	    "extra is compact, sorted, only kept names");
	is_int(c.extra_len, strlen(c.extra), "extra_len");
	ok(auth_claims_get(&c, "role", v, sizeof(v), &n) == 0 && n == 6 &&
	        strcmp(v, "ad\"min") == 0,
	    "get string claim");
	ok(auth_claims_get(&c, "n", v, sizeof(v), &n) == 0 &&
	        strcmp(v, "42") == 0 && n == 2,
	    "get integer claim as text");
	ok(auth_claims_get(&c, "admin", v, sizeof(v), &n) == 0 &&
	        strcmp(v, "true") == 0,
	    "get boolean claim as text");
	ok(auth_claims_get(&c, "f", v, sizeof(v), &n) == 0 &&
	        strcmp(v, "1.5") == 0,
	    "get real claim as text");
	is_int(auth_claims_get(&c, "groups", v, sizeof(v), &n), -1,
	    "array claim is not a scalar");
	is_int(auth_claims_get(&c, "absent", v, sizeof(v), &n), -1,
	    "absent claim");
	is_int(auth_claims_get(&c, "secret", v, sizeof(v), &n), -1,
	    "claim not kept");
	is_int(auth_claims_get(&c, "role", v, 6, &n), -1,
	    "no room for the NUL");
	ok(auth_claims_get(&c, "role", v, 7, &n) == 0, "exact room");

	/* Dotted paths are kept under their last segment, so "email" is the
	 * same name for a JWT and for Better Auth's session_data. */
	{
		struct auth_policy q = policy(0);

		q.keep_claims[0] = "user.email";
		q.keep_claims[1] = "user.name";
		q.keep_claims[2] = "user.missing";
		q.keep_claims[3] = "top";
		q.n_keep_claims = 4;
		is_int(run(&q,
		           "{\"sub\":\"u\",\"exp\":4102444800,\"top\":1,"
		           "\"email\":\"top@x\",\"user\":{\"email\":\"a@x\","
		           "\"name\":\"A\",\"id\":\"u\"}}",
		           NOW, true, &c),
		    AUTH_OK, "dotted kept claims");
		is_str(c.extra, "{\"email\":\"a@x\",\"name\":\"A\",\"top\":1}",
		    "user.email kept as email, user.name as name");
		ok(auth_claims_get(&c, "email", v, sizeof(v), &n) == 0 &&
		        strcmp(v, "a@x") == 0,
		    "get a dotted claim by its last segment");
		is_int(
		    run(&q,
		        "{\"sub\":\"u\",\"exp\":4102444800,\"user\":\"flat\"}",
		        NOW, true, &c),
		    AUTH_OK, "a path through a non-object is absent");
		is_str(c.extra, "{}", "nothing kept through a string");
	}

	/* Kept claims over AUTH_MAX_EXTRA_LEN. */
	memset(big, 'a', 2100);
	big[2100] = '\0';
	{
		char text[4200];

		snprintf(text, sizeof(text),
		    "{\"sub\":\"u\",\"exp\":4102444800,"
		    "\"org\":\"%s\"}",
		    big);
		is_int(run(&p, text, NOW, true, &c), AUTH_TOO_LARGE,
		    "kept claims too large");
	}
}

int
main(void)
{
	test_table("time", time_cases,
	    sizeof(time_cases) / sizeof(time_cases[0]), NULL, NULL);
	test_table("policy", policy_cases,
	    sizeof(policy_cases) / sizeof(policy_cases[0]), "https://iss.test",
	    "api");
	test_table("no audience", noaud_cases,
	    sizeof(noaud_cases) / sizeof(noaud_cases[0]), "https://iss.test",
	    NULL);
	test_subject();
	test_times_off();
	test_keep();
	return tap_done();
}
