/*
 * The PKCS#11 keystore: the agent's keys live in a token and never leave
 * it.  keystore is a pkcs11: URI (RFC 7512) naming the token and its PIN:
 *
 *	pkcs11:token=LABEL[;...]?pin-value=PIN[&module-path=PATH]
 *
 * Parsed here (agent_p11_uri_parse): "pkcs11:", path attributes split on
 * ';' up to an optional '?', query attributes split on '&'; each is
 * name=value with value percent-decoded (RFC 3986 §2.1: '%' and two hex
 * digits; a decoded NUL is refused).  Known path attributes: token,
 * object, id (bytes), type (private, public, cert), and the ones that
 * describe a token or library (manufacturer, model, serial, slot-*,
 * library-*), accepted and ignored; query attributes: pin-value,
 * module-path (pin-value is also accepted in the path, as libp11 does).
 * An attribute given twice, without '=', unknown (other than x-vendor
 * ones), or a value over its bound (token 32 bytes, object and PIN
 * AGENT_P11_TEXT_MAX, id AGENT_P11_ID_MAX, module-path AGENT_PATH_MAX)
 * is RC_EPARSE.
 *
 * Keys: a slot's key is an EC key pair generated inside the token with
 * C_GenerateKeyPair through the module itself (dlopen; the module is
 * module-path or pkcs11-module): the private key CKA_SENSITIVE true,
 * CKA_EXTRACTABLE false, so the token marks it always sensitive and never
 * extractable.  Both halves carry the slot's label
 * "rollcall:<registration ID>:<slot>" and a fresh random CKA_ID; the slot
 * directory keeps key.uri (token, object, id, PIN) next to chain.pem.  A
 * fresh ID per key means that a new key never shares an ID with one an
 * engine has seen; before generating, the slot's older objects are
 * destroyed, except the one the other slot's key.uri names (keep-key
 * makes both slots name one key).  The bootstrap key is a URI of a key
 * already in the token (made at the factory), written as slot a's
 * key.uri.
 *
 * Signatures (CSR, TLS for DPS over MQTT or HTTPS and for the hub) go
 * through OpenSSL's "pkcs11" engine (libp11): libmosquitto and libcurl
 * reach a token key only through an engine.  The engine is loaded once,
 * pointed at the module, and added to OpenSSL's engine list, so that
 * ENGINE_by_id("pkcs11") in libmosquitto and libcurl finds this one.
 * Both the engine and this file use the module in one process: neither
 * C_Finalize nor C_Logout is ever called here, since they would end the
 * engine's sessions too.
 */

/*
 * OpenSSL 3 deprecates the ENGINE API, and the project builds with
 * OPENSSL_NO_DEPRECATED; libmosquitto (MOSQ_OPT_TLS_ENGINE) and libcurl
 * (CURLOPT_SSLENGINE) take token keys only from an engine, so this file,
 * and only this one, lifts it.
 */
#undef OPENSSL_NO_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED

#include <dlfcn.h>
#include <string.h>

#include <openssl/engine.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "agent_int.h"
#include "rollcall/buf.h"
#include "rollcall/file.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define KEY_URI_MAX AGENT_KEY_REF_MAX
#define OBJS_MAX 32 /* objects of one label looked at */

/* URI parsing. */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes p[0..n) into out (size bytes); *len is the decoded
 * length.  Text (text set) gets a NUL and may not hold one.
 */
static int
pct_decode(const char *p, size_t n, unsigned char *out, size_t size,
    size_t *len, int text)
{
	size_t i, o = 0;
	int hi, lo;

	*len = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '%') {
			if (i + 2 >= n)
				return RC_EPARSE;
			if ((hi = hexval(p[i + 1])) < 0 ||
			    (lo = hexval(p[i + 2])) < 0)
				return RC_EPARSE;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if ((text && c == '\0') || o + (text ? 1 : 0) >= size)
			return RC_EPARSE;
		out[o++] = c;
	}
	if (text)
		out[o] = '\0';
	*len = o;
	return RC_OK;
}

