/*
** jobsconf.h: luajobs' limits and internal names, one place to tune them.
** Each is an overridable default (-DNAME=value) with the reason for its value.
*/
#ifndef jobsconf_h
#define jobsconf_h

/* Deepest nesting a copy follows (tables, metatables, upvalues). Far past any
** data literal, and bounded so a copy never exhausts a thread's C stack: a
** level takes 240 bytes of it at most (copyvalue and copypair, by gcc's
** -fstack-usage at -O2; 624 under ASan), 240 KiB for the deepest copy, half
** of a job's thread's stack. */
#if !defined(JOBS_MAXDEPTH)
#define JOBS_MAXDEPTH	1000
#endif

/* Bytes of C stack a walk that recurses (a copy, reading a function's
** globals) leaves free below its deepest level: what one level does past
** the check (an allocation, a function's dump and load, the error's
** message) fits with room to spare. A 128 KiB thread stack still copies
** about 300 levels (sanitizers' frames are about three times bigger). */
#if !defined(JOBS_STACKRESERVE)
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define JOBS_STACKRESERVE	(64 << 10)
#else
#define JOBS_STACKRESERVE	(24 << 10)
#endif
#endif

/* Levels from which such a walk looks at the C stack left: reading the
** bounds costs microseconds (cstack.h), and fewer levels fit in any
** stack a thread that runs Lua has. */
#if !defined(JOBS_STACKCHECK)
#define JOBS_STACKCHECK	32
#endif

/* Steps of a path shown in a copy error before it is cut with "...". */
#if !defined(JOBS_MAXPATH)
#define JOBS_MAXPATH	12
#endif

/* Bytes that make a finished job's state big: its owner copies the outcome
** with its own collector paused, and an idle thread closes it. Copying or
** closing a megabyte of objects takes a millisecond or more, a hundred
** wake-ups; for a small state, the collector's restart (which steps it at
** once) and the handoff cost more than they save. */
#if !defined(JOBS_BIGSTATE)
#define JOBS_BIGSTATE	(1 << 20)
#endif

/* Bytes of the chunk that a job's state takes its small blocks from while
** it lasts, with no lock, header or search: creating and closing a state is
** a few hundred small blocks, about 9 KiB for a job that does little. A
** state keeps its chunk until it closes, so what a state leaves unused
** costs as long as it lives (1,000 jobs at once: 64 KiB chunks took 45 MiB
** more than malloc alone, 8 KiB ones 1.4 MiB less); past it, blocks come
** from malloc. */
#if !defined(JOBS_CHUNKSIZE)
#define JOBS_CHUNKSIZE	(8 << 10)
#endif

/* Bytes of the biggest block the chunk serves (a multiple of 16): tables,
** short strings, closures, small arrays. */
#if !defined(JOBS_SMALLBLOCK)
#define JOBS_SMALLBLOCK	512
#endif

/* States of finished jobs waiting for a pool thread to close them before
** one is woken for it: a thread whose job ends closes them as the owner
** goes on, so that one job after another costs no extra wake-up. */
#if !defined(JOBS_SPENTMAX)
#define JOBS_SPENTMAX	16
#endif

/* States of finished jobs waiting to be closed past which a new job waits
** for half of them to be (worker.c 'throttle'): about 4 MiB of small
** states, whatever the rate at which a script makes jobs. */
#if !defined(JOBS_SPENTBOUND)
#define JOBS_SPENTBOUND	256
#endif

/* KiB of C memory job objects keep alive (their records, and the states of
** finished jobs whose results wait to be read) past which a state's
** collector collects, at the least (job.c 'tellcollector'). */
#if !defined(JOBS_GCBASE)
#define JOBS_GCBASE	1024
#endif

/* Seconds a job:wait() polls the job's status before it sleeps: waking a
** sleeping thread costs 10 to 100 microseconds (more on a virtual
** machine), often more than what is left of a job that is ending. */
#if !defined(JOBS_SPINTIME)
#define JOBS_SPINTIME	50e-6
#endif

/* Seconds between two looks for jobs_interrupt(1) by a wait on a thread that
** is not a job's: a condition variable cannot be signalled from a signal
** handler, so such a wait sleeps in slices this long. */
#if !defined(JOBS_BREAKTIME)
#define JOBS_BREAKTIME	0.05
#endif

/* Seconds a thread whose job ended waits for the next before it exits:
** starting a job on a waiting thread costs a wake-up (tens of
** microseconds), a new thread ten times that. */
#if !defined(JOBS_IDLETIME)
#define JOBS_IDLETIME	1.0
#endif

