/*
 * Unit tests for connection strings and SAS tokens (sas.h), against
 * reference/azure-service-api.md §1.4 and §1.5.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rctest.h"
#include "rollcall/mem.h"
#include "rollcall/sas.h"

/* Bytes 0..31: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=". */
#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SE 2000000000ULL
#define BEFORE ((time_t)SE - 1)

/*
 * Derived once with node's crypto, as azure-iot-common does it:
 *   crypto.createHmac('sha256', Buffer.from(KEY_B64, 'base64'))
 *       .update('localhost\n2000000000').digest('base64')
 */
#define NODE_SIG_LOCALHOST "ihONmm+Y5zl0TZeJs1oak4IkHnbQ8MqL8Ht44388z1c="
#define NODE_SIG_LOCALHOST_ENC \
	"ihONmm%2BY5zl0TZeJs1oak4IkHnbQ8MqL8Ht44388z1c%3D"
/* ... of 'myhub.azure-devices.net%2Fdevices%2Fdev-1\n2000000000' */
#define NODE_SIG_DEVICE_ENC "XX3FKQo62TFmgZGI5RcBi8jd6QYfgZtHJF8aLMjk6HE%3D"
/* ... of 'myhub.example.com\n1700000000' (the documented lower case) */
#define NODE_SIG_LOWER_ENC "xOfNzX1u0JnUP%2B8Bh%2F9F0Sc6lPGG3MIHLawMsHbiuQE%3D"
/* ... of 'MyHub.Example.com\n1700000000' (raw, as the SDK signs) */
#define NODE_SIG_MIXED_ENC "oEGGaBPq0FF1OLo85jogOHXHB%2FJ1BQn0c7XawCnMJWU%3D"

static uint8_t key[32];

static void
fill_key(void)
{
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
}

static int
parse_str(const char *s, struct rc_sas_token *t)
{
	return rc_sas_parse(s, strlen(s), t);
}

/* parse + verify at BEFORE for host with the test key. */
static int
check(const char *s, const char *host, time_t now, int skew)
{
	struct rc_sas_token t;
	int rc;

	if ((rc = parse_str(s, &t)) != RC_OK)
		return rc;
	rc = rc_sas_verify(&t, key, sizeof(key), host, now, skew);
	rc_sas_token_clear(&t);
	return rc;
}

/* The expected token computed with OpenSSL directly (no librollcall). */
static void
openssl_sig(const char *sr, const char *se, char *out, size_t outsize)
{
	uint8_t mac[32];
	unsigned char b64[64];
	unsigned int maclen = 0;
	char msg[512];
	size_t i, o = 0;
	int n;

	n = snprintf(msg, sizeof(msg), "%s\n%s", sr, se);
	assert_true(n > 0 && (size_t)n < sizeof(msg));
	assert_non_null(HMAC(EVP_sha256(), key, sizeof(key),
	    (const unsigned char *)msg, (size_t)n, mac, &maclen));
	assert_int_equal(maclen, 32);
	assert_int_equal(EVP_EncodeBlock(b64, mac, 32), 44);
	for (i = 0; i < 44; i++) {
		const char *rep = NULL;

		if (b64[i] == '+')
			rep = "%2B";
		else if (b64[i] == '/')
			rep = "%2F";
		else if (b64[i] == '=')
			rep = "%3D";
		assert_true(o + 4 < outsize);
		if (rep != NULL) {
			memcpy(out + o, rep, 3);
			o += 3;
		} else {
			out[o++] = (char)b64[i];
		}
	}
	out[o] = '\0';
}

static void
test_kat_openssl(void **state)
{
	char sig[128], want[512];
	char *tok;

	(void)state;
	openssl_sig("localhost", "2000000000", sig, sizeof(sig));
	snprintf(want, sizeof(want),
	    "SharedAccessSignature sr=localhost&sig=%s&skn=iothubowner"
	    "&se=2000000000",
	    sig);
	assert_int_equal(rc_sas_token_new("localhost", "iothubowner", key,
	                     sizeof(key), SE, &tok),
	    RC_OK);
	assert_string_equal(tok, want);
	assert_int_equal(check(tok, "localhost", BEFORE, 0), RC_OK);
	rc_free(tok);
}

