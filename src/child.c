/*
** child.c: the processes a job starts (os.execute, io.popen). A job's
** thread blocks every asynchronous signal but the cancel signal (cancel.c),
** and a process inherits the mask of the thread that starts it: through
** system() and popen(), a child had SIGCHLD, SIGTERM and SIGPIPE blocked
** ("sleep 1 & wait" never returned, kill could not stop it). These start
** the shell with posix_spawn, giving it the mask the host had.
*/

#define _GNU_SOURCE  /* pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "child.h"


extern char **environ;

static sigset_t hostmask;
static pthread_once_t kept = PTHREAD_ONCE_INIT;


static void keep (void) {
  pthread_sigmask(SIG_BLOCK, NULL, &hostmask);
}


void jobs_keephostmask (void) {
  pthread_once(&kept, keep);
}


/* Starts "/bin/sh -c cmd" with the host's signal mask and the file actions
** 'fa' (NULL: none); returns 0, or an error number. */
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
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  err = posix_spawn(pid, "/bin/sh", fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  return err;
}


/* Waits for the child 'pid' (a signal, a cancel's, restarts the wait);
** pushes what os.execute and a popen'd file's close return. */
static int waitchild (lua_State *L, pid_t pid) {
  int st;
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
