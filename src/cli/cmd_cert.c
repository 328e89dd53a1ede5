/*
 * rollcall cert: inspect and verify certificates.  Each subcommand is a
 * function and one row of subs[] below.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "cli.h"
#include "rollcall/csr.h"
#include "rollcall/enc.h"
#include "rollcall/file.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define INFO_USAGE "rollcall cert info [--json] FILE"
#define VERIFY_USAGE                                                     \
	"rollcall cert verify --anchor FILE ... [--untrusted FILE ...] " \
	"[--at UNIX_SECONDS] FILE ..."
#define CSR_USAGE \
	"rollcall cert csr --key KEY --cn NAME --out FILE [--der] [--force]"
/* 9999-12-31T23:59:59Z, the last second an X.509 time can name. */
#define AT_MAX 253402300799LL

static int cert_info(int, char **);
static int cert_verify(int, char **);
static int cert_csr(int, char **);

static const struct cli_sub subs[] = {
    {"info", cert_info, "show certificates (Azure's certificate info)"},
    {"verify", cert_verify, "verify certificates against trust anchors"},
    {"csr", cert_csr, "make a certificate signing request from a key"},
    {NULL, NULL, NULL},
};

int
cmd_cert(int argc, char **argv)
{
	return cli_dispatch("cert", subs, argc, argv);
}

/* Every certificate of a file; on failure why says what went wrong. */
static int
load_certs(const char *path, STACK_OF(X509) **out, char *why, size_t whylen)
{
	uint8_t *data = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = cli_read_file(path, &data, &len)) != RC_OK) {
		snprintf(why, whylen, "%s",
		    rc == RC_EIO ? strerror(errno) : rc_strerror(rc));
		return rc;
	}
	rc = rc_x509_parse_chain(data, len, RC_X509_MAX_FILE_CERTS, out);
	rc_free(data);
	if (rc == RC_ENOENT)
		snprintf(why, whylen, "no certificate found");
	else if (rc == RC_EPARSE)
		snprintf(why, whylen, "malformed certificate");
	else if (rc != RC_OK)
		snprintf(why, whylen, "%s", rc_strerror(rc));
	return rc;
}

/* Writes n bytes with control and non-ASCII bytes escaped as \xNN. */
static void
put_escaped(const char *s, size_t n)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void
print_sans(X509 *x)
{
	GENERAL_NAMES *gens;
	BIO *bio = NULL;
	char *p;
	long n;
	int i;

	printf("%-12s", "SANs:");
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL || sk_GENERAL_NAME_num(gens) == 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL) {
		printf("none\n");
		goto out;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		if (i > 0 && BIO_puts(bio, ", ") <= 0)
			break;
		if (!GENERAL_NAME_print(bio, sk_GENERAL_NAME_value(gens, i)))
			break;
	}
	if ((n = BIO_get_mem_data(bio, &p)) > 0)
		put_escaped(p, (size_t)n);
	printf("\n");
out:
	BIO_free(bio);
	GENERAL_NAMES_free(gens);
}

static void
print_kind(X509 *x)
{
	int ca = X509_check_ca(x) != 0;

	printf("%-12s%s", "Type:", ca ? "CA" : "leaf");
	if (X509_self_signed(x, 0) == 1)
		printf(", self-signed");
	if (ca && X509_get_pathlen(x) >= 0)
		printf(", path length %ld", X509_get_pathlen(x));
	printf("\n");
}

static int
print_table(X509 *x)
{
	struct rc_cert_info info;
	int rc;

	if ((rc = rc_x509_info(x, &info)) != RC_OK)
		return rc;
	printf("%-12s%s\n", "Subject:", info.subject);
	printf("%-12s%s\n", "Issuer:", info.issuer);
	printf("%-12s%s\n", "Serial:", info.serial);
	printf("%-12s%s\n", "Not before:", info.not_before);
	printf("%-12s%s\n", "Not after:", info.not_after);
	printf("%-12s%s\n", "SHA-1:", info.sha1);
	printf("%-12s%s\n", "SHA-256:", info.sha256);
	print_kind(x);
	print_sans(x);
	rc_x509_info_clear(&info);
	return RC_OK;
}

static int
cert_json(X509 *x, json_t **out)
{
	struct rc_cert_info info;
	int rc;

	*out = NULL;
	if ((rc = rc_x509_info(x, &info)) != RC_OK)
		return rc;
	rc = rc_x509_info_to_json(&info, out);
	rc_x509_info_clear(&info);
	return rc;
}

/* One certificate: an object; several: an array of them. */
static int
certs_json(STACK_OF(X509) *sk, json_t **out)
{
	json_t *all, *one;
	int i, rc;

	*out = NULL;
	if (sk_X509_num(sk) == 1)
		return cert_json(sk_X509_value(sk, 0), out);
	if ((all = json_array()) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < sk_X509_num(sk); i++) {
		if ((rc = cert_json(sk_X509_value(sk, i), &one)) != RC_OK)
			goto out;
		if (json_array_append_new(all, one) != 0) {
			rc = RC_ENOMEM;
			goto out;
		}
	}
	*out = all;
	return RC_OK;
out:
	json_decref(all);
	return rc;
}