static void
test_kat_node(void **state)
{
	struct rc_connstr cs;
	uint8_t *k;
	size_t klen;
	char *tok;

	(void)state;
	assert_int_equal(rc_connstr_parse("HostName=localhost;"
	                                  "SharedAccessKey=" KEY_B64,
	                     strlen("HostName=localhost;"
	                            "SharedAccessKey=" KEY_B64),
	                     &cs),
	    RC_OK);
	assert_int_equal(rc_connstr_get1_key(&cs, &k, &klen), RC_OK);
	assert_int_equal(klen, 32);
	assert_memory_equal(k, key, 32);
	assert_int_equal(rc_sas_token_new(cs.host, cs.key_name, k, klen, SE,
	                     &tok),
	    RC_OK);
	assert_string_equal(tok,
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000");
	rc_free(tok);
	rc_free_secret(k, klen);
	rc_connstr_clear(&cs);
}

static const char *const fields[4] = {"sr=localhost",
    "sig=" NODE_SIG_LOCALHOST_ENC, "se=2000000000", "skn=iothubowner"};

/* The token made of fields[idx[0..n-1]] parses and verifies. */
static void
check_order(const int *idx, int n)
{
	struct rc_sas_token t;
	char s[512];
	size_t o;
	int i;

	o = (size_t)snprintf(s, sizeof(s), "SharedAccessSignature ");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, sizeof(s) - o, "%s%s",
		    i > 0 ? "&" : "", fields[idx[i]]);
	assert_true(o < sizeof(s));
	assert_int_equal(parse_str(s, &t), RC_OK);
	assert_string_equal(t.sr, "localhost");
	if (n == 4)
		assert_string_equal(t.skn, "iothubowner");
	else
		assert_null(t.skn);
	assert_true(t.se == SE);
	assert_int_equal(rc_sas_verify(&t, key, sizeof(key), "localhost",
	                     BEFORE, 0),
	    RC_OK);
	rc_sas_token_clear(&t);
}

/*
 * Every order of sr, sig, se (and skn): the SDKs send sr,sig,skn,se, the
 * documentation shows sig,se,skn,sr.  Counts 0..n^n-1 in base n and keeps
 * the numbers whose digits are all different.
 */
static void
test_parse_all_orders(void **state)
{
	int idx[4], n, v, i, j, seen, perms;

	(void)state;
	for (n = 3; n <= 4; n++) {
		perms = 0;
		for (v = 0; v < (n == 3 ? 27 : 256); v++) {
			seen = 0;
			for (i = 0, j = v; i < n; i++, j /= n) {
				idx[i] = j % n;
				seen |= 1 << idx[i];
			}
			if (seen != (1 << n) - 1)
				continue;
			check_order(idx, n);
			perms++;
		}
		assert_int_equal(perms, n == 3 ? 6 : 24);
	}
}

static void
test_parse_missing_and_duplicate(void **state)
{
	static const char *const bad[] = {
	    "SharedAccessSignature sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=localhost&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC,
	    "SharedAccessSignature "
	    "sr=localhost&sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&sig=" NODE_SIG_LOCALHOST_ENC "&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&skn=a&skn=a&se=2000000000",
	};
	struct rc_sas_token t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_str(bad[i], &t), RC_EPARSE);
		assert_null(t.sr);
		assert_null(t.sr_raw);
		assert_null(t.skn);
	}
	/* skn is optional */
	assert_int_equal(check("SharedAccessSignature "
	                       "sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	                       "&se=2000000000",
	                     "localhost", BEFORE, 0),
	    RC_OK);
}

static void
test_parse_syntax(void **state)
{
	static const char *const bad[] = {
	    "",
	    "SharedAccessSignature",
	    "SharedAccessSignature ",
	    "Bearer sr=localhost",
	    "SharedAccessSignature  sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature\tsr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000&",
	    "SharedAccessSignature &sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=localhost&&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature =x&sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    /* unknown fields are refused */
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000&foo=bar",
	    "SharedAccessSignature SR=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    /* space, control, non-ASCII bytes in values */
	    "SharedAccessSignature sr=local host&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=local\x01host&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=local\xc3\xa9&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000 ",
	};
	static const char nul[] =
	    "SharedAccessSignature sr=local\0host&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000";
	struct rc_sas_token t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_str(bad[i], &t), RC_EPARSE);
	assert_int_equal(rc_sas_parse(nul, sizeof(nul) - 1, &t), RC_EPARSE);
	assert_int_equal(rc_sas_parse(NULL, 0, &t), RC_EINVAL);
	/* the scheme name is case-insensitive (RFC 7235 §2.1) */
	assert_int_equal(check("sharedaccesssignature "
	                       "sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	                       "&se=2000000000",
	                     "localhost", BEFORE, 0),
	    RC_OK);
}

