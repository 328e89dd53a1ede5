/*
 * SAS authentication of service API calls (reference/azure-service-api.md
 * §1.4, DESIGN.md §5 "Authorization").
 *
 * The Authorization header carries "SharedAccessSignature sr=..&sig=..
 * &skn=..&se=..".  The token must name (skn) one of the role's policies,
 * its HMAC must verify with that policy's key, its resource (sr) must be
 * the host the request was sent to or one of the configured host names
 * (the SDKs sign the connection string's HostName, which a client may
 * reach through another of our names or an address), and it must not have
 * expired (SAS_SKEW_SECONDS of clock skew allowed).
 *
 * A refusal is logged once with the peer, the policy name and the reason;
 * neither the token nor a key is ever logged, and the peer hears only
 * "unauthorized" whatever the reason.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "rollcall/log.h"
#include "rollcall/sas.h"

#define SKN_SHOWN 64

/* The policy name as the log may show it: printable, bounded. */
static void
printable(const char *in, char *out, size_t outsize)
{
	size_t i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < outsize; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

static const struct rc_policy *
find_policy(const struct rc_policy *p, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return &p[i];
	return NULL;
}

/* Tries the request's host, then every configured host name. */
static int
verify_hosts(const struct rc_sas_token *tok, const struct rc_policy *p,
    const struct rc_http_req *req, const struct config *cfg, time_t now)
{
	int rc = RC_EAUTH;
	size_t i;

	if (req->host != NULL && *req->host != '\0')
		rc = rc_sas_verify(tok, p->key, p->keylen, req->host, now,
		    SAS_SKEW_SECONDS);
	for (i = 0; rc == RC_EAUTH && i < cfg->hostname.n; i++)
		rc = rc_sas_verify(tok, p->key, p->keylen, cfg->hostname.v[i],
		    now, SAS_SKEW_SECONDS);
	for (i = 0; rc == RC_EAUTH && i < cfg->nhubs; i++)
		rc = rc_sas_verify(tok, p->key, p->keylen, cfg->hubs[i].host,
		    now, SAS_SKEW_SECONDS);
	return rc;
}

static const char *
verify_reason(int rc)
{
	switch (rc) {
	case RC_EAUTH:
		return "signature or resource does not match";
	case RC_EEXPIRED:
		return "token expired";
	default:
		return rc_strerror(rc);
	}
}

int
auth_sas(const struct rc_http_req *req, const struct rc_policy *policies,
    size_t npolicies, const struct config *cfg, time_t now,
    struct rc_principal *out)
{
	struct rc_sas_token tok;
	const struct rc_policy *p = NULL;
	const char *h, *reason = NULL;
	char skn[SKN_SHOWN + 1] = "-";
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&tok, 0, sizeof(tok));
	if ((h = rc_http_header(req, "Authorization")) == NULL) {
		reason = "no Authorization header";
		rc = RC_EAUTH;
		goto out;
	}
	if ((rc = rc_sas_parse(h, strlen(h), &tok)) != RC_OK) {
		reason = "not a well-formed SharedAccessSignature";
		goto out;
	}
	printable(tok.skn, skn, sizeof(skn));
	if ((p = find_policy(policies, npolicies, tok.skn)) == NULL) {
		reason = tok.skn == NULL ? "token names no policy"
		                         : "unknown policy";
		rc = RC_EAUTH;
		goto out;
	}
	if ((rc = verify_hosts(&tok, p, req, cfg, now)) != RC_OK) {
		reason = verify_reason(rc);
		goto out;
	}
	out->policy = p->name;
	out->rights = p->rights;
out:
	rc_sas_token_clear(&tok);
	if (rc != RC_OK)
		rc_log_info("auth: refused %s policy %s: %s",
		    req->peer != NULL ? req->peer : "-", skn, reason);
	return rc == RC_OK ? RC_OK : RC_EAUTH;
}
