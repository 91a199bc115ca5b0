/* The exit status of every program (SPEC §7, the guards of lib/guard.h):
 * the one place that names them. */
#ifndef AIJ_EXIT_CODES_H
#define AIJ_EXIT_CODES_H

enum exit_code {
	EXIT_DONE = 0,       /* done (a run published, or the same file again) */
	EXIT_RUNTIME = 1,    /* any other failure */
	EXIT_USAGE = 2,      /* bad usage, or an unreadable input */
	EXIT_INCOMPLETE = 3, /* a run with lines that never got an outcome */
	EXIT_HELD = 4,       /* a guard held the run or the export */
};

#endif