/* Threads kept waiting for a job at most: one whose job ends past these
** exits at once, so a burst of jobs leaves no crowd of idle threads (and
** their stacks) behind. */
#if !defined(JOBS_IDLEMAX)
#define JOBS_IDLEMAX	16
#endif

/* Bytes of C stack of a job's thread. Lua stops C recursion at about 200
** calls (LUAI_MAXCCALLS) and a copy at JOBS_MAXDEPTH levels, both far
** within it (errors_spec checks both on a job's thread); the default 8 MiB
** would cost each blocked job 8 MiB of address space. Sanitizers need
** several times more stack for the same work. */
#if !defined(JOBS_STACKSIZE)
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define JOBS_STACKSIZE	(4 << 20)
#else
#define JOBS_STACKSIZE	(512 << 10)
#endif
#endif

/* Functions a state of a pool keeps loaded (by identity in the owner's
** state) before it drops those the owner let go of (tasks.c
** 'pushfunction'): a pool fed a new closure each time holds about this
** many. */
#if !defined(JOBS_POOLFUNCTIONS)
#define JOBS_POOLFUNCTIONS	256
#endif

/* Arguments and results of a pool's task that travel in its record, not
** through the pool's store, when they are nil, booleans, numbers or
** strings shorter than JOBS_SMALLSTRING: a trivial task then takes the
** store's lock only to find its function. */
#if !defined(JOBS_SMALLMAX)
#define JOBS_SMALLMAX	3
#endif

#if !defined(JOBS_SMALLSTRING)
#define JOBS_SMALLSTRING	24
#endif

/* Bytes of an error message raised past a pool's lock (a copy's path and
** what to do fit with room to spare). */
#if !defined(JOBS_MSGMAX)
#define JOBS_MSGMAX	1024
#endif

/* Characters of a job's name that tostring(job) shows. */
#if !defined(JOBS_SHORTNAME)
#define JOBS_SHORTNAME	40
#endif

/* The signal a cancel sends to the thread of a running job, whose handler
** arms a hook there (cancel.c); 0: the highest real-time signal with no
** handler when the module first opens. ThreadSanitizer holds back
** asynchronous signals until the thread next calls into libc, which a job
** spinning in Lua code never does; it delivers SIGSYS at once. */
#if !defined(JOBS_CANCELSIGNAL)
#if defined(__SANITIZE_THREAD__)
#define JOBS_CANCELSIGNAL	SIGSYS
#else
#define JOBS_CANCELSIGNAL	0
#endif
#endif

/* The signals, in order of choice, of which the first with no handler
** then carries a cancel the cancel signal cannot: a real-time signal is
** refused once the user's queue of pending signals is full
** (RLIMIT_SIGPENDING, 'ulimit -i'), a standard one never is (one pending
** is kept, with no data). SIGSTKFLT is unused on Linux; SIGURG and SIGPWR
** go to a host that asks for them. Empty: none. */
#if !defined(JOBS_BACKUPSIGNALS)
#if defined(SIGSTKFLT)
#define JOBS_BACKUPSIGNALS	SIGSTKFLT, SIGURG, SIGPWR
#else
#define JOBS_BACKUPSIGNALS	SIGURG
#endif
#endif

/* Seconds a <close> handler of a stopping job (cancelled, timed out, or
** in os.exit) runs before a further stop ends it and the next one runs:
** room to let go of what it holds, and a bound on one that never ends.
** The option 'grace' of jobs.spawn and jobs.pool sets another. */
#if !defined(JOBS_GRACE)
#define JOBS_GRACE	1.0
#endif

/* How many levels down from where a stop is raised it looks for the xpcall
** whose message handler must not see it (cancel.c): the stack is walked a
** level at a time from the top, at a cost of the square of the levels. An
** xpcall deeper than that sees the stop in its handler, as plain Lua would
** call it. */
#if !defined(JOBS_HANDLERLEVELS)
#define JOBS_HANDLERLEVELS	1000
#endif

/* Seconds at least between the stops a job gets with a grace of zero:
** each stop is a signal, and a thread flooded with them makes no progress
** (the clock would fire for ever). */
#if !defined(JOBS_GRACEMIN)
#define JOBS_GRACEMIN	1e-3
#endif

/* Metatables of job objects, managers and a state's hub, in its registry. */
#define JOBS_JOB	"jobs.job"
#define JOBS_MANAGER	"jobs.manager"
#define JOBS_HUB	"jobs.hub"
#define JOBS_CHANNEL	"jobs.channel"


#endif
