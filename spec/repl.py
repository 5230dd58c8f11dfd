#!/usr/bin/env python3
"""repl.py LUAJOBS: drives the luajobs prompt through a pseudo-terminal (§7).

Each check types into the prompt as a user would and waits, with a timeout,
for what the interpreter must print. Exits non-zero on the first failure.
"""

import os
import pty
import re
import select
import signal
import sys
import tempfile
import time

EXE = sys.argv[1]
TIMEOUT = 30  # seconds any single expectation may take
ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")
LINESESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")  # \r kept


class Session:
    """A luajobs process on a pseudo-terminal, and what it printed."""

    def __init__(self):
        env = dict(os.environ, TERM="dumb", INPUTRC="/dev/null")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe(EXE, [EXE], env)
        self.seen = b""  # output not yet matched
        self.raw = b""  # all output, as the terminal got it

    def read(self, deadline):
        ready, _, _ = select.select([self.fd], [], [], max(0, deadline - time.time()))
        if not ready:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # the process is gone
            return False
        self.seen += ESCAPES.sub(b"", data)
        self.raw += data
        return bool(data)

    def expect(self, pattern, timeout=TIMEOUT):
        """Waits for 'pattern' (a regex) and returns its match; drops what
        came before it."""
        deadline = time.time() + timeout
        regex = re.compile(pattern.encode())
        while True:
            m = regex.search(self.seen)
            if m:
                self.seen = self.seen[m.end():]
                return m
            if time.time() > deadline or not self.read(deadline):
                raise AssertionError("expected %r, got %r" % (pattern, self.seen))

    def screen(self):
        """The lines the terminal shows: a carriage return goes back to the
        start of the line, a backspace one back, and what follows writes
        over what was there (readline redraws a line so)."""
        lines, line, col = [], [], 0
        for ch in LINESESCAPES.sub(b"", self.raw).decode(errors="replace"):
            if ch == "\n":
                lines.append("".join(line).rstrip())
                line, col = [], 0
            elif ch == "\r":
                col = 0
            elif ch == "\b":
                col = max(0, col - 1)
            else:
                line[col:col + 1] = [ch]
                col += 1
        return lines + ["".join(line).rstrip()]

    def send(self, text):
        os.write(self.fd, text.encode())

    def line(self, text):
        self.send(text + "\n")

    def ask(self, text, pattern):
        """Types the line 'text', then waits for 'pattern'."""
        self.line(text)
        return self.expect(pattern)

    def exit_status(self, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.read(min(deadline, time.time() + 0.1))  # keep the pty drained
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("luajobs did not exit; it printed %r" % self.seen)


def announced(s, pattern):
    """Presses Enter until the notice 'pattern' appears before a prompt
    (after a blank line, when it came above a line being read: the Enter
    pressed then is the line that follows it)."""
    deadline = time.time() + TIMEOUT
    while True:
        s.line("")
        try:
            m = s.expect(pattern + r".*\n+> ", timeout=0.5)
            break
        except AssertionError:
            if time.time() > deadline:
                raise
    # An Enter pressed after the one that showed it may still be on its way:
    # a line whose answer comes after them all leaves nothing in flight (a
    # Ctrl-D typed while no line is being read would be lost).
    s.ask("print('after ' .. 'the notice')", r"after the notice\n> ")
    return m


def test_prompt_expressions_background_jobs_and_status():
    s = Session()
    s.expect(r"luajobs 0\.2\n'jobs' lists jobs.*\n> ")
    s.ask("function fib(n) if n < 2 then return n end return fib(n-1) + fib(n-2) end",
          r"\n> ")
    s.ask("n = 20", r"\n> ")
    s.ask("jobs.manager().new(function() return fib(n) end):wait()",  # the
          r"\ntrue\t6765\n(\[1\] completed .*\n)?> ")  # prompt's globals: fib, n
    s.ask("6 * 7", r"\n42\n> ")
    s.ask("for i = 1, 2 do", r"\n>> ")  # continuation lines
    s.ask("end", r"\n> ")
    s.ask("fib(n) &", r"\[1\] fib\(n\)\n")  # announced maybe at once
    announced(s, r"\[1\] completed  fib\(n\)  \d+\.\d\ds  -> 6765\n")
    s.ask("error('boom') &", r"\[2\] error\('boom'\)\n")
    announced(s, r"\[2\] dead       error\('boom'\)  \d+\.\d\ds  -- line 1: boom\n")
    s.ask("jobs", r"Completed:\n  \[1\] completed  fib\(n\)        .*\nDead:\n  \[2\] dead")
    s.expect(r"\n> ")
    s.send("\x04")  # Ctrl-D: nothing left to wait for
    assert s.exit_status() == 0


def test_an_assignment_in_the_background_sets_the_global_when_done():
    """'x = fib(20) &' means "set x when it is done" (before, it ran the
    assignment in the job's globals and left x nil with no word)."""
    s = Session()
    s.expect(r"\n> ")
    s.ask("function fib(n) if n < 2 then return n end return fib(n-1) + fib(n-2) end",
          r"\n> ")
    s.ask("x = fib(20) &", r"\[1\] x = fib\(20\)\n")
    announced(s, r"\[1\] x = 6765\n")
    s.ask("x", r"\n6765\n> ")
    s.ask("x == 6765 &", r"\[2\] x == 6765\n")  # a comparison, not an assignment
    announced(s, r"\[2\] completed  x == 6765  \d+\.\d\ds  -> true\n")
    s.send("\x04")
    assert s.exit_status() == 0


def test_an_ampersand_in_a_comment_is_no_job_and_one_ends_a_long_statement():
    """'&' in a comment or a string is code, not a job (before, the line ran
    as a job); one ending the last line of a statement of several lines
    runs the whole statement as a job (before, a syntax error)."""
    s = Session()
    s.expect(r"\n> ")
    s.ask("y = 2 -- copy & paste &", r"\n> ")
    s.ask("y", r"\n2\n> ")
    s.ask("s = 'a &'", r"\n> ")
    s.ask("s", r"\na &\n> ")
    s.ask("for i = 1, 3 do", r"\n>> ")
    s.ask("  jobs.progress(i / 3)", r"\n>> ")
    s.ask("end &", r"\[1\] for i = 1, 3 do\n")
    announced(s, r"\[1\] completed  for i = 1, 3 do\.\.\.  \d+\.\d\ds")
    s.send("\x04")
    assert s.exit_status() == 0


def test_ctrl_c_stops_the_foreground_never_a_job():
    s = Session()
    s.expect(r"\n> ")
    s.ask("jobs.sleep(math.huge) &", r"\[1\] jobs\.sleep\(math\.huge\)\n> ")
    # the loop runs: the Ctrl-C must stop it (it allocates: ThreadSanitizer
    # hands a signal over only when the thread calls into the C library)
    s.ask("io.write('loo' .. 'ping\\n') while true do local t = {} end",
          r"\nlooping\n")
    s.send("\x03")
    s.expect(r"interrupted!")
    s.expect(r"\n> ")
    s.ask("jobs[1].status", r"\nrunning\n> ")
    s.ask("x = 1 +", r"\n>> ")  # a Ctrl-C at the prompt drops this line
    s.send("\x03")
    s.expect(r"\n> ")
    s.ask("jobs[1].status", r"\nrunning\n> ")
    s.send("\x04")  # Ctrl-D: waits for the running job...
    s.expect(r"waiting for 1 job \(Ctrl-C cancels\)\n")
    s.send("\x03")  # ...until a Ctrl-C cancels it
    s.expect(r"cancelling them\n")
    assert s.exit_status() == 0


def test_ctrl_c_stops_a_wait_of_the_module():
    s = Session()
    s.expect(r"\n> ")
    s.ask("j = jobs.new('while true do end') ch = jobs.channel()", r"\n> ")
    for wait in ("j:wait()", "jobs.sleep(600)", "ch:pop()", "ch:pop(600)",
                 "jobs.wait_all()", "jobs.wait_any()", "jobs.wait_any({ j })"):
        s.ask("io.write('wait' .. 'ing\\n') " + wait, r"\nwaiting\n")
        start = time.time()
        s.send("\x03")
        s.expect(r"interrupted!")
        s.expect(r"\n> ")
        assert time.time() - start < 5, wait
        s.ask("j.status", r"\nrunning\n> ")  # the job runs on
    s.ask("j:cancel() print(j:wait())", r"\nfalse\tcancelled\n")
    s.expect(r"\n> ")
    s.send("\x04")
    assert s.exit_status() == 0


def gate_path():
    """A path where no file is yet: a job's gate, opened by creating it."""
    fd, path = tempfile.mkstemp(prefix="luajobs-gate-")
    os.close(fd)
    os.remove(path)
    return path


def gated_job(gate):
    """A line starting a job that writes once the file 'gate' exists."""
    return ("repeat local f = io.open(%r) until f or jobs.sleep(0.01) "
            "io.write('job ran to its end\\n') &" % gate)


def test_a_notice_and_a_jobs_output_come_at_once_above_the_line_typed():
    """A job that ends while a line is typed is said at once, without an
    Enter, and its output goes above that line, which is drawn again below
    (before, notices waited for the next prompt and output landed inside
    the line)."""
    gate, again = gate_path(), gate_path()
    s = Session()
    s.expect(r"\n> ")
    s.ask("repeat local f = io.open(%r) until f or jobs.sleep(0.01) "
          "io.write('from the job\\n') "
          "repeat local f = io.open(%r) until f or jobs.sleep(0.01) "
          "return 7 &" % (gate, again), r"\[1\] .*\n> ")
    s.send("2 *")
    s.expect(r"2 \*")
    open(gate, "w").close()  # the job writes while "2 *" is typed
    s.expect(r"from the job\n> 2 \*")
    open(again, "w").close()  # and ends
    s.expect(r"\[1\] completed  repeat .* -> 7\n> 2 \*")
    s.ask(" 3", r"\n6\n> ")
    shown = s.screen()
    assert "from the job" in shown, shown  # a line of its own
    assert any(re.match(r"\[1\] completed  repeat .* -> 7$", l) for l in shown), shown
    assert "> 2 * 3" in shown, shown
    s.send("\x04")
    assert s.exit_status() == 0
    os.remove(gate)
    os.remove(again)


def test_jobs_that_end_together_are_said_a_line_per_status():
    """More than 5 jobs ended since the last look: "11 completed: [1]-[4],
    [6]-[12]" (before, a line each)."""
    s = Session()
    s.expect(r"\n> ")
    s.ask("for i = 1, 12 do jobs.new(i == 5 and 'error(1)' or 'return 1') end "
          "jobs.wait_all()", r"\n11 completed: \[1\]-\[4\], \[6\]-\[12\]\n"
          r"1 dead: \[5\]\n> ")
    s.ask("p = jobs.pool{ size = 2 } ts = {} for i = 1, 8 do ts[i] = "
          "p:submit('return 1') end for _, t in ipairs(ts) do t:wait() end",
          r"\n8 completed: \[p1:1\]-\[p1:8\]\n> ")
    s.ask("jobs.new('return 1'):wait()", r"\ntrue\t1\n\[13\] completed .*\n> ")
    s.send("\x04")
    assert s.exit_status() == 0


def test_end_of_input_waits_for_a_running_job():
    gate = gate_path()
    s = Session()
    s.expect(r"\n> ")
    s.ask(gated_job(gate), r"\[1\] .*\n> ")
    s.send("\x04")
    s.expect(r"waiting for 1 job \(Ctrl-C cancels\)\n")
    open(gate, "w").close()  # the job ends only once the wait is said
    s.expect(r"job ran to its end\n")
    assert s.exit_status() == 0
    os.remove(gate)


def test_end_of_input_waits_for_pool_tasks_and_ctrl_c_cancels_them():
    s = Session()
    s.expect(r"\n> ")
    s.ask("p = jobs.pool{ size = 1 } t = p:submit('while true do end')", r"\n> ")
    s.send("\x04")  # Ctrl-D: waits for the task, saying so...
    s.expect(r"waiting for 1 job \(Ctrl-C cancels\)\n")
    s.send("\x03")  # ...until a Ctrl-C cancels it
    s.expect(r"cancelling them\n")
    assert s.exit_status() == 0


def test_end_of_input_waits_for_jobs_not_daemons():
    s = Session()
    s.expect(r"\n> ")
    s.ask("d = jobs.spawn({ daemon = true }, 'jobs.sleep(math.huge)')", r"\n> ")
    s.ask("os.exit(5) &", r"\[2\] os\.exit\(5\)\n")  # ends the job, not luajobs
    announced(s, r"\[2\] dead       os\.exit\(5\)  \d+\.\d\ds  -- os\.exit\(5\) ended the job\n")
    gate = gate_path()
    s.ask(gated_job(gate), r"\[3\] .*\n> ")
    s.send("\x04")  # waits for job 3, not for the daemon
    s.expect(r"waiting for 1 job \(Ctrl-C cancels\)\n")
    open(gate, "w").close()
    s.expect(r"job ran to its end\n")
    assert s.exit_status() == 0
    os.remove(gate)


if __name__ == "__main__":
    for name, test in sorted(globals().items()):
        if name.startswith("test_"):
            print(name, flush=True)
            test()
    print("all REPL checks passed")
