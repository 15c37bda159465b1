-- wrk script: POST /api/v1/events with 1,000 events per request, the way a busy SDK batches them.
-- Each thread prebuilds BODIES distinct bodies (customers c0 … c<CUSTOMERS-1>, four event names,
-- a couple of properties, no idempotency ids, so every event is stored) and cycles through them;
-- `done` prints one JSON line the runner (bench/loadtest/run.py) parses.
-- Environment: WAYMARK_API_KEY (required), LOADTEST_BATCH (1000), LOADTEST_CUSTOMERS (100000).

local key = os.getenv("WAYMARK_API_KEY")
local batch = tonumber(os.getenv("LOADTEST_BATCH") or "1000")
local customers = tonumber(os.getenv("LOADTEST_CUSTOMERS") or "100000")
local BODIES = 16
local names = { "view", "view", "add_to_cart", "purchase" }
local bodies = {}
local next_body = 1
local threads = {}
rejected = 0  -- responses that were not 202 with an empty "errors" list, per thread

function setup(thread)
  table.insert(threads, thread)
  thread:set("seed", #threads)
end

function init(args)
  math.randomseed(seed or 1)
  for b = 1, BODIES do
    local events = {}
    for i = 1, batch do
      events[i] = string.format(
        '{"customer_id":"c%d","name":"%s","properties":{"amount":%d,"sku":"sku-%d"}}',
        math.random(0, customers - 1), names[math.random(1, #names)], math.random(0, 199), math.random(0, 499))
    end
    bodies[b] = '{"events":[' .. table.concat(events, ",") .. ']}'
  end
  wrk.method = "POST"
  wrk.path = "/api/v1/events"
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body = bodies[next_body]
  next_body = next_body % BODIES + 1
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 202 or not string.find(body, '"errors":%s*%[%]') then
    rejected = rejected + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local not_accepted = 0
  for _, thread in ipairs(threads) do
    not_accepted = not_accepted + thread:get("rejected")
  end
  io.write(string.format(
    'LOADTEST_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"batch":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"not_accepted":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.0f}}\n',
    summary.requests, summary.duration, summary.bytes, batch,
    e.connect, e.read, e.write, e.status, e.timeout, not_accepted,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
