/*
** child.h: the processes a job starts (os.execute, io.popen): they get the
** signal mask of the host, not that of the job's thread.
*/
#ifndef child_h
#define child_h

#include "lua.h"

/* Keeps the calling thread's signal mask as the host's: the first thread
** to open the module, once for the process. */
void jobs_keephostmask (void);

/* Gives the calling thread the host's signal mask (a job's thread, as the
** child of its fork). */
void jobs_sethostmask (void);

int jobs_execute (lua_State *L);  /* os.execute of a job */
int jobs_popen (lua_State *L);  /* io.popen of a job */

#endif
