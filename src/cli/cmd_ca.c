/*
 * rollcall ca: an offline certificate authority kept in a directory
 * (DIR/ca.pem, DIR/ca.key, DIR/chain.pem for intermediates; see ca.h).
 *
 *   init               a self-signed root
 *   intermediate       an intermediate under --ca
 *   issue              a device key and certificate (PREFIX.*)
 *   sign               a certificate for a device's CSR
 *   server-cert        a TLS server key and certificate
 *   crl                a CRL revoking serials
 *   verification-cert  proof of possession for a verification code
 *
 * Nothing is written over an existing file without --force, and a command
 * that writes several files checks all of them before writing any.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "cli.h"
#include "rollcall/ca.h"
#include "rollcall/csr.h"
#include "rollcall/enc.h"
#include "rollcall/key.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define PATH_SIZE 4096
#define MAX_LIST 1024 /* --san / --revoke occurrences */
#define HELP_SHOWN -1 /* parse_opts: --help was printed */

struct opts {
	const char *ca, *out, *cn, *csr, *code;
	enum rc_key_type type;
	int days, force, chain;
	const char *list[MAX_LIST]; /* --san or --revoke values */
	size_t nlist;
};

/* A subcommand's option set: letters of longopts below. */
struct spec {
	const char *synopsis;
	const char *help;
	const char *allowed;
	const char *required;
	int days;
};

