/*
 * rollcall-agent [-dv] [-f agent.conf] [--KEYWORD VALUE ...]
 *
 * Every keyword of agent.conf is also a flag (the table in conf.c makes
 * both); flags are applied after the file.  -d stays in the foreground
 * and logs to stderr (the only mode: a supervisor runs it), -v logs
 * debug lines, -n checks the configuration and exits.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <mosquitto.h>

#include "rollcall/agent.h"
#include "rollcall/buf.h"
#include "rollcall/conf.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

static struct rc_agent *running;

static void
on_signal(int sig)
{
	(void)sig;
	if (running != NULL)
		rc_agent_stop(running);
}

static void __attribute__((noreturn)) usage(int code)
{
	FILE *f = code == 0 ? stdout : stderr;

	fprintf(f,
	    "usage: rollcall-agent [-dnv] [-f agent.conf] "
	    "[--KEYWORD VALUE ...]\n\nkeywords (agent.conf and "
	    "flags):\n");
	rc_agent_conf_doc(f);
	exit(code);
}

/* Long options from the keyword table; index i is keyword i. */
static struct option *
long_options(void)
{
	const struct rc_conf_opt *t = rc_agent_conf_table();
	struct option *o;
	size_t n, i;

	for (n = 0; t[n].name != NULL; n++)
		;
	if ((o = rc_calloc(n + 2, sizeof(*o))) == NULL)
		rc_fatalx("out of memory");
	for (i = 0; i < n; i++) {
		o[i].name = t[i].name;
		o[i].has_arg =
		    t[i].type == RC_CONF_BOOL ? no_argument : required_argument;
		o[i].val = 1000 + (int)i;
	}
	o[n].name = "help";
	o[n].val = 'h';
	return o;
}

/* "keyword value" lines from the flags, quoted for conf.h. */
static void
add_flag(struct rc_wbuf *w, const char *kw, const char *val)
{
	const char *p;
	int rc;

	rc = rc_wbuf_printf(w, "%s \"", kw);
	for (p = val; rc == RC_OK && *p != '\0'; p++)
		rc = *p == '"' || *p == '\\' ? rc_wbuf_printf(w, "\\%c", *p)
		                             : rc_wbuf_putc(w, (uint8_t)*p);
	if (rc != RC_OK || rc_wbuf_puts(w, "\"\n") != RC_OK)
		rc_fatalx("flags too long");
}

int
main(int argc, char **argv)
{
	const struct rc_conf_opt *t = rc_agent_conf_table();
	struct rc_agent_conf conf;
	struct rc_wbuf flags;
	struct option *lo = long_options();
	const char *file = NULL;
	char err[512];
	int ch, verbose = 0, check = 0, rc;

	rc_log_init("rollcall-agent", 1, 0);
	rc_wbuf_init(&flags, 64 * 1024);
	while ((ch = getopt_long(argc, argv, "df:hnv", lo, NULL)) != -1) {
		if (ch >= 1000)
			add_flag(&flags, t[ch - 1000].name,
			    optarg != NULL ? optarg : "yes");
		else if (ch == 'd')
			;
		else if (ch == 'f')
			file = optarg;
		else if (ch == 'n')
			check = 1;
		else if (ch == 'v')
			verbose = 1;
		else
			usage(ch == 'h' ? 0 : 2);
	}
	if (optind != argc)
		usage(2);
	rc_log_setverbose(verbose);
	rc_json_init();
	if (rc_agent_conf_init(&conf) != RC_OK)
		rc_fatalx("configuration defaults");
	if (file != NULL &&
	    rc_agent_conf_load(&conf, file, err, sizeof(err)) != RC_OK)
		rc_fatalx("%s", err);
	if (rc_agent_conf_parse(&conf, (const char *)flags.data, flags.len,
	        "flags", err, sizeof(err)) != RC_OK ||
	    rc_agent_conf_check(&conf, err, sizeof(err)) != RC_OK)
		rc_fatalx("%s", err);
	rc_wbuf_free(&flags);
	rc_free(lo);
	if (check) {
		rc_agent_conf_free(&conf);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	mosquitto_lib_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((rc = rc_agent_new(&conf, &running)) == RC_OK)
		rc = rc_agent_run(running);
	rc_agent_free(running);
	running = NULL;
	mosquitto_lib_cleanup();
	curl_global_cleanup();
	rc_agent_conf_free(&conf);
	return rc == RC_OK ? 0 : 1;
}