static void
test_percent_decoding(void **state)
{
	static const char *const bad[] = {
	    "SharedAccessSignature sr=localhost%2&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=localhost%&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=local%zzhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=local%00host&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig="
	    "ihONmm%2BY5zl0TZeJs1oak4IkHnbQ8MqL8Ht44388z1c%3"
	    "&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&skn=%G1&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&skn=a%&se=2000000000",
	};
	struct rc_sas_token t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_str(bad[i], &t), RC_EPARSE);
	/* both hex cases decode; sr_raw keeps what was signed */
	assert_int_equal(parse_str("SharedAccessSignature "
	                           "sr=a%2fb%2Fc&sig=" NODE_SIG_LOCALHOST_ENC
	                           "&skn=x%2Ay+z&se=2000000000",
	                     &t),
	    RC_OK);
	assert_string_equal(t.sr, "a/b/c");
	assert_string_equal(t.sr_raw, "a%2fb%2Fc");
	assert_string_equal(t.skn, "x*y+z");
	rc_sas_token_clear(&t);
}

/* '+' and '=' sent unencoded are base64 characters, not a space. */
static void
test_plus_literal(void **state)
{
	struct rc_sas_token a, b;

	(void)state;
	assert_int_equal(parse_str("SharedAccessSignature "
	                           "sr=localhost&sig=" NODE_SIG_LOCALHOST
	                           "&se=2000000000",
	                     &a),
	    RC_OK);
	assert_int_equal(parse_str("SharedAccessSignature "
	                           "sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	                           "&se=2000000000",
	                     &b),
	    RC_OK);
	assert_memory_equal(a.sig, b.sig, 32);
	assert_int_equal(rc_sas_verify(&a, key, sizeof(key), "localhost",
	                     BEFORE, 0),
	    RC_OK);
	rc_sas_token_clear(&a);
	rc_sas_token_clear(&b);
	/* a '+' read as a space would be this, which is refused */
	assert_int_equal(parse_str("SharedAccessSignature sr=localhost&sig="
	                           "ihONmm%20Y5zl0TZeJs1oak4IkHnbQ8MqL8Ht44388z"
	                           "1c%3D&se=2000000000",
	                     &a),
	    RC_EPARSE);
}

static void
test_sig_shape(void **state)
{
	static const char *const bad[] = {
	    /* 31 bytes */
	    "SharedAccessSignature sr=localhost&sig="
	    "ihONmm%2BY5zl0TZeJs1oak4IkHnbQ8MqL8Ht44388z%3D&se=2000000000",
	    /* 33 bytes */
	    "SharedAccessSignature sr=localhost&sig="
	    "ihONmm%2BY5zl0TZeJs1oak4IkHnbQ8MqL8Ht44388z1cAA&se=2000000000",
	    /* no padding */
	    "SharedAccessSignature sr=localhost&sig="
	    "ihONmm%2BY5zl0TZeJs1oak4IkHnbQ8MqL8Ht44388z1c&se=2000000000",
	    /* the same 32 bytes with nonzero unused bits */
	    "SharedAccessSignature sr=localhost&sig="
	    "ihONmm%2BY5zl0TZeJs1oak4IkHnbQ8MqL8Ht44388z1d%3D&se=2000000000",
	    /* whitespace inside */
	    "SharedAccessSignature sr=localhost&sig="
	    "ihONmm%2BY5zl0TZeJs1oak4Ik%0AHnbQ8MqL8Ht44388z1c%3D"
	    "&se=2000000000",
	    /* URL-safe alphabet */
	    "SharedAccessSignature sr=localhost&sig="
	    "ihONmm-Y5zl0TZeJs1oak4IkHnbQ8MqL8Ht44388z1c%3D&se=2000000000",
	    "SharedAccessSignature sr=localhost&sig=%3D&se=2000000000",
	};
	struct rc_sas_token t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_str(bad[i], &t), RC_EPARSE);
}

