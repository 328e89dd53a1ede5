/*
 * Shared access signatures as the Azure IoT service APIs use them
 * (reference/azure-service-api.md §1.4, §1.5).
 *
 * A connection string "HostName=<fqdn>;SharedAccessKeyName=<policy>;
 * SharedAccessKey=<base64>" names a host and a symmetric key.  A token
 *
 *   SharedAccessSignature sr=<resource>&sig=<urlenc(base64 mac)>
 *       &skn=<urlenc(policy)>&se=<unix seconds>
 *
 * carries mac = HMAC-SHA256(key, sr + "\n" + se) over sr as transmitted.
 * The SDKs send the fields in the order sr, sig, skn, se; the documentation
 * shows another order, so the parser takes any order.
 *
 * Key material is never logged; every structure holding it is wiped by its
 * clear function.
 */
#ifndef ROLLCALL_SAS_H
#define ROLLCALL_SAS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rollcall/err.h"

/* Longest connection string or token accepted or produced. */
#define RC_SAS_MAX 4096
/* Longest decoded key accepted (Azure's keys are 32 bytes). */
#define RC_SAS_KEY_MAX 512

struct rc_connstr {
	char *host; /* HostName */
	char *key_name; /* SharedAccessKeyName; NULL if absent */
	char *key; /* SharedAccessKey, base64 as given */
	char *device_id; /* DeviceId; NULL if absent */
};

/*
 * Parses len bytes of a connection string.  Items are separated by ';'
 * (empty items are skipped, as the SDKs do); each item splits at its first
 * '=', so base64 padding in the key survives.  Names are case-sensitive:
 * HostName, SharedAccessKeyName, SharedAccessKey, DeviceId; other names are
 * ignored.  A known name given twice, an item without '=', an empty value,
 * a control byte anywhere, a HostName with characters other than letters,
 * digits and ".-_:[]", or a key that is not base64 of 1..RC_SAS_KEY_MAX
 * bytes is RC_EPARSE; HostName and
 * SharedAccessKey are required (RC_EPARSE); more than RC_SAS_MAX bytes is
 * RC_ETOOBIG.  On RC_OK the caller owns *out and releases it with
 * rc_connstr_clear.
 */
RC_MUST_CHECK int rc_connstr_parse(const char *s, size_t len,
    struct rc_connstr *out);
/* Frees and wipes the fields; NULL-safe, and safe on a cleared struct. */
void rc_connstr_clear(struct rc_connstr *);
/*
 * The decoded SharedAccessKey.  The caller owns *key and releases it with
 * rc_free_secret(*key, *keylen).
 */
RC_MUST_CHECK int rc_connstr_get1_key(const struct rc_connstr *, uint8_t **key,
    size_t *keylen);

/*
 * Percent-encodes n bytes as JavaScript's encodeURIComponent does, with
 * !'()* escaped as well (what the SDKs call encodeUriComponentStrict): only
 * RFC 3986 §2.3 unreserved characters stay literal, hex digits are upper
 * case (RFC 3986 §2.1).  *out is a string the caller frees with rc_free.
 */
RC_MUST_CHECK int rc_sas_urlencode(const char *s, size_t n, char **out);

/*
 * Makes a token for resource sr (put in the token and signed exactly as
 * given; the service SDKs pass the raw HostName), signed with key, valid
 * until expiry (unix seconds, not 0).  key_name NULL or "" leaves out skn.
 * sr must be printable ASCII without spaces or '&' (RC_EINVAL).  *out is a
 * string the caller frees with rc_free.
 */
RC_MUST_CHECK int rc_sas_token_new(const char *sr, const char *key_name,
    const uint8_t *key, size_t keylen, uint64_t expiry, char **out);

struct rc_sas_token {
	char *sr; /* percent-decoded resource */
	char *sr_raw; /* resource as transmitted: what was signed */
	uint8_t sig[32]; /* the HMAC-SHA256 the token claims */
	char *skn; /* percent-decoded policy name; NULL if absent */
	uint64_t se; /* expiry, unix seconds */
};

/*
 * Parses an Authorization header value "SharedAccessSignature k=v&k=v...".
 * The scheme name is case-insensitive (RFC 7235 §2.1) and is followed by
 * one space.  Each of sr, sig, se must appear exactly once, skn at most
 * once, in any order; any other field is refused, since it could carry a
 * restriction this code would not enforce.  Values are printable ASCII,
 * percent-decoded strictly ('%' must start two hex digits; '+' stays '+';
 * a decoded NUL is refused).  sig must be canonical base64 of exactly 32
 * bytes; se is 1..20 decimal digits without sign or leading zero that fit
 * in 64 bits.  Anything else is RC_EPARSE; more than RC_SAS_MAX bytes is
 * RC_ETOOBIG.  On RC_OK the caller owns *out and releases it with
 * rc_sas_token_clear.
 */
RC_MUST_CHECK int rc_sas_parse(const char *s, size_t len,
    struct rc_sas_token *out);
/* Frees the fields; NULL-safe, and safe on a cleared struct. */
void rc_sas_token_clear(struct rc_sas_token *);

/*
 * Decides whether a parsed token authorizes access to host at time now.
 * In order:
 *  1. the HMAC over sr_raw + "\n" + se must equal sig; failing that, the
 *     HMAC over url-encode(lower(sr)) + "\n" + se (the string-to-sign the
 *     documentation defines); compared in constant time.  Else RC_EAUTH.
 *  2. sr must equal host, ignoring ASCII case, or be host + "/" + a
 *     non-empty path.  Else RC_EAUTH.
 *  3. now - skew_seconds must be before se.  Else RC_EEXPIRED.
 * Tell a peer only "not authorized" whatever the code; the codes differ for
 * the log.  RC_EINVAL for a NULL or empty key or host, a negative now or
 * skew; RC_ENOMEM or RC_ECRYPTO if the check could not run.  Any code but
 * RC_OK means: refuse.
 */
RC_MUST_CHECK int rc_sas_verify(const struct rc_sas_token *, const uint8_t *key,
    size_t keylen, const char *host, time_t now, int skew_seconds);

#endif
