/* Unit tests for private keys (key.h) and atomic file writes (file.h). */
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "rctest.h"
#include "rollcall/file.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"

static const char *dir;

static void
test_type_names(void **state)
{
	static const char *const names[] = {"p256", "p384", "rsa2048",
	    "rsa3072"};
	enum rc_key_type t;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(rc_key_type_parse(names[i], &t), RC_OK);
		assert_int_equal(t, (enum rc_key_type)i);
		assert_string_equal(rc_key_type_name(t), names[i]);
	}
	assert_int_equal(rc_key_type_parse("P256", &t), RC_EINVAL);
	assert_int_equal(rc_key_type_parse("", &t), RC_EINVAL);
	assert_int_equal(rc_key_type_parse("rsa4096", &t), RC_EINVAL);
	assert_int_equal(rc_key_type_parse("p2566", &t), RC_EINVAL);
	assert_int_equal(rc_key_type_parse(NULL, &t), RC_EINVAL);
	assert_string_equal(rc_key_type_name((enum rc_key_type)99), "?");
}

static void
gen_save_load(enum rc_key_type t, const char *alg, int bits)
{
	const char *path = rctest_path(dir, rc_key_type_name(t));
	EVP_PKEY *k, *back;
	struct stat st;
	char *text;

	assert_int_equal(rc_key_gen(t, &k), RC_OK);
	assert_true(EVP_PKEY_is_a(k, alg));
	assert_int_equal(EVP_PKEY_get_bits(k), bits);
	assert_int_equal(rc_key_is_rsa(k), strcmp(alg, "RSA") == 0);
	assert_int_equal(rc_key_save(k, path, 0), RC_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = rctest_read_file(path, NULL);
	assert_non_null(strstr(text, "-----BEGIN PRIVATE KEY-----\n"));
	rc_free(text);
	assert_int_equal(rc_key_load(path, &back), RC_OK);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
}

static void
test_each_type(void **state)
{
	(void)state;
	gen_save_load(RC_KEY_P256, "EC", 256);
	gen_save_load(RC_KEY_P384, "EC", 384);
	gen_save_load(RC_KEY_RSA2048, "RSA", 2048);
	gen_save_load(RC_KEY_RSA3072, "RSA", 3072);
}

static void
test_gen_bad_type(void **state)
{
	EVP_PKEY *k = (EVP_PKEY *)1;

	(void)state;
	assert_int_equal(rc_key_gen((enum rc_key_type)42, &k), RC_EINVAL);
	assert_null(k);
}

/* A permissive umask, an existing 0644 file: the key still ends up 0600. */
static void
test_mode_and_overwrite(void **state)
{
	const char *path = rctest_path(dir, "over.key");
	EVP_PKEY *a, *b, *back;
	struct stat st;
	mode_t old;

	(void)state;
	assert_int_equal(rc_key_gen(RC_KEY_P256, &a), RC_OK);
	assert_int_equal(rc_key_gen(RC_KEY_P256, &b), RC_OK);
	old = umask(0);
	assert_int_equal(rc_key_save(a, path, 0), RC_OK);
	assert_int_equal(rc_key_save(b, path, 0), RC_EEXIST);
	assert_int_equal(rc_key_load(path, &back), RC_OK);
	assert_int_equal(EVP_PKEY_eq(a, back), 1);
	EVP_PKEY_free(back);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(rc_key_save(b, path, 1), RC_OK);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(rc_key_load(path, &back), RC_OK);
	assert_int_equal(EVP_PKEY_eq(b, back), 1);
	EVP_PKEY_free(back);
	/* no temporary file left behind */
	assert_int_equal(rc_key_save(b, rctest_path(dir, "nodir/x.key"), 0),
	    RC_ENOENT);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void
test_load_missing(void **state)
{
	EVP_PKEY *k = (EVP_PKEY *)1;

	(void)state;
	assert_int_equal(rc_key_load(rctest_path(dir, "absent.key"), &k),
	    RC_ENOENT);
	assert_null(k);
}

static unsigned char *
to_der(EVP_PKEY *k, size_t *len)
{
	unsigned char *der = NULL;
	int n;

	n = i2d_PrivateKey(k, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

static void
test_parse_der_and_traditional(void **state)
{
	unsigned char *der, *bigger;
	EVP_PKEY *k, *back;
	const char *p;
	size_t len;
	BIO *bio;
	long n;

	(void)state;
	assert_int_equal(rc_key_gen(RC_KEY_P256, &k), RC_OK);
	der = to_der(k, &len);
	assert_int_equal(rc_key_parse(der, len, &back), RC_OK);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	/* truncated and trailing garbage */
	assert_int_equal(rc_key_parse(der, len - 1, &back), RC_EPARSE);
	assert_null(back);
	bigger = rc_malloc(len + 1);
	memcpy(bigger, der, len);
	bigger[len] = 0;
	assert_int_equal(rc_key_parse(bigger, len + 1, &back), RC_EPARSE);
	rc_free(bigger);
	OPENSSL_free(der);
	/* "EC PRIVATE KEY" */
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0,
	    NULL, NULL));
	n = BIO_get_mem_data(bio, &p);
	assert_non_null(strstr(p, "BEGIN EC PRIVATE KEY"));
	assert_int_equal(rc_key_parse(p, (size_t)n, &back), RC_OK);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	BIO_free(bio);
	EVP_PKEY_free(k);
}

static void
test_parse_refuses(void **state)
{
	static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nnope\n"
	                              "-----END PRIVATE KEY-----\n";
	EVP_PKEY *k, *back = (EVP_PKEY *)1;
	const char *p;
	char *big;
	BIO *bio;
	long n;

	(void)state;
	assert_int_equal(rc_key_parse("", 0, &back), RC_EPARSE);
	assert_null(back);
	assert_int_equal(rc_key_parse(NULL, 0, &back), RC_EPARSE);
	assert_int_equal(rc_key_parse("hello", 5, &back), RC_EPARSE);
	assert_int_equal(rc_key_parse(garbage, strlen(garbage), &back),
	    RC_EPARSE);
	big = rc_calloc(1, RC_KEY_MAX_INPUT + 1);
	assert_int_equal(rc_key_parse(big, RC_KEY_MAX_INPUT + 1, &back),
	    RC_ETOOBIG);
	rc_free(big);
	/* encrypted: refused without prompting */
	assert_int_equal(rc_key_gen(RC_KEY_P256, &k), RC_OK);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PKCS8PrivateKey(bio, k, EVP_aes_128_cbc(),
	    "secret", 6, NULL, NULL));
	n = BIO_get_mem_data(bio, &p);
	assert_int_equal(rc_key_parse(p, (size_t)n, &back), RC_EUNSUPPORTED);
	assert_null(back);
	BIO_free(bio);
	EVP_PKEY_free(k);
	/* a key type rollcall does not issue for */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k);
	bio = BIO_new(BIO_s_mem());
	assert_true(
	    PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL));
	n = BIO_get_mem_data(bio, &p);
	assert_int_equal(rc_key_parse(p, (size_t)n, &back), RC_EUNSUPPORTED);
	BIO_free(bio);
	EVP_PKEY_free(k);
}