static void
test_se_values(void **state)
{
	static const char *const bad[] = {"+2000000000", "-2000000000", "2e9",
	    "02000000000", "18446744073709551616", "99999999999999999999",
	    "123456789012345678901", "0x10", "%32000000000", "2000000000.5",
	    "1,5"};
	struct rc_sas_token t;
	char s[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(s, sizeof(s),
		    "SharedAccessSignature sr=localhost"
		    "&sig=%s&se=%s",
		    NODE_SIG_LOCALHOST_ENC, bad[i]);
		assert_int_equal(parse_str(s, &t), RC_EPARSE);
	}
	assert_int_equal(parse_str("SharedAccessSignature "
	                           "sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	                           "&se=18446744073709551615",
	                     &t),
	    RC_OK);
	assert_true(t.se == UINT64_MAX);
	/* signed for se 2000000000, not this */
	assert_int_equal(rc_sas_verify(&t, key, sizeof(key), "localhost",
	                     BEFORE, 0),
	    RC_EAUTH);
	rc_sas_token_clear(&t);
	assert_int_equal(parse_str("SharedAccessSignature "
	                           "sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	                           "&se=0",
	                     &t),
	    RC_OK);
	assert_true(t.se == 0);
	rc_sas_token_clear(&t);
}

static void
test_expiry(void **state)
{
	static const char tok[] =
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000";
	const time_t se = (time_t)SE;

	(void)state;
	assert_int_equal(check(tok, "localhost", 0, 0), RC_OK);
	assert_int_equal(check(tok, "localhost", se - 1, 0), RC_OK);
	assert_int_equal(check(tok, "localhost", se, 0), RC_EEXPIRED);
	assert_int_equal(check(tok, "localhost", se + 1, 0), RC_EEXPIRED);
	/* within skew */
	assert_int_equal(check(tok, "localhost", se + 10, 30), RC_OK);
	assert_int_equal(check(tok, "localhost", se + 29, 30), RC_OK);
	assert_int_equal(check(tok, "localhost", se + 30, 30), RC_EEXPIRED);
	assert_int_equal(check(tok, "localhost", 10, 30), RC_OK);
	/* an expired token with a bad signature reports the signature */
	assert_int_equal(check("SharedAccessSignature "
	                       "sr=localhost&sig=" NODE_SIG_DEVICE_ENC
	                       "&se=2000000000",
	                     "localhost", se + 100, 0),
	    RC_EAUTH);
}

static void
test_wrong_key(void **state)
{
	static const char tok[] =
	    "SharedAccessSignature sr=localhost&sig=" NODE_SIG_LOCALHOST_ENC
	    "&se=2000000000";
	struct rc_sas_token t;
	uint8_t other[32];

	(void)state;
	assert_int_equal(parse_str(tok, &t), RC_OK);
	memcpy(other, key, sizeof(other));
	other[31] ^= 1;
	assert_int_equal(rc_sas_verify(&t, other, sizeof(other), "localhost",
	                     BEFORE, 0),
	    RC_EAUTH);
	assert_int_equal(rc_sas_verify(&t, key, 31, "localhost", BEFORE, 0),
	    RC_EAUTH);
	/* sig altered in one bit */
	t.sig[0] ^= 0x80;
	assert_int_equal(rc_sas_verify(&t, key, sizeof(key), "localhost",
	                     BEFORE, 0),
	    RC_EAUTH);
	t.sig[0] ^= 0x80;
	/* bad arguments */
	assert_int_equal(rc_sas_verify(&t, NULL, 32, "localhost", BEFORE, 0),
	    RC_EINVAL);
	assert_int_equal(rc_sas_verify(&t, key, 0, "localhost", BEFORE, 0),
	    RC_EINVAL);
	assert_int_equal(rc_sas_verify(&t, key, 32, "", BEFORE, 0), RC_EINVAL);
	assert_int_equal(rc_sas_verify(&t, key, 32, NULL, BEFORE, 0),
	    RC_EINVAL);
	assert_int_equal(rc_sas_verify(&t, key, 32, "localhost", -1, 0),
	    RC_EINVAL);
	assert_int_equal(rc_sas_verify(&t, key, 32, "localhost", BEFORE, -1),
	    RC_EINVAL);
	assert_int_equal(rc_sas_verify(NULL, key, 32, "localhost", BEFORE, 0),
	    RC_EINVAL);
	rc_sas_token_clear(&t);
}

static void
token_for(const char *sr, char **tok)
{
	assert_int_equal(rc_sas_token_new(sr, "service", key, sizeof(key), SE,
	                     tok),
	    RC_OK);
}

