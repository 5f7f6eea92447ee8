-- wrk script: Okta event-hook deliveries, each event with an id never sent before.
--
-- Environment:
--   EVENT_FILE          one event as JSON, with @UUID@, @ACTOR@ and @USER@ to fill in
--   EVENTS_PER_REQUEST  events in each delivery (default 1)
--   RUN_ID              prefix of the event ids, so that runs on one database do not collide
--   TARGETS             "PATH TOKEN" pairs separated by spaces; requests go to each in turn
--
-- At the end one line `RESULT {json}` gives the counts and latency percentiles.

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(os.getenv("EVENT_FILE"), "r"))
  event = file:read("*a"):gsub("%s+$", "")
  file:close()
  per_request = tonumber(os.getenv("EVENTS_PER_REQUEST") or "1")
  run = (os.getenv("RUN_ID") or "run") .. "-" .. thread_id
  targets = {}
  for path, token in string.gmatch(os.getenv("TARGETS"), "(%S+)%s+(%S+)") do
    table.insert(targets, {
      path = path,
      headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
    })
  end
  sent = 0
  events = 0
end

function request()
  local parts = {}
  for i = 1, per_request do
    events = events + 1
    parts[i] = event:gsub("@(%u+)@", {
      UUID = string.format("%s-%012d", run, events),
      ACTOR = "user" .. (events % 1000) .. "@example.com",
      USER = "00u" .. (events % 5000),
    })
  end
  sent = sent + 1
  local target = targets[(sent % #targets) + 1]
  local body = '{"eventType":"com.okta.event_hook","data":{"events":['
    .. table.concat(parts, ",") .. "]}}"
  return wrk.format("POST", target.path, target.headers, body)
end

function done(summary, latency, requests)
  local generated = 0
  for _, thread in ipairs(threads) do
    generated = generated + thread:get("sent")
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"generated":%d,"duration_us":%d,"non_2xx":%d,'
      .. '"socket_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, generated, summary.duration, errors.status,
    errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
