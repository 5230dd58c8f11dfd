---@meta jobs
-- meta.lua: luajobs' types for lua-language-server (the module is C).
-- Made by tools/api.lua from doc/api.lua; do not edit.

---A job's status: waiting for a thread under `max_threads`, running, or how it ended (`dead`: it raised an error; `cancelled`: by `cancel()` or its timeout).
---@alias jobs.Status 'created'|'running'|'completed'|'dead'|'cancelled'

---The module, `require "jobs"`: the default manager, and what every state shares.
---@class jobs: jobs.Manager
---@field _VERSION string `"luajobs 0.2"`.
local jobs = {}

---Makes a pool of warm states that run tasks.
---@param options jobs.PoolOptions|jobs.RemotePoolOptions its size, init and limits; with `engine`, a remote pool
---@return jobs.Pool
function jobs.pool(options) end

---Makes a worker of remote pools (§13) in this process: a local pool fed from the engine's queues. `luajobs --worker URL` is one.
---@param options jobs.WorkerOptions the engine, its queues, its key and its states
---@return jobs.Worker
function jobs.worker(options) end

---Makes a queue of values that any job may push to and pop from.
---@param capacity integer? items it holds before push blocks (default: no bound)
---@return jobs.Channel
function jobs.channel(capacity) end

---A frame of bytes holding the values, as a job's arguments cross (§12): to store or send them. Tagged with HMAC-SHA256 when a key is given; functions need one.
---@param options jobs.FrameOptions? key, code, strip, ttl, id
---@param ... any the values
---@return string # the frame
function jobs.encode(options, ...) end

---The values of a frame that `jobs.encode` made. Its tag is checked before anything else is read; code loads only from a tagged frame.
---@param options jobs.FrameOptions? key, code, replay
---@param frame string
---@return any # the values
function jobs.decode(options, frame) end

---Sleeps; in a job, its cancel or timeout wakes it and stops the job.
---@param seconds number `math.huge`: until cancelled
function jobs.sleep(seconds) end

---Whether this job was asked to stop (false outside a job).
---@return boolean
function jobs.cancelled() end

---This job's number and name; nothing outside a job.
---@return integer? # its number
---@return string? # its name
function jobs.self() end

---Sets `job.progress` and `job.progress_message` for the job's owner; nothing outside a job.
---@param value boolean|number|string|nil a fraction in [0, 1] shows as a bar
---@param message string?
function jobs.progress(value, message) end

---The jobs finished since the last poll, in the order they finished, after running their `on_done` callbacks here.
---@return jobs.Job[]
function jobs.poll() end

---A descriptor that turns readable when a job finishes; `jobs.poll()` drains it.
---@return integer
function jobs.fd() end

---How many jobs of this state (every manager's, pools' tasks) run or wait for a thread, and how many of those are daemons.
---@return integer # unfinished jobs
---@return integer # daemons among them
function jobs.unfinished() end

---What `job:wait([seconds])` returns, waiting by calling `sleep(s)` between looks (1 ms doubling to 20 ms): for hosts whose Lua may sleep but not block (doc/hosts.md).
---@param job jobs.Job
---@param sleep fun(seconds: number) the host's sleep, in seconds
---@param seconds number? a bound on the wait
---@return boolean? # true: completed; false: dead or cancelled; nil: timeout
---@return any # its results, its error, or `"timeout"`
function jobs.await(job, sleep, seconds) end

---A manager: numbers its jobs, lists, waits for and prints them. `jobs` is one; `jobs.manager()` makes more. `m[n]` is its job number `n`; `m()` prints as `m.status()`.
---@class jobs.Manager
local jobs_Manager = {}

---Starts a job at once on a thread of its own, in a fresh state: a function (or callable) with copies of the arguments, or a string compiled here.
---@param fn function|string|table what the job runs
---@param ... any its arguments, copied; a string's: an optional env table
---@return jobs.Job
function jobs_Manager.new(fn, ...) end

---`new`, with options first.
---@param options jobs.SpawnOptions
---@param fn function|string|table
---@param ... any
---@return jobs.Job
function jobs_Manager.spawn(options, fn, ...) end

---A new manager, numbering its own jobs from 1.
---@return jobs.Manager
function jobs_Manager.manager() end

---Its jobs, in number order, their statuses read at one moment.
---@param status jobs.Status? only those
---@return jobs.Job[]
function jobs_Manager.list(status) end