static void
test_host_rules(void **state)
{
	static const struct {
		const char *sr;
		const char *host;
		int want;
	} cases[] = {
	    {"myhub.example.net", "myhub.example.net", RC_OK},
	    {"myhub.example.net", "MyHub.Example.NET", RC_OK},
	    {"MYHUB.example.net", "myhub.example.net", RC_OK},
	    {"myhub.example.net/devices/x", "myhub.example.net", RC_OK},
	    {"myhub.example.net%2Fdevices%2Fx", "myhub.example.net", RC_OK},
	    {"myhub.example.net", "otherhub.example.net", RC_EAUTH},
	    {"myhub.example.netevil", "myhub.example.net", RC_EAUTH},
	    {"myhub.example.net.evil.com", "myhub.example.net", RC_EAUTH},
	    {"myhub.example.net/", "myhub.example.net", RC_EAUTH},
	    {"myhub.example", "myhub.example.net", RC_EAUTH},
	    {"https://myhub.example.net", "myhub.example.net", RC_EAUTH},
	    {"myhub.example.net/devices/x", "myhub.example.net/devices/x",
	        RC_OK},
	    {"myhub.example.net/devices/xy", "myhub.example.net/devices/x",
	        RC_EAUTH},
	};
	char *tok;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		token_for(cases[i].sr, &tok);
		if (check(tok, cases[i].host, BEFORE, 0) != cases[i].want)
			fail_msg("sr %s host %s: want %s", cases[i].sr,
			    cases[i].host, rc_errname(cases[i].want));
		rc_free(tok);
	}
	/* the device SDK's encoded sr, signed by node */
	assert_int_equal(check("SharedAccessSignature "
	                       "sr=myhub.azure-devices.net%2Fdevices"
	                       "%2Fdev-1&sig=" NODE_SIG_DEVICE_ENC
	                       "&se=2000000000",
	                     "myhub.azure-devices.net", BEFORE, 0),
	    RC_OK);
}

/* Documented string-to-sign: url-encode(lower(urldecode(sr))). */
static void
test_lower_encoded_variant(void **state)
{
	char sig[128], tok[512];

	(void)state;
	/* node: signed "myhub.example.com", sent "MyHub.Example.com" */
	assert_int_equal(check("SharedAccessSignature sr=MyHub.Example.com"
	                       "&sig=" NODE_SIG_LOWER_ENC "&se=1700000000",
	                     "myhub.example.com", 1699999999, 0),
	    RC_OK);
	/* node: signed raw, as the SDK does */
	assert_int_equal(check("SharedAccessSignature sr=MyHub.Example.com"
	                       "&sig=" NODE_SIG_MIXED_ENC "&se=1700000000",
	                     "myhub.example.com", 1699999999, 0),
	    RC_OK);
	/* sent with raw '/' and upper case, signed lower and encoded */
	openssl_sig("myhub.example.com%2Fdevices%2Fdev-1", "2000000000", sig,
	    sizeof(sig));
	snprintf(tok, sizeof(tok),
	    "SharedAccessSignature sr=MyHub.example.com/devices/Dev-1"
	    "&sig=%s&se=2000000000",
	    sig);
	assert_int_equal(check(tok, "myhub.example.com", BEFORE, 0), RC_OK);
	/* the documented form has upper-case hex (RFC 3986 §2.1) only */
	openssl_sig("myhub.example.com%2fdevices%2fdev-1", "2000000000", sig,
	    sizeof(sig));
	snprintf(tok, sizeof(tok),
	    "SharedAccessSignature sr=MyHub.example.com/devices/Dev-1"
	    "&sig=%s&se=2000000000",
	    sig);
	assert_int_equal(check(tok, "myhub.example.com", BEFORE, 0), RC_EAUTH);
}

/* No prefix of a valid token verifies; one byte more does not either. */
static void
test_every_truncation(void **state)
{
	struct rc_sas_token t;
	char *tok, longer[1024];
	size_t n, len;
	int rc;

	(void)state;
	assert_int_equal(rc_sas_token_new("myhub.example.net/devices/dev-1",
	                     "iothubowner", key, sizeof(key), SE, &tok),
	    RC_OK);
	len = strlen(tok);
	for (n = 0; n < len; n++) {
		rc = rc_sas_parse(tok, n, &t);
		if (rc == RC_OK) {
			rc = rc_sas_verify(&t, key, sizeof(key),
			    "myhub.example.net", BEFORE, 0);
			assert_int_not_equal(rc, RC_OK);
		} else {
			assert_null(t.sr);
		}
		rc_sas_token_clear(&t);
	}
	assert_int_equal(check(tok, "myhub.example.net", BEFORE, 0), RC_OK);
	snprintf(longer, sizeof(longer), "%s0", tok);
	assert_int_not_equal(check(longer, "myhub.example.net", BEFORE, 0),
	    RC_OK);
	rc_free(tok);
}