static void
test_file_read_write(void **state)
{
	const char *path = rctest_path(dir, "data.bin");
	uint8_t *data;
	struct stat st;
	size_t len;

	(void)state;
	assert_int_equal(rc_file_write(path, "abc", 3, 0644, 0), RC_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(rc_file_write(path, "xyz", 3, 0644, 0), RC_EEXIST);
	assert_int_equal(rc_file_read(path, 3, &data, &len), RC_OK);
	assert_int_equal(len, 3);
	assert_string_equal((char *)data, "abc");
	rc_free(data);
	/* max + 1 */
	assert_int_equal(rc_file_read(path, 2, &data, &len), RC_ETOOBIG);
	assert_null(data);
	assert_int_equal(rc_file_write(path, "", 0, 0600, 1), RC_OK);
	assert_int_equal(rc_file_read(path, 2, &data, &len), RC_OK);
	assert_int_equal(len, 0);
	rc_free(data);
	assert_int_equal(rc_file_read(rctest_path(dir, "none"), 2, &data, &len),
	    RC_ENOENT);
}

static EVP_PKEY *alloc_key;
static const char *alloc_pem;
static size_t alloc_len;

static int
parse_some(void *arg)
{
	EVP_PKEY *k;
	char *pem;
	size_t len;
	int rc;

	(void)arg;
	if ((rc = rc_key_parse(alloc_pem, alloc_len, &k)) != RC_OK)
		return rc;
	rc = rc_key_to_pem(k, &pem, &len);
	if (rc == RC_OK)
		rc_free_secret(pem, len);
	EVP_PKEY_free(k);
	return rc;
}

static void
test_parse_each_alloc(void **state)
{
	BIO *bio;
	long n;

	(void)state;
	assert_int_equal(rc_key_gen(RC_KEY_P256, &alloc_key), RC_OK);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey(bio, alloc_key, NULL, NULL, 0,
	    NULL, NULL));
	n = BIO_get_mem_data(bio, &alloc_pem);
	alloc_len = (size_t)n;
	rctest_each_alloc(parse_some, NULL, 0);
	BIO_free(bio);
	EVP_PKEY_free(alloc_key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_type_names),
	    cmocka_unit_test(test_each_type),
	    cmocka_unit_test(test_gen_bad_type),
	    cmocka_unit_test(test_mode_and_overwrite),
	    cmocka_unit_test(test_load_missing),
	    cmocka_unit_test(test_parse_der_and_traditional),
	    cmocka_unit_test(test_parse_refuses),
	    cmocka_unit_test(test_file_read_write),
	    cmocka_unit_test(test_parse_each_alloc),
	};
	int rc;

	rc_mem_hook_openssl();
	dir = rctest_tmpdir();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(dir);
	return rc;
}
