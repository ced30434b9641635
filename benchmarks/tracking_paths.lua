-- wrk script of benchmarks/tracking_load.py: each thread cycles over the request paths of a file (one per line),
-- starting at its own offset, with a mail client's User-Agent; done() prints the figures as one JSON line.
-- Usage: wrk -t THREADS -s tracking_paths.lua http://127.0.0.1:PORT -- PATHS_FILE THREADS

local threads = {}
local paths, position, count

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  count = #paths
  position = (index * math.floor(count / tonumber(args[2]))) % count
end

wrk.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
  .. "Chrome/124.0 Safari/537.36"

function request()
  position = position % count + 1
  return wrk.format("GET", paths[position])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, '
      .. '"timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
