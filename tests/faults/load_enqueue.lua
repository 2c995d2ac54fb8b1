-- wrk script of the load test (tests/faults/test_load.py): POST job starts with a bearer token.
-- Environment: LOAD_TOKEN (an API token), LOAD_OUT (a folder for the answers), LOAD_LIMIT
-- (requests per wrk thread; the thread stops after that many answers).
local token = os.getenv("LOAD_TOKEN")
local out_dir = os.getenv("LOAD_OUT")
local limit = tonumber(os.getenv("LOAD_LIMIT") or "1000")
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"payload": {"ms": 0}}'
  answers = 0
  out = io.open(out_dir .. "/answers-" .. id .. ".txt", "w")
end

-- One line per answer: the status and the job id it accepted (or "-").
function response(status, headers, body)
  answers = answers + 1
  local job_id = body and body:match('"job_id":%s*(%d+)') or "-"
  out:write(status, " ", job_id, "\n")
  out:flush()
  if answers >= limit then
    wrk.thread:stop()
  end
end

-- The figures as one JSON line: latencies in microseconds.
function done(summary, latency, requests)
  io.write(string.format(
    'WRK_SUMMARY {"requests": %d, "duration_us": %d, "non_2xx": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d, "p50": %d, "p90": %d, "p99": %d, "max": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
