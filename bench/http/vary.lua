-- wrk script: every request differs (path, query, User-Agent, request id, cookie), so a server
-- cannot answer from a cache of identical requests. Used by `--workloads vary`.
local counter = 0
local agents = {
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
  "curl/7.88.1",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
}
request = function()
  counter = counter + 1
  local headers = {}
  headers["User-Agent"] = agents[counter % 3 + 1]
  headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
  headers["Accept-Language"] = "en-US,en;q=0.9"
  headers["X-Request-Id"] = tostring(counter)
  headers["Cookie"] = "session=s" .. (counter % 1000) .. "; theme=dark"
  return wrk.format("GET", "/items/" .. counter .. "/detail?page=" .. (counter % 97) .. "&q=w" .. (counter % 13), headers)
end
