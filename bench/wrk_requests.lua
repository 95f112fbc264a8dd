-- Cycle through the requests listed in the file $BENCH_REQUESTS, one a line, tab-separated:
-- method, path, Host, Cookie (or "-"), body (or "-"). Each wrk thread starts at its own place in
-- the list, so no two threads send the same post at the same time. Reports with wrk_report.lua
-- (its path in $BENCH_REPORT).
local listed = {}
for line in io.lines(os.getenv("BENCH_REQUESTS")) do
  local method, path, host, cookie, body = line:match("^(%S+)\t(%S+)\t(%S+)\t(%S+)\t(.*)$")
  local headers = { Host = host }
  if cookie ~= "-" then headers["Cookie"] = cookie end
  if body == "-" then
    body = nil
  else
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    local signature = body:match("^stripe%-signature=([^&]*)&")
    if signature then
      -- A webhook post: the signature travels as a header, the JSON after it as the body.
      headers["Content-Type"] = "application/json"
      headers["Stripe-Signature"] = signature
      body = body:sub(#"stripe-signature=" + #signature + 2)
    end
  end
  table.insert(listed, wrk.format(method, path, headers, body))
end

local threads = 0
setup = function(thread)
  thread:set("start", threads * 7919)
  threads = threads + 1
end

local position = nil
request = function()
  if position == nil then position = (start or 0) % #listed end
  position = position % #listed + 1
  return listed[position]
end

-- done(): the same report as every other wrk run of the bench.
dofile(os.getenv("BENCH_REPORT"))