static void
test_token_new_args(void **state)
{
	static char sr[RC_SAS_MAX + 2];
	char *tok;

	(void)state;
	assert_int_equal(rc_sas_token_new("a&b", NULL, key, 32, SE, &tok),
	    RC_EINVAL);
	assert_null(tok);
	assert_int_equal(rc_sas_token_new("a b", NULL, key, 32, SE, &tok),
	    RC_EINVAL);
	assert_int_equal(rc_sas_token_new("", NULL, key, 32, SE, &tok),
	    RC_EINVAL);
	assert_int_equal(rc_sas_token_new(NULL, NULL, key, 32, SE, &tok),
	    RC_EINVAL);
	assert_int_equal(rc_sas_token_new("h", NULL, key, 0, SE, &tok),
	    RC_EINVAL);
	assert_int_equal(rc_sas_token_new("h", NULL, NULL, 32, SE, &tok),
	    RC_EINVAL);
	assert_int_equal(rc_sas_token_new("h", NULL, key, 32, 0, &tok),
	    RC_EINVAL);
	/* an empty policy name is left out, like the SDK's falsy keyName */
	assert_int_equal(rc_sas_token_new("h", "", key, 32, SE, &tok), RC_OK);
	assert_null(strstr(tok, "skn="));
	rc_free(tok);
	assert_int_equal(rc_sas_token_new("h", "a b*(x)", key, 32, SE, &tok),
	    RC_OK);
	assert_non_null(strstr(tok, "&skn=a%20b%2A%28x%29&se=2000000000"));
	rc_free(tok);
	/* too long for a token */
	memset(sr, 'a', RC_SAS_MAX);
	assert_int_equal(rc_sas_token_new(sr, NULL, key, 32, SE, &tok),
	    RC_ETOOBIG);
	memset(sr, 'a', RC_SAS_MAX + 1);
	assert_int_equal(rc_sas_token_new(sr, NULL, key, 32, SE, &tok),
	    RC_EINVAL);
}

/* RC_SAS_MAX bytes parse; one more is refused before any work. */
static void
test_token_cap(void **state)
{
	static char s[RC_SAS_MAX + 2];
	static const char tail[] =
	    "&sig=" NODE_SIG_LOCALHOST_ENC "&se=2000000000";
	static const char head[] = "SharedAccessSignature sr=";
	struct rc_sas_token t;
	size_t srlen;

	(void)state;
	srlen = RC_SAS_MAX - strlen(head) - strlen(tail);
	memcpy(s, head, strlen(head));
	memset(s + strlen(head), 'a', srlen);
	memcpy(s + strlen(head) + srlen, tail, strlen(tail) + 1);
	assert_int_equal(strlen(s), RC_SAS_MAX);
	assert_int_equal(parse_str(s, &t), RC_OK);
	assert_int_equal(strlen(t.sr), srlen);
	rc_sas_token_clear(&t);
	memmove(s + 1, s, RC_SAS_MAX + 1);
	assert_int_equal(parse_str(s, &t), RC_ETOOBIG);
}

static void
test_urlencode(void **state)
{
	static const char in[] = "aZ09-._~!'()* /+=&%:\xc3\xa9";
	char *out;

	(void)state;
	assert_int_equal(rc_sas_urlencode(in, sizeof(in) - 1, &out), RC_OK);
	assert_string_equal(out,
	    "aZ09-._~%21%27%28%29%2A%20%2F%2B%3D%26%25"
	    "%3A%C3%A9");
	rc_free(out);
	assert_int_equal(rc_sas_urlencode("", 0, &out), RC_OK);
	assert_string_equal(out, "");
	rc_free(out);
}

static int
connstr(const char *s, struct rc_connstr *cs)
{
	return rc_connstr_parse(s, strlen(s), cs);
}