static int
is_ignored(const char *name, size_t n)
{
	static const char *const names[] = {"manufacturer", "model", "serial",
	    "slot-description", "slot-manufacturer", "slot-id",
	    "library-manufacturer", "library-description", "library-version",
	    NULL};
	size_t i;

	if (n > 2 && strncmp(name, "x-", 2) == 0)
		return 1;
	for (i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == n && strncmp(name, names[i], n) == 0)
			return 1;
	return 0;
}

/* One attribute "name=value" of n bytes; seen tracks repeats. */
static int
uri_attr(const char *a, size_t n, struct agent_p11_uri *u, unsigned *seen)
{
	static const char *const names[] = {"token", "object", "id", "type",
	    "pin-value", "module-path", NULL};
	const char *eq = memchr(a, '=', n);
	size_t nl, vl, len, k;
	unsigned char *dst;
	size_t sizes[] = {sizeof(u->token), sizeof(u->object), sizeof(u->id),
	    sizeof(u->type), sizeof(u->pin), sizeof(u->module)};

	if (eq == NULL || eq == a)
		return RC_EPARSE;
	nl = (size_t)(eq - a);
	vl = n - nl - 1;
	for (k = 0; names[k] != NULL; k++)
		if (strlen(names[k]) == nl && strncmp(a, names[k], nl) == 0)
			break;
	if (names[k] == NULL)
		return is_ignored(a, nl) ? RC_OK : RC_EPARSE;
	if (*seen & (1u << k))
		return RC_EPARSE;
	*seen |= 1u << k;
	dst = k == 0 ? (unsigned char *)u->token
	    : k == 1 ? (unsigned char *)u->object
	    : k == 2 ? u->id
	    : k == 3 ? (unsigned char *)u->type
	    : k == 4 ? (unsigned char *)u->pin
	             : (unsigned char *)u->module;
	if (pct_decode(eq + 1, vl, dst, sizes[k], &len, k != 2) != RC_OK)
		return RC_EPARSE;
	if (k == 2)
		u->idlen = len;
	if (k == 4)
		u->has_pin = 1;
	if (k == 3 && strcmp(u->type, "private") != 0 &&
	    strcmp(u->type, "public") != 0 && strcmp(u->type, "cert") != 0)
		return RC_EPARSE;
	return RC_OK;
}

int
agent_p11_uri_parse(const char *uri, struct agent_p11_uri *out)
{
	struct agent_p11_uri u;
	const char *p, *end;
	unsigned seen = 0;
	int query = 0, rc = RC_OK;
	size_t n;

	memset(out, 0, sizeof(*out));
	memset(&u, 0, sizeof(u));
	if (uri == NULL || strncmp(uri, "pkcs11:", 7) != 0 ||
	    strlen(uri) >= KEY_URI_MAX)
		return RC_EPARSE;
	for (p = uri + 7; *p != '\0' && rc == RC_OK; p = end) {
		n = strcspn(p, query ? "&" : ";?");
		end = p + n;
		rc = uri_attr(p, n, &u, &seen);
		if (*end == '?' && !query)
			query = 1;
		else if (*end == '?')
			rc = RC_EPARSE;
		if (*end != '\0' && *++end == '\0')
			rc = RC_EPARSE; /* a trailing separator */
	}
	if (rc == RC_OK)
		*out = u;
	explicit_bzero(&u, sizeof(u));
	return rc;
}

int
agent_p11_slot_label(const char *regid, char slot, char *out, size_t size)
{
	size_t i, n;

	if (size > 0)
		out[0] = '\0';
	if (regid == NULL || (slot != 'a' && slot != 'b'))
		return RC_EINVAL;
	if ((n = strlen(regid)) == 0 || n > 128)
		return RC_EINVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)regid[i] <= 0x20 ||
		    (unsigned char)regid[i] >= 0x7f)
			return RC_EINVAL;
	if ((size_t)snprintf(out, size, "rollcall:%s:%c", regid, slot) >=
	    size) {
		if (size > 0)
			out[0] = '\0';
		return RC_ETOOBIG;
	}
	return RC_OK;
}

