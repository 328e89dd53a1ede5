/*
 * Unit tests for the attestation engine (attest.h): one table row per rule
 * and edge of seed rules S6, S7, S12, S13, then the store gatherer.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rctest.h"
#include "rollcall/attest.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"
#include "testpki.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

#define X16 "abcdefghijklmnop"
#define ID64 X16 X16 X16 X16
#define ID128 ID64 ID64

/* Certificates of the test PKI; C_NONE ends a chain in a row. */
enum cid {
	C_NONE,
	C_ROOT,
	C_ROOT2,
	C_INTER,
	C_INTER_X, /* I again: same name and key, another serial */
	C_INTER_FAKE, /* I's name, another key */
	C_INTER2, /* under C_INTER */
	C_INTER_EXP,
	C_INTER_NOCA, /* basicConstraints cA FALSE */
	C_INTER_NOKU, /* keyUsage without keyCertSign */
	L_DEV1,
	L_DEV1_B, /* a rolled leaf: same CN, new key */
	L_DEV1_ROOT,
	L_DEV1_I2,
	L_DEV1_LONG, /* valid for ten hours, longer than C_INTER */
	L_CASE,
	L_64,
	L_PUNCT,
	L_EXP,
	L_NYV,
	L_UNDER_EXP,
	L_UNDER_NOCA,
	L_UNDER_NOKU,
	L_OTHER,
	L_SELF,
	C_COUNT
};

#define H TESTPKI_HOUR

/* How each certificate is made, issuers before what they issue. */
static const struct cspec {
	enum cid id;
	const char *cn;
	enum cid issuer; /* C_NONE: self-signed */
	enum cid key_of; /* C_NONE: a key of its own */
	int ca, keycertsign;
	long nb, na;
} cspecs[] = {
    {C_ROOT, "Test Root", C_NONE, C_NONE, 1, 1, -H, H},
    {C_ROOT2, "Other Root", C_NONE, C_NONE, 1, 1, -H, H},
    {C_INTER, "Test Intermediate", C_ROOT, C_NONE, 1, 1, -H, H},
    {C_INTER_X, "Test Intermediate", C_ROOT, C_INTER, 1, 1, -H, H},
    {C_INTER_FAKE, "Test Intermediate", C_NONE, C_NONE, 1, 1, -H, H},
    {C_INTER2, "Second Intermediate", C_INTER, C_NONE, 1, 1, -H, H},
    {C_INTER_EXP, "Expired Intermediate", C_ROOT, C_NONE, 1, 1, -2 * H, -60},
    {C_INTER_NOCA, "Not A CA", C_ROOT, C_NONE, 0, 1, -H, H},
    {C_INTER_NOKU, "No keyCertSign", C_ROOT, C_NONE, 1, 0, -H, H},
    {L_DEV1, "device-1", C_INTER, C_NONE, 0, 0, -H, H},
    {L_DEV1_B, "device-1", C_INTER, C_NONE, 0, 0, -H, H},
    {L_DEV1_ROOT, "device-1", C_ROOT, C_NONE, 0, 0, -H, H},
    {L_DEV1_I2, "device-1", C_INTER2, C_NONE, 0, 0, -H, H},
    {L_DEV1_LONG, "device-1", C_INTER, C_NONE, 0, 0, -H, 10 * H},
    {L_CASE, "Device-1", C_INTER, C_NONE, 0, 0, -H, H},
    {L_64, ID64, C_INTER, C_NONE, 0, 0, -H, H},
    {L_PUNCT, "dev.ice-1_a:b", C_INTER, C_NONE, 0, 0, -H, H},
    {L_EXP, "device-1", C_INTER, C_NONE, 0, 0, -2 * H, -60},
    {L_NYV, "device-1", C_INTER, C_NONE, 0, 0, 60, H},
    {L_UNDER_EXP, "device-1", C_INTER_EXP, C_NONE, 0, 0, -H, H},
    {L_UNDER_NOCA, "device-1", C_INTER_NOCA, C_NONE, 0, 0, -H, H},
    {L_UNDER_NOKU, "device-1", C_INTER_NOKU, C_NONE, 0, 0, -H, H},
    {L_OTHER, "device-1", C_ROOT2, C_NONE, 0, 0, -H, H},
    {L_SELF, "device-1", C_NONE, C_NONE, 0, 0, -H, H},
};

static struct {
	X509 *x[C_COUNT];
	EVP_PKEY *k[C_COUNT];
	time_t now;
} pki;

static int
pki_setup(void **state)
{
	const struct cspec *s;
	struct testpki_opts o;
	size_t i;

	(void)state;
	pki.now = time(NULL);
	for (i = 0; i < NITEMS(cspecs); i++) {
		s = &cspecs[i];
		pki.k[s->id] =
		    s->key_of != C_NONE ? pki.k[s->key_of] : testpki_key();
		if (s->key_of != C_NONE)
			EVP_PKEY_up_ref(pki.k[s->id]);
		memset(&o, 0, sizeof(o));
		o.cn = s->cn;
		o.issuer = s->issuer != C_NONE ? pki.x[s->issuer] : NULL;
		o.issuer_key = s->issuer != C_NONE ? pki.k[s->issuer] : NULL;
		o.not_before = s->nb;
		o.not_after = s->na;
		o.ca = s->ca;
		o.pathlen = -1;
		o.keycertsign = s->keycertsign;
		pki.x[s->id] = testpki_cert(pki.k[s->id], &o);
	}
	return 0;
}

static int
pki_teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < C_COUNT; i++) {
		X509_free(pki.x[i]);
		EVP_PKEY_free(pki.k[i]);
	}
	rctest_rmtree(rctest_tmpdir());
	return 0;
}

/* A struct rc_store_cert of x, as the DPS API stores one. */
static struct rc_store_cert *
store_cert(X509 *x)
{
	struct rc_store_cert *c;
	struct rc_cert_info info;

	c = rc_calloc(1, sizeof(*c));
	assert_non_null(c);
	c->der = testpki_der(x, &c->der_len);
	assert_int_equal(rc_x509_info(x, &info), RC_OK);
	memcpy(c->sha1, info.sha1, sizeof(c->sha1));
	memcpy(c->sha256, info.sha256, sizeof(c->sha256));
	c->subject = rc_strdup(info.subject);
	c->issuer = rc_strdup(info.issuer);
	c->serial = rc_strdup(info.serial);
	c->not_before = info.not_before_t;
	c->not_after = info.not_after_t;
	c->version = info.version;
	rc_x509_info_clear(&info);
	return c;
}

