-- wrk script for the IIIF benchmark: each thread walks its share of the paths in
-- PATHS_FILE (one path per line). ONCE=1: each path once, then the thread stops
-- (a cold pass); otherwise the list repeats for the run's duration (warm).
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(os.getenv("PATHS_FILE")) do
    table.insert(paths, line)
  end
  nthreads = tonumber(os.getenv("NTHREADS") or "1")
  idx = id
  once = os.getenv("ONCE") == "1"
end

function request()
  if idx > #paths then
    if once then
      wrk.thread:stop()
    end
    idx = ((idx - 1) % #paths) + 1
  end
  local path = paths[idx]
  idx = idx + nthreads
  return wrk.format("GET", path)
end
