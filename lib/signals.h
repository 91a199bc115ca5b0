/* Stop requests: SIGTERM and SIGINT only set a flag that the loops poll;
 * a second SIGINT exits at once for a user who insists. */
#ifndef AIJ_SIGNALS_H
#define AIJ_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t signals_stop;

/* Installs the handlers for SIGTERM and SIGINT, and ignores SIGPIPE. */
void signals_install(void);

#endif