static int
print_json(STACK_OF(X509) *sk)
{
	json_t *j;
	int rc;

	if ((rc = certs_json(sk, &j)) != RC_OK)
		return rc;
	if (json_dumpf(j, stdout, JSON_INDENT(2)) != 0 || putchar('\n') == EOF)
		rc = RC_EIO;
	json_decref(j);
	return rc;
}

static int
info_help(void)
{
	printf("usage: %s\n\n"
	       "Shows every certificate of FILE (PEM, DER or base64): subject, "
	       "issuer,\nserial, validity, thumbprints, CA or leaf, subject "
	       "alternative names.\n\n"
	       "  --json   Azure's certificate info fields instead: an object "
	       "for one\n"
	       "           certificate, an array for several\n",
	    INFO_USAGE);
	return CLI_OK;
}

static int
cert_info(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	STACK_OF(X509) *sk = NULL;
	char why[256];
	int ch, json = 0, i, rc;

	while ((ch = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			return info_help();
		default:
			return cli_usage(INFO_USAGE, NULL);
		}
	}
	if (argc - optind != 1)
		return cli_usage(INFO_USAGE, "one FILE expected");
	if (load_certs(argv[optind], &sk, why, sizeof(why)) != RC_OK)
		return cli_fail("%s: %s", argv[optind], why);
	rc = RC_OK;
	if (json)
		rc = print_json(sk);
	for (i = 0; !json && rc == RC_OK && i < sk_X509_num(sk); i++) {
		if (i > 0)
			printf("\n");
		rc = print_table(sk_X509_value(sk, i));
	}
	sk_X509_pop_free(sk, X509_free);
	if (rc != RC_OK)
		return cli_fail("%s: %s", argv[optind], rc_strerror(rc));
	return CLI_OK;
}

