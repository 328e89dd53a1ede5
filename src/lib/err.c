#include "rollcall/err.h"

static const char *const texts[] = {
#define RC_ERR_TEXT(code, text) [code] = text,
    RC_ERRORS(RC_ERR_TEXT)
#undef RC_ERR_TEXT
};

static const char *const names[] = {
#define RC_ERR_NAME(code, text) [code] = #code,
    RC_ERRORS(RC_ERR_NAME)
#undef RC_ERR_NAME
};

const char *
rc_strerror(int err)
{
	if (err < 0 || err >= RC_ERR_COUNT)
		return "unknown error";
	return texts[err];
}

const char *
rc_errname(int err)
{
	if (err < 0 || err >= RC_ERR_COUNT)
		return "RC_E?";
	return names[err];
}