---Prints its jobs grouped by status, a line each (through `io.write`).
function jobs_Manager.status() end

---The results of job `n` (nothing unless completed).
---@param n integer
---@return any # ...
function jobs_Manager.result(n) end

---Prints the traceback of job `n`, or of every dead job.
---@param n integer|jobs.Job|nil
function jobs_Manager.traceback(n) end

---Forgets finished job `n`.
---@param n integer
function jobs_Manager.remove(n) end

---Forgets every finished job.
---@return integer # how many
function jobs_Manager.flush() end

---Waits for every job.
---@param seconds number?
---@return true|nil # nil: timeout
---@return string? # `"timeout"`
function jobs_Manager.wait_all(seconds) end

---The first job of `list` to finish; without a list, the next of its jobs it has not returned yet, in the order they finished.
---@param list jobs.Job[]?
---@param seconds number?
---@return jobs.Job?
---@return string? # `"timeout"` or `"no job to wait for"`
function jobs_Manager.wait_any(list, seconds) end

---Cancels every unfinished job, those waiting first.
---@return integer # how many
function jobs_Manager.cancel_all() end

---Sets `max_threads` and `at_close`; returns the settings in force.
---@param settings jobs.Config?
---@return jobs.Config
function jobs_Manager.config(settings) end

---The line `status()` prints for a job.
---@param job jobs.Job
---@return string
function jobs_Manager.describe(job) end

