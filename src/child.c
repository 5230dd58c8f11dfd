/*
** child.c: the processes a job starts (os.execute, io.popen). A job's
** thread blocks every asynchronous signal but the cancel signal (cancel.c),
** and a process inherits the mask of the thread that starts it: through
** system() and popen(), a child had SIGCHLD, SIGTERM and SIGPIPE blocked
** ("sleep 1 & wait" never returned, kill could not stop it). These start
** the shell with posix_spawn, giving it the mask the host had. A job
** cancelled while it waits for its child sends the child's process group
** SIGTERM, then waits for it to end.
*/

#define _GNU_SOURCE  /* pipe2, ppoll */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "cancel.h"
#include "child.h"
#include "record.h"


extern char **environ;

static sigset_t hostmask;
static pthread_once_t kept = PTHREAD_ONCE_INIT;


static void keep (void) {
  pthread_sigmask(SIG_BLOCK, NULL, &hostmask);
}


void jobs_sethostmask (void) {
  pthread_sigmask(SIG_SETMASK, &hostmask, NULL);
}


void jobs_keephostmask (void) {
  pthread_once(&kept, keep);
}


/* Starts "/bin/sh -c cmd" with the host's signal mask and the file actions
** 'fa' (NULL: none), in a process group of its own, whose id is its pid:
** a Ctrl-C at the terminal reaches it no more than it reaches the job, and
** a cancel stops the shell and what it started. Returns 0, or an error
** number. */
static int spawnshell (const char *cmd, posix_spawn_file_actions_t *fa,
                       pid_t *pid) {
  char *argv[4];
  posix_spawnattr_t attr;
  int err;
  argv[0] = (char *)"sh";
  argv[1] = (char *)"-c";
  argv[2] = (char *)cmd;
  argv[3] = NULL;
  if ((err = posix_spawnattr_init(&attr)) != 0)
    return err;
  posix_spawnattr_setsigmask(&attr, &hostmask);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                  POSIX_SPAWN_SETPGROUP);
  err = posix_spawn(pid, "/bin/sh", fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  return err;
}


/*
** Waits until the child 'pid' ends or job 'self' must stop; then, if it
** must, sends the child's process group SIGTERM. In a job stopping already (a <close>
** handler, a finalizer as its state closes), it waits the job's grace at
** most. A cancel's signal interrupts ppoll (never restarted), and it waits
** blocked till then, so that one sent before the wait began interrupts it
** too. Without a pidfd (Linux before 5.3), the child is waited for as it
** is.
*/
static void awaitorstop (Job *self, pid_t pid) {
  struct pollfd p;
  struct timespec grace, *limit = NULL;
  sigset_t cancels, old;
  int ready = 0;
  p.fd = (int)syscall(SYS_pidfd_open, pid, 0);
  p.events = POLLIN;
  if (p.fd < 0)
    return;
  if (jobs_stopping(self) && self->opt.grace >= 0) {
    grace.tv_sec = (time_t)self->opt.grace;
    grace.tv_nsec = (long)((self->opt.grace - (double)grace.tv_sec) * 1e9);
    limit = &grace;
  }
  jobs_cancelsignals(&cancels);
  pthread_sigmask(SIG_BLOCK, &cancels, &old);
  while (!jobs_pending(self) && (ready = ppoll(&p, 1, limit, &old)) < 0 &&
         errno == EINTR) {}
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (ready == 0 || jobs_pending(self))  /* stopping, or past its grace */
    kill(-pid, SIGTERM);
  close(p.fd);
}


/* Waits for the child 'pid' (a signal, a cancel's, restarts the wait);
** pushes what os.execute and a popen'd file's close return. */
static int waitchild (lua_State *L, pid_t pid) {
  int st;
  awaitorstop(jobs_self(L), pid);
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return luaL_fileresult(L, 0, NULL);
  errno = 0;  /* a status, not a failure */
  return luaL_execresult(L, st);
}


int jobs_execute (lua_State *L) {
  const char *cmd = luaL_optstring(L, 1, NULL);
  pid_t pid;
  int err;
  if (cmd == NULL) {  /* as system(NULL): is there a shell? */
    lua_pushboolean(L, access("/bin/sh", X_OK) == 0);
    return 1;
  }
  if ((err = spawnshell(cmd, NULL, &pid)) != 0) {
    errno = err;
    return luaL_fileresult(L, 0, NULL);
  }
  return waitchild(L, pid);
}


/* A file of io.popen: the io library's stream, then the child's pid. */
typedef struct Child {
  luaL_Stream s;
  pid_t pid;
} Child;


static int closechild (lua_State *L) {
  Child *c = (Child *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
  fclose(c->s.f);
  return waitchild(L, c->pid);
}


int jobs_popen (lua_State *L) {
  const char *cmd = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  int reads = (mode[0] == 'r'), fd[2], err;
  posix_spawn_file_actions_t fa;
  Child *c;
  luaL_argcheck(L, (reads || mode[0] == 'w') && mode[1] == '\0', 2,
                "invalid mode");
  c = (Child *)lua_newuserdatauv(L, sizeof(Child), 0);
  c->s.f = NULL;
  c->s.closef = NULL;  /* a closed file, until it opens */
  luaL_setmetatable(L, LUA_FILEHANDLE);
  if (pipe2(fd, O_CLOEXEC) != 0)  /* no end of it goes past an exec */
    return luaL_fileresult(L, 0, cmd);
  if ((err = posix_spawn_file_actions_init(&fa)) == 0) {
    /* the child's end becomes its stdout or stdin, open across exec */
    posix_spawn_file_actions_adddup2(&fa, fd[reads], reads);
    err = spawnshell(cmd, &fa, &c->pid);
    posix_spawn_file_actions_destroy(&fa);
  }
  close(fd[reads]);
  if (err == 0 && (c->s.f = fdopen(fd[!reads], mode)) != NULL) {
    c->s.closef = closechild;
    return 1;
  }
  close(fd[!reads]);
  if (err != 0) {
    errno = err;
    return luaL_fileresult(L, 0, cmd);
  }
  err = errno;
  waitpid(c->pid, NULL, 0);  /* it has no pipe left: it ends */
  errno = err;
  return luaL_fileresult(L, 0, cmd);
}
