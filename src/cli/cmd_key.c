/*
 * rollcall key: private keys.
 *
 *   rollcall key gen [--type p256|p384|rsa2048|rsa3072] --out KEY [--force]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"
#include "rollcall/key.h"

#define GEN_USAGE "rollcall key gen [--type TYPE] --out KEY [--force]"

static int
gen_help(void)
{
	printf("usage: %s\n\n"
	       "Generates a private key and writes it as unencrypted PKCS#8 "
	       "PEM, mode 0600.\n\n"
	       "  --type TYPE  p256 (default), p384, rsa2048 or rsa3072\n"
	       "  --out KEY    file to write\n"
	       "  --force      replace KEY if it exists\n",
	    GEN_USAGE);
	return CLI_OK;
}

static int
key_gen(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"type", required_argument, NULL, 't'},
	    {"out", required_argument, NULL, 'o'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum rc_key_type type = RC_KEY_P256;
	const char *out = NULL;
	EVP_PKEY *key = NULL;
	int c, force = 0, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (rc_key_type_parse(optarg, &type) != RC_OK)
				return cli_usage(GEN_USAGE,
				    "--type: '%s' is not p256, p384, rsa2048 "
				    "or rsa3072",
				    optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'h':
			return gen_help();
		default:
			return cli_usage(GEN_USAGE, NULL);
		}
	}
	if (optind != argc)
		return cli_usage(GEN_USAGE, "unexpected argument '%s'",
		    argv[optind]);
	if (out == NULL)
		return cli_usage(GEN_USAGE, "--out is required");
	if ((rc = rc_key_gen(type, &key)) != RC_OK)
		return cli_fail("generating a %s key: %s",
		    rc_key_type_name(type), rc_strerror(rc));
	rc = rc_key_save(key, out, force);
	EVP_PKEY_free(key);
	if (rc == RC_EEXIST)
		return cli_fail("%s exists (--force replaces it)", out);
	if (rc != RC_OK)
		return cli_fail("writing %s: %s", out, rc_strerror(rc));
	printf("wrote %s (%s private key, mode 0600)\n", out,
	    rc_key_type_name(type));
	return CLI_OK;
}

int
cmd_key(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"gen", key_gen, "generate a private key (PKCS#8 PEM, 0600)"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("key", subs, argc, argv);
}
