-- wrk script for REST ingest: POSTs events with unique ids, spread over many customers.
--   wrk -t2 -c32 -d60s -s benchmarks/rest/events.lua http://127.0.0.1:8080 -- CUSTOMERS BATCH
-- BATCH 1 posts one event per request to /v1/events; BATCH > 1 posts {"events": [...]} to /v1/events:batch.
-- Every run uses fresh ids (a time-and-thread prefix), so each event is APPLIED, never DUPLICATE.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  customers = tonumber(args[1] or "100000")
  batch = tonumber(args[2] or "1")
  prefix = string.format("wrk-%d-%d-", os.time(), id)
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.path = batch > 1 and "/v1/events:batch" or "/v1/events"
end

local function event()
  n = n + 1
  local customer = (n * 7919 + id * 104729) % customers
  return string.format(
    '{"eventId":"%s%d","customerId":"cust-%06d","occurredAt":"2026-11-30T06:00:00Z",' ..
    '"channel":"CHANNEL_PHONE","kind":"EVENT_KIND_CONTACT","signals":{"csat":%d,"waitSeconds":%d}}',
    prefix, n, customer, (n % 5) + 1, n % 300)
end

function request()
  if batch == 1 then
    return wrk.format(nil, nil, nil, event())
  end

  local events = {}
  for i = 1, batch do
    events[i] = event()
  end
  return wrk.format(nil, nil, nil, '{"events":[' .. table.concat(events, ",") .. ']}')
end