/* Appends name=value to w, percent-encoding all but RFC 3986 unreserved. */
static int
put_attr(struct rc_wbuf *w, const char *sep, const char *name,
    const unsigned char *v, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3] = {'%', 0, 0};
	size_t i;
	int rc;

	if ((rc = rc_wbuf_puts(w, sep)) != RC_OK ||
	    (rc = rc_wbuf_puts(w, name)) != RC_OK ||
	    (rc = rc_wbuf_puts(w, "=")) != RC_OK)
		return rc;
	for (i = 0; i < n && rc == RC_OK; i++) {
		if ((v[i] >= 'a' && v[i] <= 'z') ||
		    (v[i] >= 'A' && v[i] <= 'Z') ||
		    (v[i] >= '0' && v[i] <= '9') ||
		    (v[i] != '\0' && strchr("-._~", v[i]) != NULL))
			rc = rc_wbuf_append(w, &v[i], 1);
		else {
			e[1] = hex[v[i] >> 4];
			e[2] = hex[v[i] & 15];
			rc = rc_wbuf_append(w, e, 3);
		}
	}
	return rc;
}

int
agent_p11_key_uri(const struct agent_p11_uri *u, char *out, size_t size)
{
	struct rc_wbuf w;
	int rc;

	if (size > 0)
		out[0] = '\0';
	if (u->token[0] == '\0' || (u->object[0] == '\0' && u->idlen == 0))
		return RC_EINVAL;
	rc_wbuf_init(&w, size);
	rc = rc_wbuf_puts(&w, "pkcs11:");
	if (rc == RC_OK)
		rc = put_attr(&w, "", "token", (const unsigned char *)u->token,
		    strlen(u->token));
	if (rc == RC_OK && u->object[0] != '\0')
		rc = put_attr(&w, ";", "object",
		    (const unsigned char *)u->object, strlen(u->object));
	if (rc == RC_OK && u->idlen > 0)
		rc = put_attr(&w, ";", "id", u->id, u->idlen);
	if (rc == RC_OK)
		rc = rc_wbuf_puts(&w, ";type=private");
	if (rc == RC_OK && u->has_pin)
		rc = put_attr(&w, "?", "pin-value",
		    (const unsigned char *)u->pin, strlen(u->pin));
	if (rc == RC_OK && w.len >= size)
		rc = RC_ETOOBIG;
	if (rc == RC_OK) {
		memcpy(out, w.data, w.len);
		out[w.len] = '\0';
	}
	rc_wbuf_free_secret(&w); /* it may hold the PIN */
	return rc;
}

/* The module, through its function list. */

struct p11 {
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE s;
};

static const char *
module_of(const struct rc_agent_conf *c, const struct agent_p11_uri *u)
{
	return u->module[0] != '\0' ? u->module : c->pkcs11_module;
}

/*
 * The module's function list, initialised.  The module stays loaded: the
 * engine may hold sessions of it (dlopen of the same path shares it).
 */
static int
p11_module(const char *path, CK_FUNCTION_LIST_PTR *f)
{
	CK_C_INITIALIZE_ARGS args;
	CK_C_GetFunctionList get;
	CK_RV rv;
	void *dl;

	*f = NULL;
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		rc_log_warnx("keystore: %s: %s", path, dlerror());
		return RC_ENOENT;
	}
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(f) != CKR_OK || *f == NULL) {
		rc_log_warnx("keystore: %s is not a PKCS#11 module", path);
		return RC_EUNSUPPORTED;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = (*f)->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		rc_log_warnx("keystore: C_Initialize: 0x%lx",
		    (unsigned long)rv);
		*f = NULL;
		return RC_EIO;
	}
	return RC_OK;
}

/* The slot whose token label is label (blank-padded in CK_TOKEN_INFO). */
static int
p11_find_slot(CK_FUNCTION_LIST_PTR f, const char *label, CK_SLOT_ID *out)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i, len;
	CK_TOKEN_INFO ti;

	if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return RC_EIO;
	len = strlen(label);
	for (i = 0; i < n; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (memcmp(ti.label, label, len) == 0 &&
		    (len == sizeof(ti.label) ||
		        strspn((const char *)ti.label + len, " ") >=
		            sizeof(ti.label) - len)) {
			*out = slots[i];
			return RC_OK;
		}
	}
	rc_log_warnx("keystore: no token labelled '%s'", label);
	return RC_ENOENT;
}