---A job (or a pool's task): read its fields at any time; each read says what is true then.
---@class jobs.Job
---@field num integer Its number in its manager (a task's: in its pool).
---@field pool integer? A task's pool's number; nil for a job.
---@field name string The string, `function <source:line>`, a C function's name, or `callable table`.
---@field status jobs.Status Where it is now.
---@field done boolean Whether it has finished.
---@field daemon boolean Whether it was spawned with `daemon = true`.
---@field result any The first result of a completed job; nil before.
---@field error any The error of a dead job; `"cancelled"` or `"timeout"` for a cancelled one.
---@field progress boolean|number|string|nil What it last gave `jobs.progress`.
---@field progress_message string? The message it gave with it.
---@field output string? Its output so far, with `output = "capture"`.
---@field elapsed number Seconds it has run; final once done.
local jobs_Job = {}

---Blocks until it is done or the seconds pass; in a job, that job's cancel interrupts it.
---@param seconds number?
---@return boolean? # true: completed; false: dead or cancelled; nil: timeout
---@return any # its results, its error, or `"timeout"`
function jobs_Job:wait(seconds) end

---Asks it to stop: the stop unwinds it through its `<close>` handlers, each within its grace.
---@return boolean # whether it was unfinished
function jobs_Job:cancel() end

---`fn(job)` runs on this thread at the `jobs.poll()` that reports it (at once if one has).
---@param fn fun(job: jobs.Job)
function jobs_Job:on_done(fn) end

---All results of a completed job; nothing before.
---@return any # ...
function jobs_Job:results() end

---The traceback of a dead job, taken where it failed.
---@return string?
function jobs_Job:traceback() end

---A queue of copied values, shared by every state holding it. `#ch` is how many items it holds; two handles of one channel are `==`.
---@class jobs.Channel
local jobs_Channel = {}

---Queues copies of the values as one item; blocks while the channel is full.
---@param ... any one or more values
function jobs_Channel:push(...) end

---The values of the oldest item.
---@param seconds number? default: wait for good
---@return any # its values; nil, then `"timeout"` or `"closed"`
function jobs_Channel:pop(seconds) end

---No more pushes; pops drain what is queued, and blocked pops and pushes wake.
function jobs_Channel:close() end

---Warm states that run tasks, each a job object. `#p` is how many tasks are queued or running; `local p <close> = jobs.pool{}` closes it.
---@class jobs.Pool
local jobs_Pool = {}

---Runs a function (or a string) in one of its states; past `size`, tasks wait in line.
---@param fn function|string|table
---@param ... any its arguments, copied
---@return jobs.Job
function jobs_Pool:submit(fn, ...) end

---The table of `fn(list[i])`, in order, several items to a task.
---@param fn function
---@param list any[]
---@return any[]
function jobs_Pool:map(fn, list) end

---Waits for the tasks submitted, then ends the states.
function jobs_Pool:close() end

---A worker of remote pools: serves its queues until stopped, then leaves (its lease and name go; what it was running goes to other workers).
---@class jobs.Worker
local jobs_Worker = {}

---Serves until `w:stop()` (from a task's `on_done`, say) or a Ctrl-C, then closes.
function jobs_Worker:run() end

---Ends `run` after its current turn.
function jobs_Worker:stop() end

---Leaves at once: its running tasks are cancelled, their outcomes never sent.
function jobs_Worker:close() end

---The options of `jobs.worker`.
---@class jobs.WorkerOptions
---@field engine string The server's URL, as a remote pool's.
---@field queue string|string[] Its queue, or its queues, read in that order.
---@field key string? The key frames must be tagged with.
---@field size integer? Its states, and tasks at once (default 4).
---@field init function|string|nil As a pool's.
---@field libs string[]? As a pool's.
---@field memory_limit integer? As a pool's.
---@field timeout number? As a pool's.
---@field grace number? As a pool's.
---@field lease number? Seconds its lease lasts unrenewed (default 5).
---@field max_deliveries integer? Deliveries before a lost task is dead-lettered (default 3).
---@field name string? Its name in the engine (default: host:random).
local jobs_WorkerOptions = {}

---The options of `jobs.spawn`.
---@class jobs.SpawnOptions
---@field name string? Its name in listings.
---@field env table? Copied into the job's globals (for a string: its env).
---@field timeout number? Seconds, then it is cancelled with `"timeout"`.
---@field grace number? Seconds each `<close>` handler may run once it is stopped (default 1).
---@field memory_limit integer? Bytes its state may hold; past it the job dies with `"not enough memory"`.
---@field libs string[]? The standard libraries to open besides base and package (default all).
---@field output 'inherit'|'capture'|nil Where its `print` and `io.write` go.
---@field on_done fun(job: jobs.Job)? As `job:on_done`.
---@field daemon boolean? Cancelled, not awaited, when your state closes.
local jobs_SpawnOptions = {}

---The options of `jobs.encode` and `jobs.decode`.
---@class jobs.FrameOptions
---@field key string? The shared key: `encode` tags the frame; `decode` checks the tag and then takes tagged frames only.
---@field code 'bytecode'|'source'|'none'|nil How functions go (`encode`), or what `decode` takes: bytecode (the default), source text of chunks loaded from strings, or no functions at all.
---@field strip boolean? `encode`: bytecode without debug information (no lines in tracebacks).
---@field ttl number? `encode`: seconds after which `decode` refuses the frame.
---@field id string? `encode`: the frame's id, 16 bytes (default: random).
---@field replay (fun(id: string, expires: integer?): boolean)? `decode`: given the id (and expiry) of a frame whose tag checked, true refuses it as a replay.
local jobs_FrameOptions = {}

---The options of `jobs.pool`.
---@class jobs.PoolOptions
---@field size integer? States, and tasks at once: 1 to 1024.
---@field init function|string|nil Run once in each state before its first task; the globals it assigns are the worker's.
---@field libs string[]? As for `jobs.spawn`, for each state.
---@field memory_limit integer? As for `jobs.spawn`, for each state.
---@field timeout number? Seconds a task may run once it has a state.
---@field grace number? As for `jobs.spawn`.
---@field name string? Shown by `tostring(p)`.
local jobs_PoolOptions = {}

---The options of `jobs.pool` for a remote pool (§13): its tasks run in worker processes (`luajobs --worker`), fed through the engine.
---@class jobs.RemotePoolOptions
---@field engine string The server's URL: `redis://[user[:password]@]host[:port][/db]`.
---@field queue string The queue its workers read.
---@field key string? Tags its tasks' frames (needed for code); the workers' key.
---@field size integer? Tasks of this process in flight at once (default 16).
---@field at_most_once boolean? Never run a task twice: one whose worker is lost ends dead.
---@field timeout number? Seconds from sending a task until it is cancelled, there too.
---@field grace number? Seconds a cancel waits for the worker's word.
---@field patience number? Seconds to keep trying a server it cannot reach (default 30).
---@field ttl number? Seconds a task's frame is good for.
---@field name string? Shown by `tostring(p)`.
local jobs_RemotePoolOptions = {}

---The settings of `jobs.config`, for every manager and pool of the state.
---@class jobs.Config
---@field max_threads number? At most this many of its jobs run at once (default `math.huge`).
---@field at_close 'wait'|'cancel'|nil What closing your state does with the jobs still running.
local jobs_Config = {}

return jobs
