/* Unit tests for the bounded cursor and capped buffer (buf.h). */
#include <string.h>

#include "rctest.h"
#include "rollcall/buf.h"
#include "rollcall/mem.h"

static void
test_read_ints(void **state)
{
	static const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
	struct rc_buf b;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;

	(void)state;
	rc_buf_init(&b, in, sizeof(in));
	assert_int_equal(rc_buf_get_u8(&b, &u8), RC_OK);
	assert_int_equal(u8, 0x01);
	assert_int_equal(rc_buf_get_u16be(&b, &u16), RC_OK);
	assert_int_equal(u16, 0x0203);
	assert_int_equal(rc_buf_get_u32be(&b, &u32), RC_OK);
	assert_int_equal(u32, 0x04050607);
	assert_int_equal(rc_buf_remaining(&b), 0);
	assert_int_equal(rc_buf_get_u8(&b, &u8), RC_ETRUNC);
	assert_int_equal(u8, 0);
}

/* A failed read must consume nothing (length + 1 cases). */
static void
test_short_reads_consume_nothing(void **state)
{
	static const uint8_t in[] = {0xaa, 0xbb, 0xcc};
	const uint8_t *p;
	struct rc_buf b, sub;
	uint8_t out[4];
	uint16_t u16;
	uint32_t u32;

	(void)state;
	rc_buf_init(&b, in, sizeof(in));
	assert_int_equal(rc_buf_get_u32be(&b, &u32), RC_ETRUNC);
	assert_int_equal(rc_buf_remaining(&b), 3);
	assert_int_equal(rc_buf_get_bytes(&b, out, 4), RC_ETRUNC);
	assert_int_equal(rc_buf_skip(&b, 4), RC_ETRUNC);
	assert_int_equal(rc_buf_get0_bytes(&b, 4, &p), RC_ETRUNC);
	assert_null(p);
	assert_int_equal(rc_buf_get_sub(&b, 4, &sub), RC_ETRUNC);
	assert_int_equal(rc_buf_remaining(&sub), 0);
	assert_int_equal(rc_buf_skip(&b, SIZE_MAX), RC_ETRUNC);
	assert_int_equal(rc_buf_remaining(&b), 3);
	assert_int_equal(rc_buf_skip(&b, 2), RC_OK);
	assert_int_equal(rc_buf_get_u16be(&b, &u16), RC_ETRUNC);
	assert_int_equal(rc_buf_remaining(&b), 1);
}

static void
test_sub_and_until(void **state)
{
	static const char in[] = "key=value;rest";
	const uint8_t *tok;
	struct rc_buf b, sub;
	size_t n;
	uint8_t c;

	(void)state;
	rc_buf_init(&b, in, strlen(in));
	assert_int_equal(rc_buf_get0_until(&b, '=', &tok, &n), RC_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(tok, "key", 3);
	assert_int_equal(rc_buf_get_sub(&b, 5, &sub), RC_OK);
	assert_int_equal(rc_buf_remaining(&sub), 5);
	assert_int_equal(rc_buf_peek_u8(&sub, &c), RC_OK);
	assert_int_equal(c, 'v');
	assert_int_equal(rc_buf_get0_until(&b, '#', &tok, &n), RC_ENOENT);
	assert_null(tok);
	assert_int_equal(rc_buf_get0_until(&b, ';', &tok, &n), RC_OK);
	assert_int_equal(n, 0);
	assert_int_equal(rc_buf_remaining(&b), 4);
}

static void
test_null_and_empty(void **state)
{
	struct rc_buf b;
	uint8_t c;

	(void)state;
	rc_buf_init(&b, NULL, 10);
	assert_int_equal(rc_buf_remaining(&b), 0);
	assert_int_equal(rc_buf_peek_u8(&b, &c), RC_ETRUNC);
	assert_int_equal(rc_buf_skip(&b, 0), RC_OK);
}

static void
test_wbuf_cap(void **state)
{
	struct rc_wbuf w;
	char *s;
	size_t n;

	(void)state;
	rc_wbuf_init(&w, 8);
	assert_int_equal(rc_wbuf_puts(&w, "abcd"), RC_OK);
	assert_int_equal(rc_wbuf_printf(&w, "%d", 1234), RC_OK);
	assert_int_equal(w.len, 8);
	/* cap + 1: refused, content unchanged */
	assert_int_equal(rc_wbuf_putc(&w, 'x'), RC_ETOOBIG);
	assert_int_equal(rc_wbuf_printf(&w, "%s", "y"), RC_ETOOBIG);
	assert_int_equal(rc_wbuf_append(&w, "z", SIZE_MAX), RC_ETOOBIG);
	assert_string_equal((char *)w.data, "abcd1234");
	assert_int_equal(rc_wbuf_detach(&w, &s, &n), RC_OK);
	assert_int_equal(n, 8);
	assert_string_equal(s, "abcd1234");
	assert_null(w.data);
	rc_free(s);
	rc_wbuf_free(&w);
}

static void
test_wbuf_grow_and_reset(void **state)
{
	struct rc_wbuf w;
	char *s;
	int i;

	(void)state;
	rc_wbuf_init(&w, 100000);
	for (i = 0; i < 10000; i++)
		assert_int_equal(rc_wbuf_putc(&w, (uint8_t)('a' + i % 26)),
		    RC_OK);
	assert_int_equal(w.len, 10000);
	assert_int_equal(w.data[w.len], '\0');
	rc_wbuf_reset(&w);
	assert_int_equal(w.len, 0);
	rc_wbuf_free_secret(&w);
	/* detach of an empty buffer still gives a string */
	rc_wbuf_init(&w, 0);
	assert_int_equal(rc_wbuf_detach(&w, &s, NULL), RC_OK);
	assert_string_equal(s, "");
	rc_free(s);
}

static int
build_some(void *arg)
{
	struct rc_wbuf w;
	char *s = NULL;
	int i, rc;

	(void)arg;
	rc_wbuf_init(&w, 4096);
	for (i = 0; i < 200; i++)
		if ((rc = rc_wbuf_printf(&w, "%03d,", i)) != RC_OK)
			goto out;
	if ((rc = rc_wbuf_detach(&w, &s, NULL)) != RC_OK)
		goto out;
	if (strncmp(s, "000,001,", 8) != 0)
		rc = RC_EINVAL;
out:
	rc_free(s);
	rc_wbuf_free(&w);
	return rc;
}

static void
test_wbuf_each_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(build_some, NULL, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_ints),
	    cmocka_unit_test(test_short_reads_consume_nothing),
	    cmocka_unit_test(test_sub_and_until),
	    cmocka_unit_test(test_null_and_empty),
	    cmocka_unit_test(test_wbuf_cap),
	    cmocka_unit_test(test_wbuf_grow_and_reset),
	    cmocka_unit_test(test_wbuf_each_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