static const struct option longopts[] = {
    {"ca", required_argument, NULL, 'a'},
    {"out", required_argument, NULL, 'o'},
    {"cn", required_argument, NULL, 'n'},
    {"type", required_argument, NULL, 't'},
    {"days", required_argument, NULL, 'd'},
    {"force", no_argument, NULL, 'f'},
    {"csr", required_argument, NULL, 'r'},
    {"san", required_argument, NULL, 's'},
    {"revoke", required_argument, NULL, 'v'},
    {"code", required_argument, NULL, 'c'},
    {"chain", no_argument, NULL, 'C'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *
optname(int c)
{
	const struct option *o;

	for (o = longopts; o->name != NULL; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static int
set_opt(const struct spec *s, struct opts *o, int c, const char *arg)
{
	switch (c) {
	case 'a':
		o->ca = arg;
		break;
	case 'o':
		o->out = arg;
		break;
	case 'n':
		o->cn = arg;
		break;
	case 'r':
		o->csr = arg;
		break;
	case 'c':
		o->code = arg;
		break;
	case 'f':
		o->force = 1;
		break;
	case 'C':
		o->chain = 1;
		break;
	case 't':
		if (rc_key_type_parse(arg, &o->type) != RC_OK)
			return cli_usage(s->synopsis,
			    "--type: '%s' is not p256, p384, rsa2048 or "
			    "rsa3072",
			    arg);
		break;
	case 'd':
		return cli_parse_days(s->synopsis, arg, &o->days);
	case 's':
	case 'v':
		if (o->nlist == MAX_LIST)
			return cli_usage(s->synopsis, "more than %d --%s",
			    MAX_LIST, optname(c));
		o->list[o->nlist++] = arg;
		break;
	default:
		return cli_usage(s->synopsis, NULL);
	}
	return CLI_OK;
}

static int
parse_opts(const struct spec *s, int argc, char **argv, struct opts *o)
{
	const char *r;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->type = RC_KEY_P256;
	o->days = s->days;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: %s\n\n%s", s->synopsis, s->help);
			return HELP_SHOWN;
		}
		if (c != '?' && strchr(s->allowed, c) == NULL)
			return cli_usage(s->synopsis,
			    "--%s does not apply to this command", optname(c));
		if ((rc = set_opt(s, o, c, optarg)) != CLI_OK)
			return rc;
	}
	if (optind != argc)
		return cli_usage(s->synopsis, "unexpected argument '%s'",
		    argv[optind]);
	for (r = s->required; *r != '\0'; r++)
		if ((*r == 'a' && o->ca == NULL) ||
		    (*r == 'o' && o->out == NULL) ||
		    (*r == 'n' && o->cn == NULL) ||
		    (*r == 'r' && o->csr == NULL) ||
		    (*r == 'c' && o->code == NULL) ||
		    (*r == 's' && o->nlist == 0))
			return cli_usage(s->synopsis, "--%s is required",
			    optname(*r));
	if (o->cn != NULL && rc_csr_check_cn(o->cn) != RC_OK)
		return cli_usage(s->synopsis,
		    "--cn: must be 1 to %d characters of UTF-8", RC_CN_MAX);
	return CLI_OK;
}

/* Failure of a library call: the reason, and OpenSSL's if it has one. */
static int fail(int rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(int rc, const char *fmt, ...)
{
	char what[PATH_SIZE + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc == RC_EEXIST)
		return cli_fail("%s: a file exists already (--force replaces "
		                "it)",
		    what);
	if (rc == RC_ECRYPTO && ERR_peek_error() != 0)
		rc_log_ssl("%s", what);
	return cli_fail("%s: %s", what, rc_strerror(rc));
}

static int
load_ca(const char *dir, struct rc_ca **ca)
{
	int rc;

	if ((rc = rc_ca_load(dir, ca)) != RC_OK)
		return fail(rc, "cannot load the CA in '%s'", dir);
	return CLI_OK;
}

static int
join(char *buf, const char *a, const char *b)
{
	if ((size_t)snprintf(buf, PATH_SIZE, "%s%s", a, b) >= PATH_SIZE)
		return cli_fail("path too long: %s%s", a, b);
	return CLI_OK;
}

/* Without --force, any of the paths existing stops the command. */
static int
refuse_existing(char paths[][PATH_SIZE], size_t n, int force)
{
	struct stat st;
	size_t i;

	for (i = 0; !force && i < n; i++)
		if (lstat(paths[i], &st) == 0)
			return cli_fail("%s exists (--force replaces it)",
			    paths[i]);
	return CLI_OK;
}

static void
print_name(const char *label, const X509_NAME *name)
{
	BIO *bio;

	printf("  %-9s ", label);
	fflush(stdout);
	if ((bio = BIO_new_fp(stdout, BIO_NOCLOSE)) != NULL) {
		/* RFC 4514 escaping, but UTF-8 shown as it is */
		X509_NAME_print_ex(bio, name, 0,
		    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
		BIO_free(bio);
	}
	printf("\n");
}

static void
print_time(const char *label, const ASN1_TIME *t)
{
	char buf[32];
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) &&
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		printf("  %-9s %s\n", label, buf);
}

static void
print_serial(const char *label, const ASN1_INTEGER *sn)
{
	char hex[2 * 64 + 1];

	if (rc_hex_upper(ASN1_STRING_get0_data(sn),
	        (size_t)ASN1_STRING_length(sn), hex, sizeof(hex)) == RC_OK)
		printf("  %-9s %s\n", label, hex);
}

/* What an operator needs to find the certificate again. */
static void
print_cert(const char *path, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int mdlen;

	printf("wrote %s\n", path);
	print_name("subject", X509_get_subject_name(x));
	print_name("issuer", X509_get_issuer_name(x));
	print_serial("serial", X509_get0_serialNumber(x));
	if (X509_digest(x, EVP_sha256(), md, &mdlen) &&
	    rc_hex_upper(md, mdlen, hex, sizeof(hex)) == RC_OK)
		printf("  %-9s %s\n", "sha256", hex);
	print_time("not after", X509_get0_notAfter(x));
}

static void
print_key(const char *path, enum rc_key_type t)
{
	printf("wrote %s (%s private key, mode 0600)\n", path,
	    rc_key_type_name(t));
}

static int
save_ca(const struct rc_ca *ca, const char *dir, int force, enum rc_key_type t)
{
	char pem[PATH_SIZE], key[PATH_SIZE], chain[PATH_SIZE];
	int rc;

	if (join(pem, dir, "/ca.pem") != CLI_OK ||
	    join(key, dir, "/ca.key") != CLI_OK ||
	    join(chain, dir, "/chain.pem") != CLI_OK)
		return CLI_FAIL;
	if ((rc = rc_ca_save(ca, dir, force)) == RC_EEXIST)
		return cli_fail("%s holds a CA already (--force replaces it)",
		    dir);
	if (rc != RC_OK)
		return fail(rc, "writing the CA to '%s'", dir);
	print_cert(pem, ca->cert);
	print_key(key, t);
	if (sk_X509_num(ca->parents) > 0)
		printf("wrote %s (%d certificates: this CA, then its "
		       "issuers)\n",
		    chain, 1 + sk_X509_num(ca->parents));
	return CLI_OK;
}

static const struct spec init_spec =
    {"rollcall ca init --out DIR --cn NAME [--type TYPE] [--days N] "
     "[--force]",
        "Makes a self-signed root CA in the directory DIR (created with mode "
        "0700):\nDIR/ca.pem and DIR/ca.key (mode 0600).\n\n"
        "  --out DIR    the CA directory\n"
        "  --cn NAME    subject common name\n"
        "  --type TYPE  key type: p256 (default), p384, rsa2048, rsa3072\n"
        "  --days N     validity in days (default 3650)\n"
        "  --force      replace a CA already in DIR\n",
        "ontdf", "on", RC_CA_DAYS_ROOT};

static int
ca_init(int argc, char **argv)
{
	struct rc_ca *ca;
	struct opts o;
	int rc;

	if ((rc = parse_opts(&init_spec, argc, argv, &o)) != CLI_OK)
		return rc == HELP_SHOWN ? CLI_OK : rc;
	if ((rc = rc_ca_new_root(o.cn, o.type, o.days, &ca)) != RC_OK)
		return fail(rc, "making the root '%s'", o.cn);
	rc = save_ca(ca, o.out, o.force, o.type);
	rc_ca_free(ca);
	return rc;
}

static int
same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static const struct spec intermediate_spec =
    {"rollcall ca intermediate --ca DIR --out DIR2 --cn NAME [--type TYPE] "
     "[--days N] [--force]",
        "Makes an intermediate CA signed by the CA in DIR, in the directory "
        "DIR2:\nDIR2/ca.pem, DIR2/ca.key (mode 0600) and DIR2/chain.pem (the "
        "intermediate,\nthen its issuers up to the root).  It may issue "
        "leaves only (pathlen:0).\n\n"
        "  --ca DIR     the issuing CA\n"
        "  --out DIR2   the new CA directory\n"
        "  --cn NAME    subject common name\n"
        "  --type TYPE  key type: p256 (default), p384, rsa2048, rsa3072\n"
        "  --days N     validity in days (default 1825, never past the "
        "issuer's)\n"
        "  --force      replace a CA already in DIR2\n",
        "aontdf", "aon", RC_CA_DAYS_INTERMEDIATE};

static int
ca_intermediate(int argc, char **argv)
{
	struct rc_ca *parent = NULL, *ca = NULL;
	struct opts o;
	int rc;

	if ((rc = parse_opts(&intermediate_spec, argc, argv, &o)) != CLI_OK)
		return rc == HELP_SHOWN ? CLI_OK : rc;
	if (same_dir(o.ca, o.out))
		return cli_usage(intermediate_spec.synopsis,
		    "--out must be another directory than --ca");
	if ((rc = load_ca(o.ca, &parent)) != CLI_OK)
		return rc;
	if ((rc = rc_ca_new_intermediate(parent, o.cn, o.type, o.days, &ca)) !=
	    RC_OK)
		rc = fail(rc, "making the intermediate '%s' under '%s'", o.cn,
		    o.ca);
	else
		rc = save_ca(ca, o.out, o.force, o.type);
	rc_ca_free(ca);
	rc_ca_free(parent);
	return rc;
}

/* PREFIX.pem, PREFIX.key, PREFIX-chain.pem */
static int
prefix_paths(const char *prefix, char paths[3][PATH_SIZE])
{
	if (join(paths[0], prefix, ".pem") != CLI_OK ||
	    join(paths[1], prefix, ".key") != CLI_OK ||
	    join(paths[2], prefix, "-chain.pem") != CLI_OK)
		return CLI_FAIL;
	return CLI_OK;
}

static int
write_leaf_files(const struct rc_ca *ca, X509 *cert, EVP_PKEY *key,
    char paths[3][PATH_SIZE], const struct opts *o)
{
	int rc;

	if ((rc = rc_key_save(key, paths[1], o->force)) != RC_OK)
		return fail(rc, "writing %s", paths[1]);
	if ((rc = rc_ca_write_pem(paths[0], &cert, 1, o->force)) != RC_OK)
		return fail(rc, "writing %s", paths[0]);
	if ((rc = rc_ca_write_chain(paths[2], ca, cert, o->force)) != RC_OK)
		return fail(rc, "writing %s", paths[2]);
	print_cert(paths[0], cert);
	print_key(paths[1], o->type);
	printf("wrote %s (the certificate, then its intermediates)\n",
	    paths[2]);
	return CLI_OK;
}

static const struct spec issue_spec =
    {"rollcall ca issue --ca DIR --cn NAME --out PREFIX [--type TYPE] "
     "[--days N] [--force]",
        "Makes a device key and certificate (TLS client) signed by the CA in "
        "DIR:\nPREFIX.pem, PREFIX.key (mode 0600) and PREFIX-chain.pem (the "
        "certificate,\nthen the intermediates; not the root).  The CN is "
        "the registration ID.\n\n"
        "  --ca DIR       the issuing CA\n"
        "  --cn NAME      subject common name\n"
        "  --out PREFIX   where to write the three files\n"
        "  --type TYPE    key type: p256 (default), p384, rsa2048, rsa3072\n"
        "  --days N       validity in days (default 365, never past the "
        "CA's)\n"
        "  --force        replace existing files\n",
        "anotdf", "ano", RC_CA_DAYS_LEAF};

static int
ca_issue(int argc, char **argv)
{
	char paths[3][PATH_SIZE];
	struct rc_ca *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct opts o;
	int rc;

	if ((rc = parse_opts(&issue_spec, argc, argv, &o)) != CLI_OK)
		return rc == HELP_SHOWN ? CLI_OK : rc;
	if ((rc = prefix_paths(o.out, paths)) != CLI_OK ||
	    (rc = refuse_existing(paths, 3, o.force)) != CLI_OK ||
	    (rc = load_ca(o.ca, &ca)) != CLI_OK)
		goto out;
	if ((rc = rc_ca_issue(ca, o.cn, o.type, o.days, &cert, &key)) !=
	    RC_OK) {
		rc = fail(rc, "issuing '%s'", o.cn);
		goto out;
	}
	rc = write_leaf_files(ca, cert, key, paths, &o);
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	rc_ca_free(ca);
	return rc;
}

static int
read_csr(const char *path, X509_REQ **req)
{
	uint8_t *data;
	size_t len;
	int rc;

	if ((rc = cli_read_file(path, &data, &len)) == RC_EIO)
		return cli_fail("cannot read the CSR '%s': %s", path,
		    strerror(errno));
	if (rc != RC_OK)
		return fail(rc, "cannot read the CSR '%s'", path);
	rc = rc_csr_parse(data, len, req);
	rc_free(data);
	if (rc != RC_OK)
		return fail(rc, "'%s' is not a usable CSR", path);
	return CLI_OK;
}

/* What rc_ca_sign_csr's refusals mean for the CSR at hand. */
static const char *
sign_reason(int rc)
{
	switch (rc) {
	case RC_EBADSIG:
		return "its signature does not verify with its own key";
	case RC_ENOENT:
		return "its subject has no CN";
	case RC_EPARSE:
		return "its subject CN is unusable (several, empty, or not "
		       "UTF-8)";
	case RC_ETOOBIG:
		return "its subject CN is longer than 64 characters";
	case RC_EUNSUPPORTED:
		return "its key or signature algorithm is not accepted (EC "
		       "P-256/384/521 or RSA of 2048 bits or more; no SHA-1)";
	default:
		return rc_strerror(rc);
	}
}

static const struct spec sign_spec =
    {"rollcall ca sign --ca DIR --csr FILE --out FILE [--days N] [--chain] "
     "[--force]",
        "Signs a device's PKCS#10 CSR (PEM, base64 or DER) with the CA in "
        "DIR.  The CSR's\\nsignature is checked first; the certificate keeps "
        "its subject CN only and is a\\nTLS client certificate.\\n\\n"
        "  --ca DIR     the issuing CA\\n"
        "  --csr FILE   the request\\n"
        "  --out FILE   the certificate (PEM)\\n"
        "  --days N     validity in days (default 365, never past the CA's)\\n"
        "  --chain      write the intermediates after the certificate\\n"
        "  --force      replace FILE if it exists\\n",
        "arodCf", "aro", RC_CA_DAYS_LEAF};

static int
ca_sign(int argc, char **argv)
{
	struct rc_ca *ca = NULL;
	X509_REQ *req = NULL;
	X509 *cert = NULL;
	struct opts o;
	int rc;

	if ((rc = parse_opts(&sign_spec, argc, argv, &o)) != CLI_OK)
		return rc == HELP_SHOWN ? CLI_OK : rc;
	if ((rc = read_csr(o.csr, &req)) != CLI_OK ||
	    (rc = load_ca(o.ca, &ca)) != CLI_OK)
		goto out;
	if ((rc = rc_ca_sign_csr(ca, req, o.days, &cert)) != RC_OK) {
		rc = cli_fail("not signing '%s': %s", o.csr, sign_reason(rc));
		goto out;
	}
	if (o.chain)
		rc = rc_ca_write_chain(o.out, ca, cert, o.force);
	else
		rc = rc_ca_write_pem(o.out, &cert, 1, o.force);
	if (rc != RC_OK) {
		rc = fail(rc, "writing %s", o.out);
		goto out;
	}
	print_cert(o.out, cert);
	rc = CLI_OK;
out:
	X509_free(cert);
	X509_REQ_free(req);
	rc_ca_free(ca);
	return rc;
}

static const struct spec server_spec =
    {"rollcall ca server-cert --ca DIR --out PREFIX --san DNS:NAME|IP:ADDR "
     "... [--cn NAME] [--type TYPE] [--days N] [--force]",
        "Makes a TLS server key and certificate signed by the CA in DIR:\\n"
        "PREFIX.pem, PREFIX.key (mode 0600) and PREFIX-chain.pem (the "
        "certificate, then\\nthe intermediates).\\n\\n"
        "  --ca DIR       the issuing CA\\n"
        "  --out PREFIX   where to write the three files\\n"
        "  --san SAN      DNS:host.name (\"*.\" allowed first) or IP:address "
        "(v4 or v6);\\n"
        "                 repeat for several, at least one\\n"
        "  --cn NAME      subject common name (default: the first SAN)\\n"
        "  --type TYPE    key type: p256 (default), p384, rsa2048, rsa3072\\n"
        "  --days N       validity in days (default 825, never past the "
        "CA's)\\n"
        "  --force        replace existing files\\n",
        "aosntdf", "aos", RC_CA_DAYS_SERVER};

static int
ca_server_cert(int argc, char **argv)
{
	char paths[3][PATH_SIZE];
	struct rc_ca *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct opts o;
	int rc;

	if ((rc = parse_opts(&server_spec, argc, argv, &o)) != CLI_OK)
		return rc == HELP_SHOWN ? CLI_OK : rc;
	if ((rc = prefix_paths(o.out, paths)) != CLI_OK ||
	    (rc = refuse_existing(paths, 3, o.force)) != CLI_OK ||
	    (rc = load_ca(o.ca, &ca)) != CLI_OK)
		goto out;
	rc = rc_ca_server_cert(ca, o.cn, o.list, o.nlist, o.type, o.days, &cert,
	    &key);
	/* days and CN are checked already: it is a SAN */
	if (rc == RC_EINVAL)
		rc = cli_usage(server_spec.synopsis,
		    "--san: each must be DNS:<host name> or IP:<address>");
	else if (rc != RC_OK)
		rc = fail(rc, "making the server certificate");
	else
		rc = write_leaf_files(ca, cert, key, paths, &o);
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	rc_ca_free(ca);
	return rc;
}

static void
print_crl(const char *path, X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	int i;

	printf("wrote %s\n", path);
	print_name("issuer", X509_CRL_get_issuer(crl));
	print_time("next", X509_CRL_get0_nextUpdate(crl));
	printf("  %-9s %d\n", "revoked", sk_X509_REVOKED_num(revs));
	for (i = 0; i < sk_X509_REVOKED_num(revs); i++)
		print_serial("serial",
		    X509_REVOKED_get0_serialNumber(
		        sk_X509_REVOKED_value(revs, i)));
}

static const struct spec crl_spec = {"rollcall ca crl --ca DIR [--revoke "
                                     "SERIAL ...] --out FILE [--days N] "
                                     "[--force]",
    "Writes a CRL signed by the CA in DIR, listing the revoked serials.\\n\\n"
    "  --ca DIR         the issuing CA\\n"
    "  --revoke SERIAL  a serial in hex (':' allowed), as 'ca issue' "
    "prints it;\\n"
    "                   repeat for several\\n"
    "  --out FILE       the CRL (PEM)\\n"
    "  --days N         until the next update (default 7)\\n"
    "  --force          replace FILE if it exists\\n",
    "avodf", "ao", RC_CA_DAYS_CRL};

static int
ca_crl(int argc, char **argv)
{
	X509_CRL *crl = NULL;
	struct rc_ca *ca;
	struct opts o;
	int rc;

	if ((rc = parse_opts(&crl_spec, argc, argv, &o)) != CLI_OK)
		return rc == HELP_SHOWN ? CLI_OK : rc;
	if ((rc = load_ca(o.ca, &ca)) != CLI_OK)
		return rc;
	rc = rc_ca_crl(ca, o.list, o.nlist, o.days, &crl);
	if (rc == RC_EPARSE)
		rc = cli_usage(crl_spec.synopsis,
		    "--revoke: a serial is up to 40 hex digits");
	else if (rc == RC_EINVAL)
		rc = cli_usage(crl_spec.synopsis,
		    "--revoke: a serial is given twice");
	else if (rc != RC_OK)
		rc = fail(rc, "making the CRL");
	else if ((rc = rc_ca_write_crl(o.out, crl, o.force)) != RC_OK)
		rc = fail(rc, "writing %s", o.out);
	else
		print_crl(o.out, crl);
	X509_CRL_free(crl);
	rc_ca_free(ca);
	return rc;
}

static const struct spec verification_spec =
    {"rollcall ca verification-cert --ca DIR --code CODE --out FILE "
     "[--days N] [--force]",
        "Proves possession of the CA's key: writes a certificate with subject "
        "CN=CODE\\nsigned by the CA in DIR, for the verification code a "
        "provisioning service\\ngave for that CA certificate.\\n\\n"
        "  --ca DIR     the CA to prove\\n"
        "  --code CODE  the verification code\\n"
        "  --out FILE   the certificate (PEM)\\n"
        "  --days N     validity in days (default 30)\\n"
        "  --force      replace FILE if it exists\\n",
        "acodf", "aco", RC_CA_DAYS_VERIFICATION};

static int
ca_verification_cert(int argc, char **argv)
{
	struct rc_ca *ca;
	X509 *cert = NULL;
	struct opts o;
	int rc;

	if ((rc = parse_opts(&verification_spec, argc, argv, &o)) != CLI_OK)
		return rc == HELP_SHOWN ? CLI_OK : rc;
	if (rc_csr_check_cn(o.code) != RC_OK)
		return cli_usage(verification_spec.synopsis,
		    "--code: must be 1 to %d characters of UTF-8", RC_CN_MAX);
	if ((rc = load_ca(o.ca, &ca)) != CLI_OK)
		return rc;
	if ((rc = rc_ca_verification_cert(ca, o.code, o.days, &cert)) != RC_OK)
		rc = fail(rc, "making the verification certificate");
	else if ((rc = rc_ca_write_pem(o.out, &cert, 1, o.force)) != RC_OK)
		rc = fail(rc, "writing %s", o.out);
	else
		print_cert(o.out, cert);
	X509_free(cert);
	rc_ca_free(ca);
	return rc;
}

int
cmd_ca(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"init", ca_init, "make a root CA in a directory"},
	    {"intermediate", ca_intermediate,
	        "make an intermediate CA under a CA"},
	    {"issue", ca_issue, "make a device key and certificate"},
	    {"sign", ca_sign, "sign a device's CSR"},
	    {"server-cert", ca_server_cert,
	        "make a TLS server key and certificate"},
	    {"crl", ca_crl, "write a certificate revocation list"},
	    {"verification-cert", ca_verification_cert,
	        "prove possession of the CA key (verification code)"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("ca", subs, argc, argv);
}
