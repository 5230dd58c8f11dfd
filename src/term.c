/*
** term.c: the prompt's terminal: stdout and stderr as streams that, while
** a line is typed, hold what other threads write, to be written above it.
*/

#define _GNU_SOURCE  /* fopencookie */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "term.h"


#define HELDMAX	(64 * 1024)  /* a writer waits past this much held: a pipe's
                                worth, so a chatty job cannot grow it */


typedef struct Held {
  int fd;  /* where its stream writes */
  char *s;  /* output held while a line is typed */
  size_t len, size;
} Held;


/* The process's terminal is one: this is its state, shared by every thread
** that writes to stdout or stderr, under 'mu'. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER;  /* 'held' emptied */
static int holding = 0;  /* a line is being typed */
static int wake[2] = {-1, -1};  /* a pipe, readable while output is held */
static Held held[2] = {{1, NULL, 0, 0}, {2, NULL, 0, 0}};


static void writeall (int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;  /* the terminal is gone: as a closed stdout drops it */
    s += w;
    n -= (size_t)w;
  }
}


/* Appends to 'h' (under 'mu'); false if out of memory. */
static int hold (Held *h, const char *s, size_t n) {
  if (h->len + n > h->size) {
    size_t size = (h->len + n) * 2;
    char *grown = (char *)realloc(h->s, size);
    if (grown == NULL)
      return 0;
    h->s = grown;
    h->size = size;
  }
  memcpy(h->s + h->len, s, n);
  h->len += n;
  return 1;
}


/* The streams' write: through to the terminal, or held while a line is
** typed (and the pipe told, once). Out of memory, it writes through. */
static ssize_t streamwrite (void *cookie, const char *s, size_t n) {
  Held *h = (Held *)cookie;
  pthread_mutex_lock(&mu);
  while (holding && h->len > 0 && h->len + n > HELDMAX)
    pthread_cond_wait(&drained, &mu);
  if (holding && held[0].len + held[1].len == 0 && n > 0 &&
      write(wake[1], "", 1) < 0) {}  /* full: readable all the same */
  if (!holding || !hold(h, s, n))
    writeall(h->fd, s, n);
  pthread_mutex_unlock(&mu);
  return (ssize_t)n;
}


static FILE *openstream (Held *h, int mode) {
  cookie_io_functions_t io = { NULL, streamwrite, NULL, NULL };
  FILE *f = fopencookie(h, "w", io);
  if (f != NULL)
    setvbuf(f, NULL, mode, BUFSIZ);
  return f;
}


FILE *term_open (void) {
  FILE *out, *err, *tty;
  if (!isatty(1) || pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0)
    return NULL;
  out = openstream(&held[0], _IOLBF);
  err = isatty(2) ? openstream(&held[1], _IONBF) : stderr;
  tty = fdopen(dup(1), "w");
  if (out == NULL || err == NULL || tty == NULL) {
    if (out != NULL) fclose(out);
    if (err != NULL && err != stderr) fclose(err);
    if (tty != NULL) fclose(tty);
    close(wake[0]);
    close(wake[1]);
    wake[0] = wake[1] = -1;
    return NULL;
  }
  fflush(stdout);
  stdout = out;
  stderr = err;
  return tty;
}


int term_fd (void) {
  return wake[0];
}


int term_hold (int on) {
  char drain[64];
  int midline = 0, i;
  pthread_mutex_lock(&mu);
  holding = on;
  for (i = 0; i < 2; i++) {
    Held *h = &held[i];
    if (h->len > 0) {
      writeall(h->fd, h->s, h->len);
      midline = h->s[h->len - 1] != '\n';
      h->len = 0;
    }
  }
  while (read(wake[0], drain, sizeof(drain)) > 0) {}
  pthread_cond_broadcast(&drained);
  pthread_mutex_unlock(&mu);
  return midline;
}