/* A read-write session, logged in as the user when the URI has a PIN. */
static int
p11_open(const char *module, const struct agent_p11_uri *u, struct p11 *p)
{
	CK_SLOT_ID slot;
	CK_RV rv;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = p11_module(module, &p->f)) != RC_OK ||
	    (rc = p11_find_slot(p->f, u->token, &slot)) != RC_OK)
		return rc;
	if ((rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	         NULL, NULL, &p->s)) != CKR_OK) {
		rc_log_warnx("keystore: C_OpenSession: 0x%lx",
		    (unsigned long)rv);
		return RC_EIO;
	}
	if (!u->has_pin)
		return RC_OK;
	rv = p->f->C_Login(p->s, CKU_USER, (CK_UTF8CHAR_PTR)u->pin,
	    strlen(u->pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		rc_log_warnx("keystore: token '%s': login refused (0x%lx)",
		    u->token, (unsigned long)rv);
		(void)p->f->C_CloseSession(p->s);
		return RC_EAUTH;
	}
	return RC_OK;
}

static void
p11_close(struct p11 *p)
{
	if (p->f != NULL)
		(void)p->f->C_CloseSession(p->s);
	memset(p, 0, sizeof(*p));
}

/*
 * Destroys the objects labelled label, except those with ID keep (keep
 * NULL: none kept).
 */
static int
p11_sweep(struct p11 *p, const char *label, const unsigned char *keep,
    size_t keeplen)
{
	CK_ATTRIBUTE q = {CKA_LABEL, (void *)label, strlen(label)};
	CK_OBJECT_HANDLE h[OBJS_MAX];
	CK_ULONG n = 0, i;
	unsigned char id[AGENT_P11_ID_MAX];
	CK_ATTRIBUTE a = {CKA_ID, id, sizeof(id)};

	if (p->f->C_FindObjectsInit(p->s, &q, 1) != CKR_OK)
		return RC_EIO;
	if (p->f->C_FindObjects(p->s, h, OBJS_MAX, &n) != CKR_OK)
		n = 0;
	(void)p->f->C_FindObjectsFinal(p->s);
	for (i = 0; i < n; i++) {
		a.ulValueLen = sizeof(id);
		if (keep != NULL &&
		    p->f->C_GetAttributeValue(p->s, h[i], &a, 1) == CKR_OK &&
		    a.ulValueLen == keeplen && memcmp(id, keep, keeplen) == 0)
			continue;
		if (p->f->C_DestroyObject(p->s, h[i]) != CKR_OK)
			return RC_EIO;
	}
	return RC_OK;
}

/* An EC key pair, private half sensitive and not extractable. */
static int
p11_keygen(struct p11 *p, const char *type, const char *label,
    const unsigned char *id, size_t idlen)
{
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	    0x03, 0x01, 0x07};
	static const CK_BYTE p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
	    0x22};
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG ll = strlen(label);
	int is384 = strcmp(type, "p384") == 0;
	CK_ATTRIBUTE pub[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &no, sizeof(no)},
	    {CKA_VERIFY, &yes, sizeof(yes)},
	    {CKA_EC_PARAMS, (void *)(is384 ? p384 : p256),
	        is384 ? sizeof(p384) : sizeof(p256)},
	    {CKA_LABEL, (void *)label, ll},
	    {CKA_ID, (void *)id, idlen},
	};
	CK_ATTRIBUTE prv[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &no, sizeof(no)},
	    {CKA_SIGN, &yes, sizeof(yes)},
	    {CKA_DERIVE, &no, sizeof(no)},
	    {CKA_LABEL, (void *)label, ll},
	    {CKA_ID, (void *)id, idlen},
	};
	CK_OBJECT_HANDLE hpub, hprv;
	CK_RV rv;

	rv = p->f->C_GenerateKeyPair(p->s, &m, pub, sizeof(pub) / sizeof(*pub),
	    prv, sizeof(prv) / sizeof(*prv), &hpub, &hprv);
	if (rv != CKR_OK) {
		rc_log_warnx("keystore: C_GenerateKeyPair: 0x%lx",
		    (unsigned long)rv);
		return RC_ECRYPTO;
	}
	return RC_OK;
}