/* Moves every certificate of path onto to. */
static int
add_file(STACK_OF(X509) *to, const char *path)
{
	STACK_OF(X509) *sk;
	char why[256];
	X509 *x;
	int rc = CLI_OK;

	if (load_certs(path, &sk, why, sizeof(why)) != RC_OK)
		return cli_fail("%s: %s", path, why);
	while (rc == CLI_OK && (x = sk_X509_shift(sk)) != NULL) {
		if (sk_X509_push(to, x) == 0) {
			X509_free(x);
			rc = cli_fail("%s: %s", path, rc_strerror(RC_ENOMEM));
		}
	}
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

struct verify_opts {
	STACK_OF(X509) *anchors;
	STACK_OF(X509) *untrusted;
	time_t at;
	/* From the command line: argv pointers. */
	const char **anchor_paths, **untrusted_paths;
	int nanchor, nuntrusted;
	int help;
};

/*
 * The first certificate of path is the one verified; the others in the
 * same file join the untrusted intermediates (a device's chain file).
 * Prints "path: OK" or "path: <reason>"; returns CLI_OK or CLI_FAIL.
 */
static int
verify_file(const struct verify_opts *vo, const char *path)
{
	STACK_OF(X509) *sk = NULL, *untrusted = NULL;
	char why[512];
	int i, rc;

	if ((rc = load_certs(path, &sk, why, sizeof(why))) != RC_OK)
		goto out;
	if ((untrusted = sk_X509_dup(vo->untrusted)) == NULL) {
		rc = RC_ENOMEM;
		snprintf(why, sizeof(why), "%s", rc_strerror(rc));
		goto out;
	}
	for (i = 1; i < sk_X509_num(sk); i++) {
		if (sk_X509_push(untrusted, sk_X509_value(sk, i)) == 0) {
			rc = RC_ENOMEM;
			snprintf(why, sizeof(why), "%s", rc_strerror(rc));
			goto out;
		}
	}
	rc = rc_x509_verify(sk_X509_value(sk, 0), untrusted, vo->anchors,
	    vo->at, why, sizeof(why));
out:
	printf("%s: %s\n", path, rc == RC_OK ? "OK" : why);
	sk_X509_free(untrusted);
	sk_X509_pop_free(sk, X509_free);
	return rc == RC_OK ? CLI_OK : CLI_FAIL;
}

static int
verify_help(void)
{
	printf("usage: %s\n\n"
	       "Verifies each FILE's first certificate; further certificates "
	       "in FILE\nare intermediates it presents.  Prints \"FILE: OK\" "
	       "or \"FILE: <reason>\".\nExit status 0 if all verify, 1 if one "
	       "does not.\n\n"
	       "  --anchor FILE      trust anchors (roots or intermediates); "
	       "repeatable\n"
	       "  --untrusted FILE   further intermediates; repeatable\n"
	       "  --at SECONDS       verify at this Unix time instead of now\n",
	    VERIFY_USAGE);
	return CLI_OK;
}

/* Parses the options into vo (whose path arrays hold argc entries). */
static int
verify_args(int argc, char **argv, struct verify_opts *vo)
{
	static const struct option longopts[] = {
	    {"anchor", required_argument, NULL, 'a'},
	    {"untrusted", required_argument, NULL, 'u'},
	    {"at", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long long v;
	int ch;

	while (
	    (ch = getopt_long(argc, argv, "a:u:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			vo->anchor_paths[vo->nanchor++] = optarg;
			break;
		case 'u':
			vo->untrusted_paths[vo->nuntrusted++] = optarg;
			break;
		case 't':
			if (rc_strtonum(optarg, 0, AT_MAX, &v) != RC_OK)
				return cli_usage(VERIFY_USAGE,
				    "--at: '%s' is not a Unix time", optarg);
			vo->at = (time_t)v;
			break;
		case 'h':
			vo->help = 1;
			return CLI_OK;
		default:
			return cli_usage(VERIFY_USAGE, NULL);
		}
	}
	if (vo->nanchor == 0)
		return cli_usage(VERIFY_USAGE, "at least one --anchor needed");
	if (optind >= argc)
		return cli_usage(VERIFY_USAGE, "no FILE to verify");
	return CLI_OK;
}

static int
cert_verify(int argc, char **argv)
{
	struct verify_opts vo;
	int i, rc;

	memset(&vo, 0, sizeof(vo));
	vo.at = time(NULL);
	vo.anchor_paths = rc_calloc((size_t)argc, sizeof(char *));
	vo.untrusted_paths = rc_calloc((size_t)argc, sizeof(char *));
	vo.anchors = sk_X509_new_null();
	vo.untrusted = sk_X509_new_null();
	if (vo.anchor_paths == NULL || vo.untrusted_paths == NULL ||
	    vo.anchors == NULL || vo.untrusted == NULL) {
		rc = cli_fail("%s", rc_strerror(RC_ENOMEM));
		goto out;
	}
	if ((rc = verify_args(argc, argv, &vo)) != CLI_OK)
		goto out;
	if (vo.help) {
		rc = verify_help();
		goto out;
	}
	for (i = 0; rc == CLI_OK && i < vo.nanchor; i++)
		rc = add_file(vo.anchors, vo.anchor_paths[i]);
	for (i = 0; rc == CLI_OK && i < vo.nuntrusted; i++)
		rc = add_file(vo.untrusted, vo.untrusted_paths[i]);
	if (rc != CLI_OK)
		goto out;
	for (i = optind; i < argc; i++)
		if (verify_file(&vo, argv[i]) != CLI_OK)
			rc = CLI_FAIL;
out:
	sk_X509_pop_free(vo.anchors, X509_free);
	sk_X509_pop_free(vo.untrusted, X509_free);
	rc_free(vo.anchor_paths);
	rc_free(vo.untrusted_paths);
	return rc;
}

static int
csr_help(void)
{
	printf("usage: %s\n\n"
	       "Makes a PKCS#10 request for NAME signed by KEY (PEM, or DER "
	       "with\n"
	       "--der).  The CN is the registration ID a device will present\n"
	       "(seed rule S2: a rolled certificate keeps the CN).\n",
	    CSR_USAGE);
	return CLI_OK;
}

/* Writes req to path as PEM or DER. */
static int
write_csr(X509_REQ *req, const char *path, int der, int force)
{
	uint8_t *data = NULL;
	size_t len;
	int rc;

	if (der)
		rc = rc_csr_to_der(req, &data, &len);
	else
		rc = rc_csr_to_pem(req, (char **)&data, &len);
	if (rc == RC_OK)
		rc = rc_file_write(path, data, len, 0644, force);
	rc_free(data);
	return rc;
}

static int
cert_csr(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"cn", required_argument, NULL, 'c'},
	    {"out", required_argument, NULL, 'o'},
	    {"der", no_argument, NULL, 'D'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *keypath = NULL, *cn = NULL, *out = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	int ch, der = 0, force = 0, rc;

	while (
	    (ch = getopt_long(argc, argv, "k:c:o:Dfh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			keypath = optarg;
			break;
		case 'c':
			cn = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'D':
			der = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'h':
			return csr_help();
		default:
			return cli_usage(CSR_USAGE, NULL);
		}
	}
	if (keypath == NULL || cn == NULL || out == NULL || optind != argc)
		return cli_usage(CSR_USAGE, "--key, --cn and --out are needed");
	if (rc_csr_check_cn(cn) != RC_OK)
		return cli_usage(CSR_USAGE,
		    "--cn must be 1 to 64 characters of UTF-8");
	if ((rc = rc_key_load(keypath, &key)) != RC_OK) {
		rc = cli_fail("%s: cannot load the key: %s", keypath,
		    rc_strerror(rc));
		goto out;
	}
	if ((rc = rc_csr_new(key, cn, &req)) != RC_OK) {
		rc = cli_fail("cannot make the CSR: %s", rc_strerror(rc));
		goto out;
	}
	if ((rc = write_csr(req, out, der, force)) != RC_OK) {
		rc = cli_fail("%s: %s", out,
		    rc == RC_EEXIST ? "exists (use --force to replace it)"
		                    : rc_strerror(rc));
		goto out;
	}
	printf("wrote %s (CSR for CN=%s)\n", out, cn);
	rc = CLI_OK;
out:
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}
