/*
 * Aligned text tables for people (client.h).  Cells often hold text the
 * server sent, so control characters are replaced when a cell is stored;
 * column widths count UTF-8 characters, not bytes, so names with accents
 * still line up.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "rollcall/err.h"
#include "rollcall/mem.h"

/* A table grows one row at a time up to this many rows. */
#define TABLE_MAX_ROWS (10 * 1000 * 1000)

struct table {
	size_t ncols;
	size_t nrows; /* including the header row */
	size_t cap;
	char **cells; /* nrows * ncols */
	size_t *width;
};

static size_t
text_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static char *
clean_dup(const char *s)
{
	char *d;
	size_t i;

	if ((d = rc_strdup(s == NULL || *s == '\0' ? "-" : s)) == NULL)
		return NULL;
	for (i = 0; d[i] != '\0'; i++)
		if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
			d[i] = '?';
	return d;
}

int
table_add(struct table *t, const char *const *cells)
{
	char **grown;
	size_t i, at, w;

	if (t->nrows >= TABLE_MAX_ROWS)
		return RC_ETOOBIG;
	if (t->nrows == t->cap) {
		if ((grown = rc_reallocarray(t->cells, (t->cap + 16) * t->ncols,
		         sizeof(*grown))) == NULL)
			return RC_ENOMEM;
		t->cells = grown;
		t->cap += 16;
	}
	at = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		if ((t->cells[at + i] = clean_dup(cells[i])) == NULL) {
			while (i-- > 0)
				rc_free(t->cells[at + i]);
			return RC_ENOMEM;
		}
		if ((w = text_width(t->cells[at + i])) > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
	return RC_OK;
}

int
table_new(size_t ncols, const char *const *headers, struct table **out)
{
	struct table *t;
	int rc;

	*out = NULL;
	if (ncols == 0)
		return RC_EINVAL;
	if ((t = rc_calloc(1, sizeof(*t))) == NULL)
		return RC_ENOMEM;
	t->ncols = ncols;
	if ((t->width = rc_calloc(ncols, sizeof(*t->width))) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	if ((rc = table_add(t, headers)) != RC_OK)
		goto out;
	*out = t;
	return RC_OK;
out:
	table_free(t);
	return rc;
}

size_t
table_rows(const struct table *t)
{
	return t->nrows - 1;
}

void
table_print(const struct table *t, FILE *f)
{
	size_t r, c, pad;
	const char *cell;

	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			cell = t->cells[r * t->ncols + c];
			fputs(cell, f);
			if (c + 1 == t->ncols)
				break;
			/* Two spaces between columns; none after the last. */
			for (pad = text_width(cell); pad < t->width[c] + 2;
			     pad++)
				fputc(' ', f);
		}
		fputc('\n', f);
	}
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		rc_free(t->cells[i]);
	rc_free(t->cells);
	rc_free(t->width);
	rc_free(t);
}