/* The engine. */

static ENGINE *engine;

/* libp11's engine on module, in OpenSSL's engine list (see the top). */
static int
engine_get(const char *module)
{
	ENGINE *e;

	if (engine != NULL)
		return RC_OK;
	if (module == NULL)
		return RC_EINVAL;
	ENGINE_load_builtin_engines();
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		rc_log_warnx("keystore: no OpenSSL pkcs11 engine "
		             "(libengine-pkcs11-openssl)");
		return RC_EUNSUPPORTED;
	}
	if (!ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0) ||
	    !ENGINE_init(e)) {
		rc_log_warnx("keystore: the pkcs11 engine refused %s", module);
		ENGINE_free(e);
		return RC_EUNSUPPORTED;
	}
	(void)ENGINE_add(e); /* fails only if it is listed already */
	ENGINE_free(e); /* the functional reference stays */
	engine = e;
	return RC_OK;
}

/* The token key uri names, with its public half. */
static int
engine_key(const char *module, const char *uri, EVP_PKEY **key)
{
	int rc;

	*key = NULL;
	if ((rc = engine_get(module)) != RC_OK)
		return rc;
	if ((*key = ENGINE_load_private_key(engine, uri, NULL, NULL)) == NULL) {
		rc_log_ssl("keystore: no such key in the token");
		return RC_ENOENT;
	}
	return RC_OK;
}

int
agent_p11_tls_key(const char *uri, EVP_PKEY **key)
{
	return engine_key(NULL, uri, key);
}

/* key.uri of a slot. */

static int
uri_path(const struct rc_agent_conf *c, char slot, char *out, size_t size)
{
	char dir[AGENT_PATH_MAX];
	int rc, n;

	if ((rc = agent_slot_dir(c->state_dir, slot, dir, sizeof(dir))) !=
	    RC_OK)
		return rc;
	n = snprintf(out, size, "%s/key.uri", dir);
	return n < 0 || (size_t)n >= size ? RC_ETOOBIG : RC_OK;
}

/* Reads slot's key.uri into out (KEY_URI_MAX) and parses it into u. */
static int
read_key_uri(const struct rc_agent_conf *c, char slot, char *out,
    struct agent_p11_uri *u)
{
	char path[AGENT_PATH_MAX + 16];
	uint8_t *data = NULL;
	size_t len;
	int rc;

	out[0] = '\0';
	if ((rc = uri_path(c, slot, path, sizeof(path))) != RC_OK ||
	    (rc = rc_file_read(path, KEY_URI_MAX - 1, &data, &len)) != RC_OK)
		return rc;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	memcpy(out, data, len);
	out[len] = '\0';
	rc_free(data);
	if (strlen(out) != len || (rc = agent_p11_uri_parse(out, u)) != RC_OK) {
		rc_log_warnx("keystore: slot %c: key.uri is not a pkcs11: URI",
		    slot);
		rc = RC_EPARSE;
	}
	return rc;
}

static int
write_key_uri(const struct rc_agent_conf *c, char slot, const char *uri)
{
	char path[AGENT_PATH_MAX + 16];
	int rc;

	if ((rc = uri_path(c, slot, path, sizeof(path))) != RC_OK)
		return rc;
	return agent_write_file(path, uri, strlen(uri));
}

/* The keystore URI: a token (and PIN, module). */
static int
keystore_uri(const struct rc_agent_conf *c, struct agent_p11_uri *u)
{
	if (agent_p11_uri_parse(c->keystore, u) != RC_OK ||
	    u->token[0] == '\0') {
		rc_log_warnx("keystore: not a pkcs11: URI with a token");
		return RC_EINVAL;
	}
	return RC_OK;
}

