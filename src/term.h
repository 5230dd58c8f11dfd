/*
** term.h: the prompt's terminal (term.c), for the luajobs interpreter:
** output held while a line is typed.
*/

#ifndef luajobs_term_h
#define luajobs_term_h

#include <stdio.h>

/* Replaces 'stdout' and 'stderr' with streams that write through, or hold
** what is written while a line is typed; call before any other thread
** runs. Returns the terminal's own stream (for readline), or NULL (then
** nothing changed). */
FILE *term_open (void);

/* A descriptor readable while output is held, or -1. */
int term_fd (void);

/* 1: from now on output is held; 0: held output is written, and output
** writes through again. Returns whether the last byte written by 0 was
** inside a line (not a newline). Main thread only. */
int term_hold (int on);

#endif
