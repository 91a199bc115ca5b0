/* Configuration of every program, the same way: a table of options, each a
 * long flag (--brokers ADDR), an environment variable for deployments
 * (AIJ_BROKERS) and a default. The flag wins over the variable, the variable
 * over the default. */
#ifndef AIJ_CONF_H
#define AIJ_CONF_H

#include <stdio.h>

#include "exit_codes.h"

struct conf_opt {
	const char *name;   /* flag without "--"; NULL ends the table */
	const char *env;    /* environment variable, or NULL */
	const char *def;    /* default, or NULL for none */
	const char *arg;    /* placeholder shown in the usage ("FILE"); NULL: a switch */
	const char *help;
	const char **value; /* out: the value in force, or NULL; a switch given is "1" */
};

/* The --log-level entry every program has (set it with log_level_set_name()). */
#define CONF_OPT_LOG_LEVEL(value) \
	{ "log-level", "AIJ_LOG_LEVEL", "info", "LEVEL", "error, warn, info or debug", (value) }

/* Fills *opt->value of each option from argv, then the environment, then the
 * defaults. Values point into argv, environ or the table: nothing to free.
 * Returns 0; 1 when --help was given (the caller prints conf_usage and exits 0);
 * -1 on an unknown flag, a missing value or a positional argument (errstr). */
int conf_parse(const struct conf_opt *opts, int argc, char **argv,
	       char *errstr, size_t errstr_size);

/* What every program's start shares: its option table, its --help, its own
 * checks of the values. */
struct conf_program {
	const char *name;              /* "aij-indexer", in the usage */
	const char *summary;           /* what it does (and its exit codes) */
	const struct conf_opt *opts;   /* with a CONF_OPT_LOG_LEVEL entry */
	/* The program's checks once every value is in force (required options,
	 * numbers, ...), or NULL: 0, or -1 with errstr. */
	int (*check)(void *arg, char *errstr, size_t errstr_size);
	void *arg;
};

/* The start of every main: parses argv (conf_parse), prints the usage on
 * stdout for --help, sets the log level from the "log-level" option, then
 * runs p->check. Returns 0 to go on, or -1 with *exit_code for main to
 * return: EXIT_DONE after --help, EXIT_USAGE on bad usage (logged). */
int conf_program_parse(const struct conf_program *p, int argc, char **argv,
		       int *exit_code);

/* Prints "usage: PROG [options]", the summary, then one line per option. */
void conf_usage(FILE *out, const char *prog, const char *summary,
		const struct conf_opt *opts);

/* Parses a decimal integer within [min, max]; returns 0 or -1 (errstr names
 * the option). */
int conf_long(const char *name, const char *text, long min, long max,
	      long *out, char *errstr, size_t errstr_size);

/* True for "1", "true", "yes", "on" (any case). */
int conf_true(const char *text);

/* Parses a switch's value: "on", "1", "true", "yes" give 1, "off", "0",
 * "false", "no" give 0 (any case). Returns 0, or -1 (errstr names the
 * option). */
int conf_on_off(const char *name, const char *text, int *out, char *errstr,
		size_t errstr_size);

#endif
