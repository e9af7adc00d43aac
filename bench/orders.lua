-- wrk script for POST /api/transactions: each request is the next customer (by their
-- bearer token) ordering two products, quantity 1 each; any status but 201 is counted.
--   wrk ... -s bench/orders.lua <gateway> -- <customers file> <product ids, comma-separated>
-- The customers file has one "<customer id> <token>" per line; a line with no token (the
-- Express original has no authentication) sends no Authorization header.

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

local customers = {}
local product_ids = {}
local sequence = 0
non_201 = 0  -- global, so that done() can read it from each thread

function init(args)
  for line in io.lines(args[1]) do
    local customer_id, token = line:match("^(%d+)%s*(%S*)$")
    table.insert(customers, { id = tonumber(customer_id), token = token })
  end
  for product_id in args[2]:gmatch("%d+") do
    table.insert(product_ids, tonumber(product_id))
  end
  -- Threads start far apart in the cycle, so they seldom order the same products at once.
  sequence = thread_number * 1000
end

function request()
  sequence = sequence + 1
  local customer = customers[sequence % #customers + 1]
  local first = product_ids[sequence % #product_ids + 1]
  local second = product_ids[(sequence + 1) % #product_ids + 1]
  local body = string.format(
    '{"customerId": %d, "items": [{"productId": %d, "quantity": 1}, {"productId": %d, "quantity": 1}]}',
    customer.id, first, second)
  local headers = { ["Content-Type"] = "application/json" }
  if customer.token ~= "" then
    headers["Authorization"] = "Bearer " .. customer.token
  end
  return wrk.format("POST", "/api/transactions", headers, body)
end

function response(status, headers, body)
  if status ~= 201 then
    non_201 = non_201 + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non_201")
  end
  io.write(string.format("Non-201 responses: %d\n", total))
end