static void
test_connstr_valid(void **state)
{
	struct rc_connstr cs;

	(void)state;
	assert_int_equal(connstr("HostName=myhub.example.net;"
	                         "SharedAccessKeyName=iothubowner;"
	                         "SharedAccessKey=" KEY_B64,
	                     &cs),
	    RC_OK);
	assert_string_equal(cs.host, "myhub.example.net");
	assert_string_equal(cs.key_name, "iothubowner");
	/* '=' padding inside the key survives the split */
	assert_string_equal(cs.key, KEY_B64);
	assert_null(cs.device_id);
	rc_connstr_clear(&cs);
	rc_connstr_clear(&cs);
	/* device string: no policy name; unknown names ignored; any order */
	assert_int_equal(connstr("DeviceId=dev-1;x509=false;"
	                         "GatewayHostName=gw:8883;"
	                         "SharedAccessKey=AAE=;HostName=h.example;",
	                     &cs),
	    RC_OK);
	assert_string_equal(cs.host, "h.example");
	assert_null(cs.key_name);
	assert_string_equal(cs.key, "AAE=");
	assert_string_equal(cs.device_id, "dev-1");
	rc_connstr_clear(&cs);
	/* empty items are skipped, as the SDK does */
	assert_int_equal(connstr(";HostName=[::1]:443;;SharedAccessKey=AA==;",
	                     &cs),
	    RC_OK);
	assert_string_equal(cs.host, "[::1]:443");
	rc_connstr_clear(&cs);
	/* '=' inside an ignored value */
	assert_int_equal(connstr("HostName=h;Other=a=b=c;SharedAccessKey=AA==",
	                     &cs),
	    RC_OK);
	rc_connstr_clear(&cs);
}

static void
test_connstr_invalid(void **state)
{
	static const char *const bad[] = {
	    "",
	    ";",
	    "HostName=h",
	    "SharedAccessKey=" KEY_B64,
	    "SharedAccessKeyName=p;SharedAccessKey=" KEY_B64,
	    "hostname=h;SharedAccessKey=" KEY_B64,
	    "HostName=h;HostName=h;SharedAccessKey=" KEY_B64,
	    "HostName=h;SharedAccessKey=" KEY_B64 ";SharedAccessKey=" KEY_B64,
	    "HostName=h;SharedAccessKeyName=a;SharedAccessKeyName=a;"
	    "SharedAccessKey=" KEY_B64,
	    "HostName=h;DeviceId=a;DeviceId=b;SharedAccessKey=" KEY_B64,
	    "HostName=;SharedAccessKey=" KEY_B64,
	    "HostName=h;SharedAccessKey=",
	    "HostName=h;SharedAccessKey=" KEY_B64 ";junk",
	    "HostName=h;=x;SharedAccessKey=" KEY_B64,
	    "HostName=h;SharedAccessKey=not*base64",
	    "HostName=h;SharedAccessKey=AAA",
	    "HostName=h;SharedAccessKey=A===",
	    "HostName=h;SharedAccessKey=AA==AA==",
	    "HostName=h;SharedAccessKey=AA== ",
	    "HostName=h h;SharedAccessKey=" KEY_B64,
	    "HostName=h/x;SharedAccessKey=" KEY_B64,
	    "HostName=h%41;SharedAccessKey=" KEY_B64,
	    "HostName=h&x;SharedAccessKey=" KEY_B64,
	    "HostName=h;SharedAccessKey=" KEY_B64 "\n",
	    "HostName=h;\tSharedAccessKey=" KEY_B64,
	    "HostName=h;SharedAccessKeyName=a b;SharedAccessKey=" KEY_B64,
	};
	static const char nul[] = "HostName=h\0x;SharedAccessKey=" KEY_B64;
	struct rc_connstr cs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (connstr(bad[i], &cs) != RC_EPARSE)
			fail_msg("accepted or wrong code: '%s'", bad[i]);
		assert_null(cs.host);
		assert_null(cs.key);
	}
	assert_int_equal(rc_connstr_parse(nul, sizeof(nul) - 1, &cs),
	    RC_EPARSE);
	assert_int_equal(rc_connstr_parse(NULL, 0, &cs), RC_EINVAL);
}

