-- wrk script for the tokenward benchmark.
-- The harness passes the request through environment variables, so one script serves
-- every scenario: BENCH_METHOD, BENCH_BODY, BENCH_CONTENT_TYPE, BENCH_BEARER, and
-- BENCH_MAX_REQUESTS, a per-thread cap that stops the thread early (0: no cap).
-- done() prints one JSON line, prefixed with BENCH_JSON, for the harness to parse.

local function env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    return default
  end
  return value
end

wrk.method = env("BENCH_METHOD", "GET")
wrk.body = env("BENCH_BODY", nil)
local content_type = env("BENCH_CONTENT_TYPE", nil)
if content_type then
  wrk.headers["Content-Type"] = content_type
end
local bearer = env("BENCH_BEARER", nil)
if bearer then
  wrk.headers["Authorization"] = "Bearer " .. bearer
end

local max_requests = tonumber(env("BENCH_MAX_REQUESTS", "0"))
local seen = 0

if max_requests > 0 then
  function response(status, headers, body)
    seen = seen + 1
    if seen >= max_requests then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "latency_us": {"min": %d, "mean": %.1f, "max": %d, ' ..
    '"p50": %d, "p90": %d, "p99": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
