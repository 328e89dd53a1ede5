/*
 * Hub identities for the fleet without DPS (load.h): POST /devices, the
 * hub's bulk import (azure-service-api.md, at most 100 items a call),
 * each device selfSigned with its certificate's SHA-256 thumbprint, the
 * form DPS itself gives them.  Used to prepare connect, hold and
 * telemetry runs whose devices were not registered.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>

#include "load.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/sas.h"

#define BATCH 100

static json_t *
batch_json(const struct load_fleet *f, size_t from, size_t n)
{
	json_t *arr = json_array(), *item;
	char thumb[65];
	size_t i;

	for (i = from; arr != NULL && i < from + n; i++) {
		if (load_thumbprint(f->dev[i].cert, thumb) != RC_OK ||
		    (item = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "id",
		         f->dev[i].id, "importMode", "create", "authentication",
		         "type", "selfSigned", "x509Thumbprint",
		         "primaryThumbprint", thumb)) == NULL ||
		    json_array_append_new(arr, item) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static size_t
sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int
post(CURL *h, const char *url, const char *auth, const char *body)
{
	struct curl_slist *hd = NULL, *t;
	char line[1024];
	long status = 0;
	CURLcode cc;

	snprintf(line, sizeof(line), "Authorization: %s", auth);
	if ((t = curl_slist_append(hd, line)) == NULL)
		return RC_ENOMEM;
	hd = t;
	if ((t = curl_slist_append(hd, "Content-Type: application/json")) ==
	    NULL) {
		curl_slist_free_all(hd);
		return RC_ENOMEM;
	}
	hd = t;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hd);
	if (cc != CURLE_OK || status >= 300) {
		fprintf(stderr, "rollcall-load: import: %s (HTTP %ld)\n",
		    curl_easy_strerror(cc), status);
		return RC_EIO;
	}
	return RC_OK;
}

static int
sas_for(const struct load_args *a, char **tok)
{
	struct rc_connstr cs;
	uint8_t *key = NULL;
	size_t keylen = 0;
	int rc;

	*tok = NULL;
	if ((rc = rc_connstr_parse(a->connstr, strlen(a->connstr), &cs)) !=
	    RC_OK)
		return rc;
	if ((rc = rc_connstr_get1_key(&cs, &key, &keylen)) == RC_OK)
		rc = rc_sas_token_new(cs.host, cs.key_name, key, keylen,
		    (uint64_t)time(NULL) + 3600, tok);
	rc_free_secret(key, keylen);
	rc_connstr_clear(&cs);
	return rc;
}

int
load_import(const struct load_args *a, const struct load_fleet *f)
{
	char url[256], addr[INET_ADDRSTRLEN], *tok = NULL, *body;
	json_t *batch;
	CURL *h = NULL;
	size_t i, n;
	int rc;

	if ((rc = sas_for(a, &tok)) != RC_OK)
		return rc;
	inet_ntop(AF_INET, &a->target.sin_addr, addr, sizeof(addr));
	snprintf(url, sizeof(url),
	    "https://%s:%u/devices?api-version=2021-04-12", addr,
	    (unsigned)ntohs(a->target.sin_port));
	if ((h = curl_easy_init()) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_CAINFO, a->trust);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	for (i = 0; i < f->n; i += n) {
		n = f->n - i < BATCH ? f->n - i : BATCH;
		if ((batch = batch_json(f, i, n)) == NULL) {
			rc = RC_ENOMEM;
			goto out;
		}
		rc = rc_json_dump(batch, 0, &body, NULL);
		json_decref(batch);
		if (rc != RC_OK)
			goto out;
		rc = post(h, url, tok, body);
		rc_free(body);
		if (rc != RC_OK)
			goto out;
	}
	printf("RESULT label=%s mode=import n=%zu ok=%zu\n",
	    a->label[0] != '\0' ? a->label : "-", f->n, f->n);
out:
	curl_easy_cleanup(h);
	rc_free(tok);
	return rc;
}