static void
test_connstr_caps(void **state)
{
	static char s[RC_SAS_MAX + 2], big[2048];
	static const char base[] = "HostName=h;SharedAccessKey=AA==;Pad=";
	struct rc_connstr cs;
	size_t n;

	(void)state;
	n = strlen(base);
	memcpy(s, base, n);
	memset(s + n, 'p', RC_SAS_MAX - n);
	assert_int_equal(rc_connstr_parse(s, RC_SAS_MAX, &cs), RC_OK);
	rc_connstr_clear(&cs);
	s[RC_SAS_MAX] = 'p';
	assert_int_equal(rc_connstr_parse(s, RC_SAS_MAX + 1, &cs), RC_ETOOBIG);
	/* a key of RC_SAS_KEY_MAX bytes is accepted, one more is not */
	n = (size_t)snprintf(big, sizeof(big), "HostName=h;SharedAccessKey=");
	memset(big + n, 'A', RC_SAS_KEY_MAX / 3 * 4);
	memcpy(big + n + RC_SAS_KEY_MAX / 3 * 4, "AAA=", 5);
	assert_int_equal(connstr(big, &cs), RC_OK);
	rc_connstr_clear(&cs);
	memcpy(big + n + RC_SAS_KEY_MAX / 3 * 4, "AAAA", 5);
	assert_int_equal(connstr(big, &cs), RC_EPARSE);
}

static const char alloc_token[] =
    "SharedAccessSignature "
    "sr=myhub.example.net%2Fdevices%2Fdev-1&sig=" NODE_SIG_DEVICE_ENC
    "&skn=service%2Aowner&se=2000000000";

static int
alloc_parse(void *arg)
{
	struct rc_sas_token t;
	int rc;

	(void)arg;
	rc = rc_sas_parse(alloc_token, strlen(alloc_token), &t);
	rc_sas_token_clear(&t);
	return rc;
}

static int
alloc_connstr(void *arg)
{
	static const char s[] =
	    "HostName=h.example;DeviceId=d;"
	    "SharedAccessKeyName=p;SharedAccessKey=" KEY_B64;
	struct rc_connstr cs;
	uint8_t *k = NULL;
	size_t klen = 0;
	int rc;

	(void)arg;
	if ((rc = rc_connstr_parse(s, strlen(s), &cs)) != RC_OK)
		return rc;
	rc = rc_connstr_get1_key(&cs, &k, &klen);
	rc_free_secret(k, klen);
	rc_connstr_clear(&cs);
	return rc;
}

/* Through OpenSSL's HMAC: only "no crash, no leak" can be asked. */
static int
alloc_make_verify(void *arg)
{
	struct rc_sas_token t;
	char *tok = NULL;
	int rc;

	(void)arg;
	memset(&t, 0, sizeof(t));
	if ((rc = rc_sas_token_new("MyHub.example.net/devices/d", "p", key,
	         sizeof(key), SE, &tok)) != RC_OK)
		goto out;
	if ((rc = rc_sas_parse(tok, strlen(tok), &t)) != RC_OK)
		goto out;
	/* the wrong-case host makes the second MAC run too */
	t.sig[0] ^= 1;
	rc =
	    rc_sas_verify(&t, key, sizeof(key), "myhub.example.net", BEFORE, 0);
	rc = rc == RC_EAUTH ? RC_OK : RC_EINVAL;
out:
	rc_sas_token_clear(&t);
	rc_free(tok);
	return rc;
}

static void
test_each_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(alloc_parse, NULL, 1);
	rctest_each_alloc(alloc_connstr, NULL, 1);
	rctest_each_alloc(alloc_make_verify, NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kat_openssl),
	    cmocka_unit_test(test_kat_node),
	    cmocka_unit_test(test_parse_all_orders),
	    cmocka_unit_test(test_parse_missing_and_duplicate),
	    cmocka_unit_test(test_parse_syntax),
	    cmocka_unit_test(test_percent_decoding),
	    cmocka_unit_test(test_plus_literal),
	    cmocka_unit_test(test_sig_shape),
	    cmocka_unit_test(test_se_values),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_wrong_key),
	    cmocka_unit_test(test_host_rules),
	    cmocka_unit_test(test_lower_encoded_variant),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_token_new_args),
	    cmocka_unit_test(test_token_cap),
	    cmocka_unit_test(test_urlencode),
	    cmocka_unit_test(test_connstr_valid),
	    cmocka_unit_test(test_connstr_invalid),
	    cmocka_unit_test(test_connstr_caps),
	    cmocka_unit_test(test_each_alloc),
	};

	rc_mem_hook_openssl();
	fill_key();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