/*
 * An enrollment of a row: where 'I' is the view's individual, 'G' a group,
 * 'H' only a holder (an individual of another registration ID).
 */
struct espec {
	char where;
	const char *id;
	int enabled;
	enum cid certs[RC_SLOT_COUNT];
	const char *refs[RC_SLOT_COUNT];
};

struct caspec {
	const char *name;
	enum cid cert;
	int verified;
};

struct row {
	const char *name;
	enum cid chain[RC_ATTEST_MAX_CHAIN + 2];
	const char *id;
	struct espec e[4];
	struct caspec cas[2];
	enum rc_attest_reason reason;
	const char *by; /* ID of the deciding enrollment, or NULL */
	enum rc_slot slot;
	long dt; /* now = pki.now + dt */
	enum cid blocked[3]; /* on the blocklist (view.blocked) */
};

#define EN 1
#define DIS 0
#define P RC_SLOT_PRIMARY
#define S RC_SLOT_SECONDARY

static const struct row rows[] = {
    /* S13: the individual enrollment decides; S6: either slot. */
    {"individual primary", {L_DEV1}, "device-1",
        {{'I', "device-1", EN, {L_DEV1}, {NULL}}}, {}, RC_ATTEST_OK, "device-1",
        P, 0, {C_NONE}},
    {"individual secondary", {L_DEV1, C_INTER}, "device-1",
        {{'I', "device-1", EN, {L_DEV1_B, L_DEV1}, {NULL}}}, {}, RC_ATTEST_OK,
        "device-1", S, 0, {C_NONE}},
    {"individual, ID case differs", {L_DEV1}, "device-1",
        {{'I', "DEVICE-1", EN, {L_DEV1}, {NULL}}}, {}, RC_ATTEST_OK, "DEVICE-1",
        P, 0, {C_NONE}},
    {"individual self-signed", {L_SELF}, "device-1",
        {{'I', "device-1", EN, {L_SELF}, {NULL}}}, {}, RC_ATTEST_OK, "device-1",
        P, 0, {C_NONE}},
    {"individual, no slot matches", {L_DEV1}, "device-1",
        {{'I', "device-1", EN, {L_DEV1_B}, {NULL}}}, {},
        RC_ATTEST_INDIVIDUAL_NO_MATCH, "device-1", P, 0, {C_NONE}},
    {"individual without certificates", {L_DEV1}, "device-1",
        {{'I', "device-1", EN, {C_NONE}, {NULL}}}, {},
        RC_ATTEST_INDIVIDUAL_NO_MATCH, "device-1", P, 0, {C_NONE}},
    {"individual decides before an accepting group", {L_DEV1, C_INTER},
        "device-1",
        {{'I', "device-1", EN, {L_DEV1_B}, {NULL}},
            {'G', "grp-root", EN, {C_ROOT}, {NULL}}},
        {}, RC_ATTEST_INDIVIDUAL_NO_MATCH, "device-1", P, 0, {C_NONE}},
    /* S12: a disabled individual blocks a device of an enabled group. */
    {"cert in disabled individual and enabled group", {L_DEV1, C_INTER},
        "device-1",
        {{'I', "device-1", DIS, {L_DEV1}, {NULL}},
            {'G', "grp-root", EN, {C_ROOT}, {NULL}}},
        {}, RC_ATTEST_INDIVIDUAL_DISABLED, "device-1", P, 0, {C_NONE}},
    {"disabled individual without cert, enabled group", {L_DEV1, C_INTER},
        "device-1",
        {{'I', "device-1", DIS, {C_NONE}, {NULL}},
            {'G', "grp-root", EN, {C_ROOT}, {NULL}}},
        {}, RC_ATTEST_INDIVIDUAL_DISABLED, "device-1", P, 0, {C_NONE}},
    {"leaf in another ID's disabled individual", {L_DEV1, C_INTER}, "device-1",
        {{'H', "device-2", DIS, {L_DEV1}, {NULL}},
            {'G', "grp-root", EN, {C_ROOT}, {NULL}}},
        {}, RC_ATTEST_DISABLED_CERT, "device-2", P, 0, {C_NONE}},
    {"leaf in another ID's enabled individual", {L_DEV1, C_INTER}, "device-1",
        {{'H', "device-2", EN, {L_DEV1}, {NULL}},
            {'G', "grp-root", EN, {C_ROOT}, {NULL}}},
        {}, RC_ATTEST_OK, "grp-root", P, 0, {C_NONE}},
    {"presented root in a disabled group", {L_DEV1, C_INTER, C_ROOT},
        "device-1",
        {{'G', "grp-inter", EN, {C_INTER}, {NULL}},
            {'G', "grp-root", DIS, {C_NONE, C_ROOT}, {NULL}}},
        {}, RC_ATTEST_DISABLED_CERT, "grp-root", S, 0, {C_NONE}},
    {"presented CA in a disabled group's CA reference",
        {L_DEV1, C_INTER, C_ROOT}, "device-1",
        {{'G', "grp-inter", EN, {C_INTER}, {NULL}},
            {'G', "grp-ref", DIS, {C_NONE}, {"ca-root"}}},
        {{"ca-root", C_ROOT, 1}}, RC_ATTEST_DISABLED_CERT, "grp-ref", P, 0,
        {C_NONE}},
    {"disabled root group, intermediate group decides", {L_DEV1, C_INTER},
        "device-1",
        {{'G', "grp-inter", EN, {C_INTER}, {NULL}},
            {'G', "grp-root", DIS, {C_ROOT}, {NULL}}},
        {}, RC_ATTEST_OK, "grp-inter", P, 0, {C_NONE}},
    /* S7, S13: groups by root or intermediate, leaf alone or with chain. */
    {"group by root, leaf + intermediate", {L_DEV1, C_INTER}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK, "grp-root",
        P, 0, {C_NONE}},
    {"group by root, full chain", {L_DEV1, C_INTER, C_ROOT}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK, "grp-root",
        P, 0, {C_NONE}},
    {"group by root, leaf directly under it", {L_DEV1_ROOT}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK, "grp-root",
        P, 0, {C_NONE}},
    {"group by root, leaf alone", {L_DEV1}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_NO_ENROLLMENT,
        NULL, P, 0, {C_NONE}},
    {"group by intermediate, leaf alone", {L_DEV1}, "device-1",
        {{'G', "grp-inter", EN, {C_INTER}, {NULL}}}, {}, RC_ATTEST_OK,
        "grp-inter", P, 0, {C_NONE}},
    {"group by intermediate, leaf + chain", {L_DEV1, C_INTER, C_ROOT},
        "device-1", {{'G', "grp-inter", EN, {C_INTER}, {NULL}}}, {},
        RC_ATTEST_OK, "grp-inter", P, 0, {C_NONE}},
    {"group secondary slot", {L_DEV1, C_INTER}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT2, C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK,
        "grp-root", S, 0, {C_NONE}},
    {"nearest group decides", {L_DEV1, C_INTER}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}},
            {'G', "grp-inter", EN, {C_INTER}, {NULL}}},
        {}, RC_ATTEST_OK, "grp-inter", P, 0, {C_NONE}},
    {"nearest group disabled", {L_DEV1}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}},
            {'G', "grp-inter", DIS, {C_INTER}, {NULL}}},
        {}, RC_ATTEST_GROUP_DISABLED, "grp-inter", P, 0, {C_NONE}},
    {"same depth: the disabled group first", {L_DEV1}, "device-1",
        {{'G', "grp-a", EN, {C_INTER}, {NULL}},
            {'G', "grp-b", DIS, {C_INTER_X}, {NULL}}},
        {}, RC_ATTEST_GROUP_DISABLED, "grp-b", P, 0, {C_NONE}},
    {"same depth: the first enabled group", {L_DEV1}, "device-1",
        {{'G', "grp-a", EN, {C_INTER_X}, {NULL}},
            {'G', "grp-b", EN, {C_INTER}, {NULL}}},
        {}, RC_ATTEST_OK, "grp-a", P, 0, {C_NONE}},
    {"same name, other key: no match", {L_DEV1}, "device-1",
        {{'G', "grp-fake", EN, {C_INTER_FAKE}, {NULL}}}, {},
        RC_ATTEST_NO_ENROLLMENT, NULL, P, 0, {C_NONE}},
    {"two intermediates, group by root", {L_DEV1_I2, C_INTER2, C_INTER},
        "device-1", {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK,
        "grp-root", P, 0, {C_NONE}},
    {"two intermediates, group by the upper", {L_DEV1_I2, C_INTER2}, "device-1",
        {{'G', "grp-inter", EN, {C_INTER}, {NULL}}}, {}, RC_ATTEST_OK,
        "grp-inter", P, 0, {C_NONE}},
    {"two intermediates, group by the lower, leaf alone", {L_DEV1_I2},
        "device-1", {{'G', "grp-i2", EN, {C_INTER2}, {NULL}}}, {}, RC_ATTEST_OK,
        "grp-i2", P, 0, {C_NONE}},
    {"two intermediates, lower one missing", {L_DEV1_I2, C_INTER}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_CHAIN_INVALID,
        "grp-root", P, 0, {C_NONE}},
    {"chain out of order", {L_DEV1_I2, C_INTER, C_INTER2}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK, "grp-root",
        P, 0, {C_NONE}},
    {"unknown CA", {L_OTHER}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_NO_ENROLLMENT,
        NULL, P, 0, {C_NONE}},
    {"no enrollment at all", {L_DEV1, C_INTER}, "device-1", {}, {},
        RC_ATTEST_NO_ENROLLMENT, NULL, P, 0, {C_NONE}},
    {"group holds the leaf itself", {L_DEV1}, "device-1",
        {{'G', "grp-leaf", EN, {L_DEV1}, {NULL}}}, {}, RC_ATTEST_CHAIN_INVALID,
        "grp-leaf", P, 0, {C_NONE}},
    /* Verified-CA references. */
    {"group via verified CA reference", {L_DEV1, C_INTER}, "device-1",
        {{'G', "grp-ref", EN, {C_NONE}, {"ca-root"}}}, {{"ca-root", C_ROOT, 1}},
        RC_ATTEST_OK, "grp-ref", P, 0, {C_NONE}},
    {"CA reference, name in other case", {L_DEV1, C_INTER}, "device-1",
        {{'G', "grp-ref", EN, {C_NONE}, {NULL, "CA-Root"}}},
        {{"ca-root", C_ROOT, 1}}, RC_ATTEST_OK, "grp-ref", S, 0, {C_NONE}},
    {"unverified CA reference", {L_DEV1, C_INTER}, "device-1",
        {{'G', "grp-ref", EN, {C_NONE}, {"ca-root"}}}, {{"ca-root", C_ROOT, 0}},
        RC_ATTEST_CA_UNVERIFIED, "grp-ref", P, 0, {C_NONE}},
    {"CA reference to a missing CA", {L_DEV1, C_INTER}, "device-1",
        {{'G', "grp-ref", EN, {C_NONE}, {"ca-gone"}}}, {{"ca-root", C_ROOT, 1}},
        RC_ATTEST_NO_ENROLLMENT, NULL, P, 0, {C_NONE}},
    /* Issuers: validity, cA TRUE, keyCertSign. */
    {"expired intermediate presented", {L_UNDER_EXP, C_INTER_EXP}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_CHAIN_INVALID,
        "grp-root", P, 0, {C_NONE}},
    {"expired intermediate in the group", {L_UNDER_EXP}, "device-1",
        {{'G', "grp-exp", EN, {C_INTER_EXP}, {NULL}}}, {},
        RC_ATTEST_CHAIN_INVALID, "grp-exp", P, 0, {C_NONE}},
    {"intermediate without cA TRUE", {L_UNDER_NOCA, C_INTER_NOCA}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_CHAIN_INVALID,
        "grp-root", P, 0, {C_NONE}},
    {"group cert without cA TRUE", {L_UNDER_NOCA}, "device-1",
        {{'G', "grp-noca", EN, {C_INTER_NOCA}, {NULL}}}, {},
        RC_ATTEST_CHAIN_INVALID, "grp-noca", P, 0, {C_NONE}},
    {"intermediate without keyCertSign", {L_UNDER_NOKU, C_INTER_NOKU},
        "device-1", {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {},
        RC_ATTEST_CHAIN_INVALID, "grp-root", P, 0, {C_NONE}},
    {"group cert without keyCertSign", {L_UNDER_NOKU}, "device-1",
        {{'G', "grp-noku", EN, {C_INTER_NOKU}, {NULL}}}, {},
        RC_ATTEST_CHAIN_INVALID, "grp-noku", P, 0, {C_NONE}},
    {"intermediate expired at now, leaf still valid", {L_DEV1_LONG}, "device-1",
        {{'G', "grp-inter", EN, {C_INTER}, {NULL}}}, {},
        RC_ATTEST_CHAIN_INVALID, "grp-inter", P, 2 * H, {C_NONE}},
    {"every certificate valid at now", {L_DEV1_LONG}, "device-1",
        {{'G', "grp-inter", EN, {C_INTER}, {NULL}}}, {}, RC_ATTEST_OK,
        "grp-inter", P, H / 2, {C_NONE}},
    /* The leaf: CN, validity. */
    {"wrong CN case", {L_CASE, C_INTER}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_CN_MISMATCH,
        NULL, P, 0, {C_NONE}},
    {"CN of another device", {L_DEV1, C_INTER}, "device-2",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_CN_MISMATCH,
        NULL, P, 0, {C_NONE}},
    {"64-character CN", {L_64, C_INTER}, ID64,
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK, "grp-root",
        P, 0, {C_NONE}},
    {"128-character ID, CN cannot match", {L_64, C_INTER}, ID128,
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_CN_MISMATCH,
        NULL, P, 0, {C_NONE}},
    {". - _ : in the ID", {L_PUNCT, C_INTER}, "dev.ice-1_a:b",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK, "grp-root",
        P, 0, {C_NONE}},
    {"expired leaf", {L_EXP, C_INTER}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_EXPIRED, NULL,
        P, 0, {C_NONE}},
    {"expired leaf, individual", {L_EXP}, "device-1",
        {{'I', "device-1", EN, {L_EXP}, {NULL}}}, {}, RC_ATTEST_EXPIRED, NULL,
        P, 0, {C_NONE}},
    {"not-yet-valid leaf", {L_NYV, C_INTER}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_NOT_YET_VALID,
        NULL, P, 0, {C_NONE}},
    {"not-yet-valid leaf, individual", {L_NYV}, "device-1",
        {{'I', "device-1", EN, {L_NYV}, {NULL}}}, {}, RC_ATTEST_NOT_YET_VALID,
        NULL, P, 0, {C_NONE}},
    {"CN checked before validity", {L_EXP}, "device-2", {}, {},
        RC_ATTEST_CN_MISMATCH, NULL, P, 0, {C_NONE}},
    /* S9: the blocklist, after the CN and before everything else. */
    {"blocked leaf, individual holds it", {L_DEV1}, "device-1",
        {{'I', "device-1", EN, {L_DEV1}, {NULL}}}, {}, RC_ATTEST_BLOCKED, NULL,
        P, 0, {L_DEV1}},
    {"blocked leaf, the other slot's leaf still works", {L_DEV1_B}, "device-1",
        {{'I', "device-1", EN, {L_DEV1, L_DEV1_B}, {NULL}}}, {}, RC_ATTEST_OK,
        "device-1", S, 0, {L_DEV1}},
    {"blocked presented intermediate, group by root", {L_DEV1, C_INTER},
        "device-1", {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {},
        RC_ATTEST_BLOCKED, NULL, P, 0, {C_INTER}},
    {"blocked presented root", {L_DEV1, C_INTER, C_ROOT}, "device-1",
        {{'G', "grp-inter", EN, {C_INTER}, {NULL}}}, {}, RC_ATTEST_BLOCKED,
        NULL, P, 0, {C_ROOT}},
    {"blocked group certificate, not presented", {L_DEV1}, "device-1",
        {{'G', "grp-inter", EN, {C_INTER}, {NULL}}}, {}, RC_ATTEST_BLOCKED,
        "grp-inter", P, 0, {C_INTER}},
    {"blocked CA certificate behind a reference", {L_DEV1, C_INTER}, "device-1",
        {{'G', "grp-ref", EN, {C_NONE}, {"ca-root"}}}, {{"ca-root", C_ROOT, 1}},
        RC_ATTEST_BLOCKED, "grp-ref", P, 0, {C_ROOT}},
    {"blocked other certificate changes nothing", {L_DEV1, C_INTER}, "device-1",
        {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK, "grp-root",
        P, 0, {L_DEV1_B, C_ROOT2}},
    {"blocked before expired", {L_EXP}, "device-1",
        {{'I', "device-1", EN, {L_EXP}, {NULL}}}, {}, RC_ATTEST_BLOCKED, NULL,
        P, 0, {L_EXP}},
    {"blocked before a disabled holder (S12)", {L_DEV1, C_INTER}, "device-1",
        {{'H', "device-2", DIS, {L_DEV1}, {NULL}},
            {'G', "grp-root", EN, {C_ROOT}, {NULL}}},
        {}, RC_ATTEST_BLOCKED, NULL, P, 0, {L_DEV1}},
    {"CN checked before the blocklist", {L_DEV1}, "device-2", {}, {},
        RC_ATTEST_CN_MISMATCH, NULL, P, 0, {L_DEV1}},
    /* The shape of the request. */
    {"no certificate", {C_NONE}, "device-1",
        {{'I', "device-1", EN, {L_DEV1}, {NULL}}}, {}, RC_ATTEST_NO_CHAIN, NULL,
        P, 0, {C_NONE}},
    {"ID with '/'", {L_DEV1}, "device/1", {}, {}, RC_ATTEST_BAD_REGISTRATION_ID,
        NULL, P, 0, {C_NONE}},
    {"ID with a space", {L_DEV1}, "device 1", {}, {},
        RC_ATTEST_BAD_REGISTRATION_ID, NULL, P, 0, {C_NONE}},
    {"empty ID", {L_DEV1}, "", {}, {}, RC_ATTEST_BAD_REGISTRATION_ID, NULL, P,
        0, {C_NONE}},
    {"129-character ID", {L_DEV1}, ID128 "q", {}, {},
        RC_ATTEST_BAD_REGISTRATION_ID, NULL, P, 0, {C_NONE}},
    {"chain too long",
        {L_DEV1, C_INTER, C_ROOT, C_INTER, C_ROOT, C_INTER, C_ROOT, C_INTER,
            C_ROOT, C_INTER, C_ROOT},
        "device-1", {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {},
        RC_ATTEST_CHAIN_TOO_LONG, NULL, P, 0, {C_NONE}},
    {"chain at the limit",
        {L_DEV1, C_INTER, C_ROOT, C_INTER, C_ROOT, C_INTER, C_ROOT, C_INTER,
            C_ROOT, C_INTER},
        "device-1", {{'G', "grp-root", EN, {C_ROOT}, {NULL}}}, {}, RC_ATTEST_OK,
        "grp-root", P, 0, {C_NONE}},
};

/* A row's view; every enrollment it made is in all[]. */
struct built {
	struct rc_attest_view v;
	struct rc_enrollment *all[4];
	struct rc_enrollment *groups[4], *holders[4];
	struct rc_ca_cert *cas[2];
	char blocked[3][65];
	STACK_OF(X509) *chain;
};

static struct rc_enrollment *
make_enrollment(const struct espec *s)
{
	struct rc_enrollment *e;
	int i;

	e = rc_enrollment_new(
	    s->where == 'G' ? RC_ENROLLMENT_GROUP : RC_ENROLLMENT_INDIVIDUAL);
	assert_non_null(e);
	e->id = rc_strdup(s->id);
	e->enabled = s->enabled;
	for (i = 0; i < RC_SLOT_COUNT; i++) {
		if (s->certs[i] != C_NONE)
			e->certs[i] = store_cert(pki.x[s->certs[i]]);
		if (s->refs[i] != NULL)
			e->ca_refs[i] = rc_strdup(s->refs[i]);
	}
	return e;
}

static void
build(const struct row *r, struct built *b)
{
	struct rc_enrollment *e;
	size_t i;

	memset(b, 0, sizeof(*b));
	b->chain = sk_X509_new_null();
	for (i = 0; r->chain[i] != C_NONE; i++)
		assert_true(sk_X509_push(b->chain, pki.x[r->chain[i]]) > 0);
	for (i = 0; i < NITEMS(r->e) && r->e[i].id != NULL; i++) {
		e = b->all[i] = make_enrollment(&r->e[i]);
		if (r->e[i].where == 'I')
			b->v.individual = e;
		else if (r->e[i].where == 'G')
			b->groups[b->v.ngroups++] = e;
		else
			b->holders[b->v.nholders++] = e;
	}
	for (i = 0; i < NITEMS(r->cas) && r->cas[i].name != NULL; i++) {
		b->cas[i] = rc_calloc(1, sizeof(*b->cas[i]));
		assert_non_null(b->cas[i]);
		b->cas[i]->name = rc_strdup(r->cas[i].name);
		b->cas[i]->cert = store_cert(pki.x[r->cas[i].cert]);
		b->cas[i]->verified = r->cas[i].verified;
		b->v.ncas++;
	}
	for (i = 0; i < NITEMS(r->blocked) && r->blocked[i] != C_NONE; i++)
		assert_int_equal(rc_x509_thumbprint(pki.x[r->blocked[i]], 1,
		                     b->blocked[b->v.nblocked++], 65),
		    RC_OK);
	b->v.groups = b->groups;
	b->v.holders = b->holders;
	b->v.cas = b->cas;
	b->v.blocked = b->v.nblocked > 0 ? b->blocked : NULL;
}

static void
unbuild(struct built *b)
{
	size_t i;

	for (i = 0; i < NITEMS(b->all); i++)
		rc_enrollment_free(b->all[i]);
	for (i = 0; i < NITEMS(b->cas); i++)
		rc_ca_cert_free(b->cas[i]);
	sk_X509_free(b->chain);
}

/* The device's message names no enrollment and no CA. */
static void
assert_message_private(const struct row *r, const char *msg)
{
	size_t i;

	for (i = 0; i < NITEMS(r->e) && r->e[i].id != NULL; i++)
		if (strcmp(r->e[i].id, r->id) != 0)
			assert_null(strstr(msg, r->e[i].id));
	for (i = 0; i < NITEMS(r->cas) && r->cas[i].name != NULL; i++)
		assert_null(strstr(msg, r->cas[i].name));
}

static void
check_row(const struct row *r)
{
	struct rc_attest_result res;
	struct built b;
	char sha[65];

	build(r, &b);
	assert_int_equal(rc_attest(b.chain, r->id, pki.now + r->dt, &b.v, &res),
	    RC_OK);
	if (res.reason != r->reason)
		fail_msg("row \"%s\": %s, expected %s (%s; %s)", r->name,
		    rc_attest_reason_name(res.reason),
		    rc_attest_reason_name(r->reason), res.message, res.detail);
	if (r->by == NULL)
		assert_null(res.enrollment);
	else {
		if (res.enrollment == NULL)
			fail_msg("row \"%s\": no enrollment", r->name);
		assert_string_equal(res.enrollment->id, r->by);
		assert_int_equal(res.slot, r->slot);
	}
	assert_true(res.message[0] != '\0');
	assert_message_private(r, res.message);
	if (r->reason == RC_ATTEST_BLOCKED)
		assert_string_equal(res.message,
		    "the certificate has been revoked");
	if (r->chain[0] != C_NONE && r->reason != RC_ATTEST_CHAIN_TOO_LONG &&
	    r->reason != RC_ATTEST_BAD_REGISTRATION_ID) {
		assert_int_equal(rc_x509_thumbprint(pki.x[r->chain[0]], 1, sha,
		                     sizeof(sha)),
		    RC_OK);
		assert_string_equal(res.leaf_sha256, sha);
		assert_int_equal(strlen(res.leaf_sha1), 40);
	}
	unbuild(&b);
}

static void
test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(rows); i++)
		check_row(&rows[i]);
}

/* One certificate, with an individual enrollment holding it. */
static enum rc_attest_reason
decide_at(enum cid leaf, time_t now)
{
	const struct row r = {"at", {leaf}, "device-1",
	    {{'I', "device-1", EN, {leaf}, {NULL}}}, {}, RC_ATTEST_OK, NULL, P,
	    0, {C_NONE}};
	struct rc_attest_result res;
	struct built b;

	build(&r, &b);
	assert_int_equal(rc_attest(b.chain, "device-1", now, &b.v, &res),
	    RC_OK);
	unbuild(&b);
	return res.reason;
}

/*
 * notBefore <= now < notAfter, as OpenSSL's path verification counts it
 * (RFC 5280 §4.1.2.5 would include notAfter; one rule for leaf and
 * issuers is worth more than that second).
 */
static void
test_validity_bounds(void **state)
{
	const ASN1_TIME *nb = X509_get0_notBefore(pki.x[L_DEV1]);
	const ASN1_TIME *na = X509_get0_notAfter(pki.x[L_DEV1]);
	struct tm tnb, tna;
	time_t b, a;

	(void)state;
	assert_int_equal(ASN1_TIME_to_tm(nb, &tnb), 1);
	assert_int_equal(ASN1_TIME_to_tm(na, &tna), 1);
	b = timegm(&tnb);
	a = timegm(&tna);
	assert_int_equal(decide_at(L_DEV1, b - 1), RC_ATTEST_NOT_YET_VALID);
	assert_int_equal(decide_at(L_DEV1, b), RC_ATTEST_OK);
	assert_int_equal(decide_at(L_DEV1, a - 1), RC_ATTEST_OK);
	assert_int_equal(decide_at(L_DEV1, a), RC_ATTEST_EXPIRED);
}

static void
test_arguments(void **state)
{
	const struct row r = {"args", {L_DEV1}, "device-1",
	    {{'I', "device-2", EN, {L_DEV1}, {NULL}}}, {}, RC_ATTEST_OK, NULL,
	    P, 0, {C_NONE}};
	struct rc_attest_result res;
	struct rc_attest_view empty;
	struct built b;

	(void)state;
	memset(&empty, 0, sizeof(empty));
	build(&r, &b);
	memset(&res, 0xa5, sizeof(res));
	/* An individual enrollment of another ID is the caller's mistake. */
	assert_int_equal(rc_attest(b.chain, "device-1", pki.now, &b.v, &res),
	    RC_EINVAL);
	assert_int_equal(res.reason, RC_ATTEST_OK);
	assert_null(res.enrollment);
	assert_string_equal(res.message, "");
	assert_int_equal(rc_attest(b.chain, NULL, pki.now, &empty, &res),
	    RC_EINVAL);
	assert_int_equal(rc_attest(b.chain, "device-1", pki.now, NULL, &res),
	    RC_EINVAL);
	assert_int_equal(rc_attest(b.chain, "device-1", pki.now, &empty, NULL),
	    RC_EINVAL);
	/* No chain at all is a refusal, not an error. */
	assert_int_equal(rc_attest(NULL, "device-1", pki.now, &empty, &res),
	    RC_OK);
	assert_int_equal(res.reason, RC_ATTEST_NO_CHAIN);
	assert_string_equal(res.leaf_sha256, "");
	unbuild(&b);
}

static void
test_names(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < RC_ATTEST_REASON_COUNT; i++) {
		assert_string_not_equal(rc_attest_reason_name(i), "unknown");
		for (j = 0; j < i; j++)
			assert_string_not_equal(rc_attest_reason_name(i),
			    rc_attest_reason_name(j));
	}
	assert_string_equal(rc_attest_reason_name(RC_ATTEST_OK), "ok");
	assert_string_equal(rc_attest_reason_name(RC_ATTEST_REASON_COUNT),
	    "unknown");
	assert_string_equal(rc_attest_reason_name(-1), "unknown");
}

static void
test_id_valid(void **state)
{
	(void)state;
	assert_true(rc_attest_id_valid("a"));
	assert_true(rc_attest_id_valid("Dev.ice-1_a:b"));
	assert_true(rc_attest_id_valid(ID128));
	assert_false(rc_attest_id_valid(ID128 "q"));
	assert_false(rc_attest_id_valid(""));
	assert_false(rc_attest_id_valid(NULL));
	assert_false(rc_attest_id_valid("a/b"));
	assert_false(rc_attest_id_valid("a+b"));
	assert_false(rc_attest_id_valid("caf\xc3\xa9"));
	assert_false(rc_attest_id_valid("a\nb"));
}

/* The warnings of expected failures go to /dev/null. */
static void
quiet(int on)
{
	static FILE *devnull;

	if (on) {
		devnull = fopen("/dev/null", "w");
		assert_non_null(devnull);
		rc_log_setfile(devnull);
		return;
	}
	rc_log_setfile(NULL);
	fclose(devnull);
}

/* A group certificate that cannot be read fails closed, with an error. */
static void
test_corrupt_group(void **state)
{
	const struct row r = {"corrupt", {L_DEV1, C_INTER}, "device-1",
	    {{'G', "grp-inter", EN, {C_INTER}, {NULL}},
	        {'G', "grp-bad", DIS, {C_ROOT2}, {NULL}}},
	    {}, RC_ATTEST_OK, NULL, P, 0, {C_NONE}};
	struct rc_attest_result res;
	struct built b;

	(void)state;
	quiet(1);
	build(&r, &b);
	assert_int_equal(rc_attest(b.chain, "device-1", pki.now, &b.v, &res),
	    RC_OK);
	assert_int_equal(res.reason, RC_ATTEST_OK);
	b.groups[1]->certs[0]->der_len /= 2;
	assert_int_equal(rc_attest(b.chain, "device-1", pki.now, &b.v, &res),
	    RC_EPARSE);
	assert_int_equal(res.reason, RC_ATTEST_OK);
	assert_null(res.enrollment);
	b.groups[1]->certs[0]->der_len = 0;
	assert_int_equal(rc_attest(b.chain, "device-1", pki.now, &b.v, &res),
	    RC_EPARSE);
	unbuild(&b);
	quiet(0);
}

struct alloc_arg {
	const struct row *r;
	struct built b;
};

static int
attest_once(void *arg)
{
	struct alloc_arg *a = arg;
	struct rc_attest_result res;
	int rc;

	rc = rc_attest(a->b.chain, a->r->id, pki.now + a->r->dt, &a->b.v, &res);
	if (rc == RC_OK && res.reason != a->r->reason)
		rc = RC_EINVAL;
	return rc;
}

/* A row per path through the engine (all rows would take minutes). */
static int
alloc_row(const char *name)
{
	static const char *const names[] = {"individual secondary",
	    "individual, no slot matches",
	    "presented CA in a disabled group's CA reference",
	    "group by root, leaf + intermediate",
	    "group via verified CA reference",
	    "same depth: the first enabled group",
	    "two intermediates, lower one missing", "wrong CN case",
	    "expired leaf", "blocked presented root",
	    "blocked group certificate, not presented"};
	size_t i;

	for (i = 0; i < NITEMS(names); i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static void
test_each_alloc(void **state)
{
	struct alloc_arg a;
	size_t i;

	(void)state;
	quiet(1);
	for (i = 0; i < NITEMS(rows); i++) {
		if (!alloc_row(rows[i].name))
			continue;
		a.r = &rows[i];
		build(a.r, &a.b);
		rctest_each_alloc(attest_once, &a, 0);
		unbuild(&a.b);
	}
	quiet(0);
}

/* rc_attest_gather against a store in a temporary directory. */
static const struct rc_store_ctx owner = {"test", NULL};

struct fx {
	struct rc_store *s;
};

static void
put_enrollment(struct rc_store *s, enum rc_enrollment_kind kind, const char *id,
    int enabled, enum cid cert, const char *ref)
{
	struct rc_enrollment *in, *out = NULL;

	in = rc_enrollment_new(kind);
	assert_non_null(in);
	in->id = rc_strdup(id);
	in->enabled = enabled;
	if (cert != C_NONE)
		in->certs[RC_SLOT_PRIMARY] = store_cert(pki.x[cert]);
	if (ref != NULL)
		in->ca_refs[RC_SLOT_SECONDARY] = rc_strdup(ref);
	assert_int_equal(rc_store_enrollment_put(s, &owner, in, &out, NULL),
	    RC_OK);
	rc_enrollment_free(out);
	rc_enrollment_free(in);
}

static int
store_setup(void **state)
{
	static int n;
	struct rc_ca_cert ca, *out = NULL;
	struct fx *f;
	char uri[512];

	f = rc_calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(uri, sizeof(uri), "sqlite:%s-%d.db",
	    rctest_path(rctest_tmpdir(), "attest"), ++n);
	assert_int_equal(rc_store_open(uri, &f->s), RC_OK);
	memset(&ca, 0, sizeof(ca));
	ca.name = "ca-root";
	ca.cert = store_cert(pki.x[C_ROOT]);
	ca.verified = 1;
	assert_int_equal(rc_store_ca_cert_put(f->s, &owner, &ca, &out), RC_OK);
	rc_ca_cert_free(out);
	rc_store_cert_free(ca.cert);
	put_enrollment(f->s, RC_ENROLLMENT_INDIVIDUAL, "device-1", 1, L_DEV1_B,
	    NULL);
	put_enrollment(f->s, RC_ENROLLMENT_INDIVIDUAL, "device-2", 0, L_DEV1,
	    NULL);
	put_enrollment(f->s, RC_ENROLLMENT_GROUP, "grp-inter", 1, C_INTER,
	    NULL);
	put_enrollment(f->s, RC_ENROLLMENT_GROUP, "grp-ref", 1, C_NONE,
	    "ca-root");
	*state = f;
	return 0;
}

static int
store_teardown(void **state)
{
	struct fx *f = *state;

	rc_store_close(f->s);
	rc_free(f);
	return 0;
}

static STACK_OF(X509) *
chain_of(enum cid a, enum cid b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	assert_non_null(sk);
	assert_true(sk_X509_push(sk, pki.x[a]) > 0);
	if (b != C_NONE)
		assert_true(sk_X509_push(sk, pki.x[b]) > 0);
	return sk;
}

static void
test_gather(void **state)
{
	struct fx *f = *state;
	struct rc_attest_result res;
	struct rc_attest_view v;
	STACK_OF(X509) *sk = chain_of(L_DEV1_B, C_INTER);

	assert_int_equal(rc_attest_gather(f->s, sk, "DEVICE-1", &v), RC_OK);
	assert_non_null(v.individual);
	assert_string_equal(v.individual->id, "device-1");
	assert_int_equal(v.ngroups, 2);
	assert_string_equal(v.groups[0]->id, "grp-inter");
	assert_string_equal(v.groups[1]->id, "grp-ref");
	assert_int_equal(v.ncas, 1);
	assert_int_equal(v.nholders, 2);
	assert_string_equal(v.holders[0]->id, "device-1");
	assert_string_equal(v.holders[1]->id, "grp-inter");
	/* The CN is "device-1": the ID must be spelled as the CN is. */
	assert_int_equal(rc_attest(sk, "DEVICE-1", pki.now, &v, &res), RC_OK);
	assert_int_equal(res.reason, RC_ATTEST_CN_MISMATCH);
	rc_attest_view_free(&v);
	assert_null(v.groups);
	rc_attest_view_free(&v);
	assert_int_equal(rc_attest_gather(f->s, sk, "device-1", &v), RC_OK);
	assert_int_equal(rc_attest(sk, "device-1", pki.now, &v, &res), RC_OK);
	assert_int_equal(res.reason, RC_ATTEST_OK);
	assert_ptr_equal(res.enrollment, v.individual);
	rc_attest_view_free(&v);
	sk_X509_free(sk);
}

static void
test_gather_decisions(void **state)
{
	struct fx *f = *state;
	struct rc_attest_result res;
	struct rc_attest_view v;
	STACK_OF(X509) *sk;

	/* S12: device-2's disabled enrollment holds this leaf. */
	sk = chain_of(L_DEV1, C_INTER);
	assert_int_equal(rc_attest_gather(f->s, sk, "device-1", &v), RC_OK);
	assert_int_equal(rc_attest(sk, "device-1", pki.now, &v, &res), RC_OK);
	assert_int_equal(res.reason, RC_ATTEST_DISABLED_CERT);
	assert_string_equal(res.enrollment->id, "device-2");
	rc_attest_view_free(&v);
	sk_X509_free(sk);
	/* No individual: the intermediate's group, leaf alone. */
	sk = chain_of(L_PUNCT, C_NONE);
	assert_int_equal(rc_attest_gather(f->s, sk, "dev.ice-1_a:b", &v),
	    RC_OK);
	assert_null(v.individual);
	assert_int_equal(v.nholders, 0);
	assert_int_equal(rc_attest(sk, "dev.ice-1_a:b", pki.now, &v, &res),
	    RC_OK);
	assert_int_equal(res.reason, RC_ATTEST_OK);
	assert_string_equal(res.enrollment->id, "grp-inter");
	rc_attest_view_free(&v);
	sk_X509_free(sk);
	/*
	 * Without its individual enrollment, a device-1 leaf directly under
	 * the root: the group's verified CA reference.
	 */
	assert_int_equal(rc_store_enrollment_delete(f->s, &owner,
	                     RC_ENROLLMENT_INDIVIDUAL, "device-1"),
	    RC_OK);
	sk = chain_of(L_DEV1_ROOT, C_NONE);
	assert_int_equal(rc_attest_gather(f->s, sk, "device-1", &v), RC_OK);
	assert_null(v.individual);
	assert_int_equal(rc_attest(sk, "device-1", pki.now, &v, &res), RC_OK);
	assert_int_equal(res.reason, RC_ATTEST_OK);
	assert_string_equal(res.enrollment->id, "grp-ref");
	assert_int_equal(res.slot, RC_SLOT_SECONDARY);
	assert_string_equal(res.ca_name, "ca-root");
	rc_attest_view_free(&v);
	sk_X509_free(sk);
}

static void
block(struct rc_store *s, enum cid c)
{
	char sha[65];

	assert_int_equal(rc_x509_thumbprint(pki.x[c], 1, sha, sizeof(sha)),
	    RC_OK);
	assert_int_equal(rc_store_blocklist_put(s, &owner, sha, "test", NULL),
	    RC_OK);
}

/* S9 through the store: presented certificates and group anchors. */
static void
test_gather_blocked(void **state)
{
	struct fx *f = *state;
	struct rc_attest_result res;
	struct rc_attest_view v;
	STACK_OF(X509) *sk = chain_of(L_DEV1_B, C_INTER);

	block(f->s, L_DEV1_B);
	assert_int_equal(rc_attest_gather(f->s, sk, "device-1", &v), RC_OK);
	assert_int_equal(v.nblocked, 1);
	assert_int_equal(rc_attest(sk, "device-1", pki.now, &v, &res), RC_OK);
	assert_int_equal(res.reason, RC_ATTEST_BLOCKED);
	assert_string_equal(res.message, "the certificate has been revoked");
	assert_null(res.enrollment);
	rc_attest_view_free(&v);
	sk_X509_free(sk);
	/* the group's own certificate, the leaf alone presented */
	sk = chain_of(L_PUNCT, C_NONE);
	block(f->s, C_INTER);
	assert_int_equal(rc_attest_gather(f->s, sk, "dev.ice-1_a:b", &v),
	    RC_OK);
	assert_int_equal(v.nblocked, 1);
	assert_int_equal(rc_attest(sk, "dev.ice-1_a:b", pki.now, &v, &res),
	    RC_OK);
	assert_int_equal(res.reason, RC_ATTEST_BLOCKED);
	assert_string_equal(res.enrollment->id, "grp-inter");
	rc_attest_view_free(&v);
	sk_X509_free(sk);
	/* a verified CA certificate: found once through the CA list */
	block(f->s, C_ROOT);
	sk = chain_of(L_DEV1_ROOT, C_NONE);
	assert_int_equal(rc_attest_gather(f->s, sk, "device-9", &v), RC_OK);
	assert_int_equal(v.nblocked, 2);
	rc_attest_view_free(&v);
	sk_X509_free(sk);
}

static void
test_gather_edges(void **state)
{
	struct fx *f = *state;
	struct rc_attest_view v;
	STACK_OF(X509) *sk = sk_X509_new_null();
	int i;

	assert_int_equal(rc_attest_gather(f->s, NULL, "a/b", &v), RC_OK);
	assert_null(v.individual);
	assert_int_equal(v.nholders, 0);
	assert_int_equal(v.ngroups, 2);
	rc_attest_view_free(&v);
	assert_int_equal(rc_attest_gather(f->s, sk, NULL, &v), RC_OK);
	assert_null(v.individual);
	rc_attest_view_free(&v);
	/* Only RC_ATTEST_MAX_CHAIN certificates are looked up. */
	for (i = 0; i < RC_ATTEST_MAX_CHAIN + 5; i++)
		assert_true(sk_X509_push(sk, pki.x[L_DEV1_B]) > 0);
	assert_int_equal(rc_attest_gather(f->s, sk, "device-1", &v), RC_OK);
	assert_int_equal(v.nholders, RC_ATTEST_MAX_CHAIN);
	rc_attest_view_free(&v);
	memset(&v, 0xa5, sizeof(v));
	assert_int_equal(rc_attest_gather(NULL, sk, "device-1", &v), RC_EINVAL);
	assert_null(v.groups);
	assert_int_equal(rc_attest_gather(f->s, sk, "device-1", NULL),
	    RC_EINVAL);
	rc_attest_view_free(NULL);
	sk_X509_free(sk);
}

/* More groups than one page of the store's list. */
static void
test_gather_pages(void **state)
{
	struct fx *f = *state;
	struct rc_attest_view v;
	char id[32];
	int i;

	for (i = 0; i < 205; i++) {
		snprintf(id, sizeof(id), "grp-many-%03d", i);
		put_enrollment(f->s, RC_ENROLLMENT_GROUP, id, 1, C_NONE, NULL);
	}
	assert_int_equal(rc_attest_gather(f->s, NULL, "device-1", &v), RC_OK);
	assert_int_equal(v.ngroups, 207);
	assert_string_equal(v.groups[0]->id, "grp-inter");
	assert_string_equal(v.groups[1]->id, "grp-many-000");
	assert_string_equal(v.groups[206]->id, "grp-ref");
	rc_attest_view_free(&v);
}

struct gather_arg {
	struct rc_store *s;
	STACK_OF(X509) *sk;
};

static int
gather_once(void *arg)
{
	struct gather_arg *a = arg;
	struct rc_attest_result res;
	struct rc_attest_view v;
	int rc;

	if ((rc = rc_attest_gather(a->s, a->sk, "device-1", &v)) != RC_OK)
		return rc;
	rc = rc_attest(a->sk, "device-1", pki.now, &v, &res);
	if (rc == RC_OK && res.reason != RC_ATTEST_OK)
		rc = RC_EINVAL;
	rc_attest_view_free(&v);
	return rc;
}

static void
test_gather_each_alloc(void **state)
{
	struct fx *f = *state;
	struct gather_arg a = {f->s, chain_of(L_DEV1_B, C_INTER)};

	/* found, not presented, not deciding: the individual does */
	block(f->s, C_ROOT);
	quiet(1);
	rctest_each_alloc(gather_once, &a, 0);
	quiet(0);
	sk_X509_free(a.sk);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, store_setup, store_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_validity_bounds),
	    cmocka_unit_test(test_arguments),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_id_valid),
	    cmocka_unit_test(test_corrupt_group),
	    cmocka_unit_test(test_each_alloc),
	    T(test_gather),
	    T(test_gather_decisions),
	    T(test_gather_blocked),
	    T(test_gather_edges),
	    T(test_gather_pages),
	    T(test_gather_each_alloc),
	};

	if (!rc_mem_hook_openssl())
		return 1;
	rc_json_init();
	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
