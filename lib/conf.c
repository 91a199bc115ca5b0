#include "conf.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static size_t conf_count(const struct conf_opt *opts)
{
	size_t n = 0;
	while (opts[n].name)
		n++;
	return n;
}

int conf_parse(const struct conf_opt *opts, int argc, char **argv,
	       char *errstr, size_t errstr_size)
{
	size_t n = conf_count(opts);
	struct option *longopts = calloc(n + 2, sizeof(*longopts));
	if (!longopts) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		longopts[i].name = opts[i].name;
		longopts[i].has_arg = opts[i].arg ? required_argument : no_argument;
		longopts[i].val = 0x100 + (int)i;
		*opts[i].value = NULL;
	}
	longopts[n].name = "help";
	longopts[n].val = 'h';

	int rc = 0;
	optind = 1;
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, "h", longopts, NULL);
		if (c == -1)
			break;
		if (c == 'h') {
			rc = 1;
			goto out;
		}
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			if (c == ':' || (optopt >= 0x100 && optopt < 0x100 + (int)n))
				snprintf(errstr, errstr_size, "option '%s' needs a value", bad);
			else
				snprintf(errstr, errstr_size, "unknown option '%s' (see --help)", bad);
			rc = -1;
			goto out;
		}
		const struct conf_opt *o = &opts[c - 0x100];
		*o->value = o->arg ? optarg : "1";
	}
	if (optind < argc) {
		snprintf(errstr, errstr_size, "unexpected argument '%s' (see --help)",
			 argv[optind]);
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (*opts[i].value)
			continue;
		const char *env = opts[i].env ? getenv(opts[i].env) : NULL;
		*opts[i].value = (env && *env) ? env : opts[i].def;
	}
out:
	free(longopts);
	return rc;
}

int conf_program_parse(const struct conf_program *p, int argc, char **argv,
		       int *exit_code)
{
	char errstr[1024];
	int parsed = conf_parse(p->opts, argc, argv, errstr, sizeof(errstr));
	if (parsed == 1) {
		conf_usage(stdout, p->name, p->summary, p->opts);
		*exit_code = EXIT_DONE;
		return -1;
	}
	for (const struct conf_opt *o = p->opts; parsed == 0 && o->name; o++)
		if (strcmp(o->name, "log-level") == 0 &&
		    log_level_set_name(*o->value, errstr, sizeof(errstr)))
			parsed = -1;
	if (parsed == 0 && p->check && p->check(p->arg, errstr, sizeof(errstr)))
		parsed = -1;
	if (parsed < 0) {
		log_error("%s", errstr);
		*exit_code = EXIT_USAGE;
		return -1;
	}
	return 0;
}

void conf_usage(FILE *out, const char *prog, const char *summary,
		const struct conf_opt *opts)
{
	fprintf(out, "usage: %s [options]\n%s\n\noptions:\n", prog, summary);
	for (const struct conf_opt *o = opts; o->name; o++) {
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(out, "  %-26s %s", flag, o->help);
		if (o->env)
			fprintf(out, " [env %s]", o->env);
		if (o->def)
			fprintf(out, " (default: %s)", o->def);
		fputc('\n', out);
	}
	fprintf(out, "  %-26s %s\n", "--help", "show this help");
}

int conf_long(const char *name, const char *text, long min, long max,
	      long *out, char *errstr, size_t errstr_size)
{
	char *end;
	errno = 0;
	long v = text ? strtol(text, &end, 10) : 0;
	if (!text || !*text || *end || errno || v < min || v > max) {
		snprintf(errstr, errstr_size,
			 "option '--%s' wants an integer from %ld to %ld, not '%s'",
			 name, min, max, text ? text : "");
		return -1;
	}
	*out = v;
	return 0;
}

int conf_true(const char *text)
{
	return text && (strcmp(text, "1") == 0 || strcasecmp(text, "true") == 0 ||
			strcasecmp(text, "yes") == 0 || strcasecmp(text, "on") == 0);
}

int conf_on_off(const char *name, const char *text, int *out, char *errstr,
		size_t errstr_size)
{
	if (conf_true(text)) {
		*out = 1;
		return 0;
	}
	if (text && (strcmp(text, "0") == 0 || strcasecmp(text, "false") == 0 ||
		     strcasecmp(text, "no") == 0 || strcasecmp(text, "off") == 0)) {
		*out = 0;
		return 0;
	}
	snprintf(errstr, errstr_size, "option '--%s' wants on or off, not '%s'", name,
		 text ? text : "");
	return -1;
}
