/*
** jobsconf.h: luajobs' limits and internal names, one place to tune them.
** Each is an overridable default (-DNAME=value) with the reason for its value.
*/
#ifndef jobsconf_h
#define jobsconf_h

/* Deepest nesting a copy follows (tables, metatables, upvalues). Far past any
** data literal, and bounded so a copy never exhausts a thread's C stack
** (about 200 bytes of C stack a level). */
#if !defined(JOBS_MAXDEPTH)
#define JOBS_MAXDEPTH	1000
#endif

/* Steps of a path shown in a copy error before it is cut with "...". */
#if !defined(JOBS_MAXPATH)
#define JOBS_MAXPATH	12
#endif

/* Finished jobs listed for jobs.poll() before the first check for those
** nobody refers to; each check then waits for the list to double, so the
** checks cost a constant per job however many are kept. */
#if !defined(JOBS_PRUNEMIN)
#define JOBS_PRUNEMIN	64
#endif

/* Characters of a job's name that tostring(job) shows. */
#if !defined(JOBS_SHORTNAME)
#define JOBS_SHORTNAME	40
#endif

/* Lua instructions between a running job's checks for a cancel or its
** timeout: a check costs a clock read, and 1000 instructions take about a
** microsecond, so a cancel lands within microseconds for ~0.1% overhead. */
#if !defined(JOBS_HOOKCOUNT)
#define JOBS_HOOKCOUNT	1000
#endif

/* Metatables of job objects, managers and a state's hub, in its registry. */
#define JOBS_JOB	"jobs.job"
#define JOBS_MANAGER	"jobs.manager"
#define JOBS_HUB	"jobs.hub"
#define JOBS_CHANNEL	"jobs.channel"


#endif