/* Generates slot's key pair in the token; u gets its label and ID. */
static int
generate(const struct rc_agent_conf *c, char slot, struct agent_p11_uri *u)
{
	struct agent_p11_uri other;
	struct p11 p;
	char buf[KEY_URI_MAX];
	const unsigned char *keep = NULL;
	int rc;

	memset(&other, 0, sizeof(other));
	if ((rc = agent_p11_slot_label(c->registration_id, slot, u->object,
	         sizeof(u->object))) != RC_OK)
		return rc;
	u->idlen = 16;
	if (RAND_bytes(u->id, (int)u->idlen) != 1)
		return RC_ECRYPTO;
	/* keep-key may have made the other slot name this slot's key */
	if (read_key_uri(c, slot == 'a' ? 'b' : 'a', buf, &other) == RC_OK &&
	    other.idlen > 0)
		keep = other.id;
	explicit_bzero(buf, sizeof(buf));
	if ((rc = p11_open(module_of(c, u), u, &p)) != RC_OK)
		goto out;
	if ((rc = p11_sweep(&p, u->object, keep, other.idlen)) == RC_OK)
		rc = p11_keygen(&p, c->key_type, u->object, u->id, u->idlen);
	p11_close(&p);
out:
	explicit_bzero(&other, sizeof(other));
	return rc;
}

int
agent_p11_key_new(const struct rc_agent_conf *c, char slot, EVP_PKEY **key)
{
	struct agent_p11_uri u;
	char uri[KEY_URI_MAX];
	int rc;

	*key = NULL;
	if ((rc = keystore_uri(c, &u)) != RC_OK ||
	    (rc = generate(c, slot, &u)) != RC_OK ||
	    (rc = agent_p11_key_uri(&u, uri, sizeof(uri))) != RC_OK ||
	    (rc = write_key_uri(c, slot, uri)) != RC_OK)
		goto out;
	rc_log_info("keystore: new %s key %s in token %s (not extractable)",
	    c->key_type, u.object, u.token);
	rc = engine_key(module_of(c, &u), uri, key);
out:
	explicit_bzero(&u, sizeof(u));
	explicit_bzero(uri, sizeof(uri));
	return rc;
}

int
agent_p11_key_copy(const struct rc_agent_conf *c, char from, char to)
{
	struct agent_p11_uri u;
	char uri[KEY_URI_MAX];
	int rc;

	if ((rc = read_key_uri(c, from, uri, &u)) == RC_OK)
		rc = write_key_uri(c, to, uri);
	explicit_bzero(&u, sizeof(u));
	explicit_bzero(uri, sizeof(uri));
	return rc;
}

/*
 * The bootstrap key: a key already in the token, named by its URI; the
 * token and PIN default to the keystore's.
 */
int
agent_p11_key_import(const struct rc_agent_conf *c, char slot, const char *from)
{
	struct agent_p11_uri ks, u;
	char uri[KEY_URI_MAX];
	int rc;

	if ((rc = keystore_uri(c, &ks)) != RC_OK)
		goto out;
	if (agent_p11_uri_parse(from, &u) != RC_OK ||
	    (u.object[0] == '\0' && u.idlen == 0)) {
		rc_log_warnx("bootstrap-key: not a pkcs11: URI naming a key");
		rc = RC_EINVAL;
		goto out;
	}
	if (u.token[0] == '\0')
		memcpy(u.token, ks.token, sizeof(u.token));
	if (!u.has_pin) {
		memcpy(u.pin, ks.pin, sizeof(u.pin));
		u.has_pin = ks.has_pin;
	}
	if ((rc = agent_p11_key_uri(&u, uri, sizeof(uri))) == RC_OK)
		rc = write_key_uri(c, slot, uri);
out:
	explicit_bzero(&ks, sizeof(ks));
	explicit_bzero(&u, sizeof(u));
	explicit_bzero(uri, sizeof(uri));
	return rc;
}

int
agent_p11_key_load(const struct rc_agent_conf *c, char slot, EVP_PKEY **key,
    struct agent_ident *id)
{
	struct agent_p11_uri ks, u;
	int rc;

	*key = NULL;
	if ((rc = keystore_uri(c, &ks)) != RC_OK ||
	    (rc = read_key_uri(c, slot, id->key, &u)) != RC_OK ||
	    (rc = engine_key(module_of(c, &ks), id->key, key)) != RC_OK)
		goto out;
	id->engine = 1;
out:
	explicit_bzero(&ks, sizeof(ks));
	explicit_bzero(&u, sizeof(u));
	return rc;
}
