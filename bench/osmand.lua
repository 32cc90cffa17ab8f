-- wrk script for bench/ingest: every request is an OsmAnd fix with its own
-- timestamp, so the receiver stores each one (a duplicate time would be
-- accepted but not stored, and the "stored == 2xx" check would be void).
-- Environment: BENCH_TOKEN (device token; BENCH_TOKENS: several, comma-
-- separated, used in turn: a fleet), BENCH_BASE_MS (first fix time,
-- epoch ms; bench/ingest gives each run its own range), BENCH_PATH
-- (default /osmand), BENCH_THREADS (wrk -t).
-- Fix time of request k on thread i of n: base + k * n + i — unique across
-- threads, and every wrk thread has its own Lua state, so no locking.
-- done() prints one line "BENCH key=value ..." for bench/ingest to parse.

local threads = {}
local nthreads = 0

-- wrk starts each thread right after setting it up, so a thread cannot
-- learn the final thread count from setup(); BENCH_THREADS says it.
function setup(thread)
	thread:set("tid", nthreads)
	nthreads = nthreads + 1
	table.insert(threads, thread)
end

local tokens, base, path, tid, n
local counter = 0
ok2xx = 0
not2xx = 0

function init(args)
	tokens = {}
	for tok in string.gmatch(os.getenv("BENCH_TOKENS") or os.getenv("BENCH_TOKEN") or "none",
	                         "[^,]+") do
		table.insert(tokens, tok)
	end
	base = tonumber(os.getenv("BENCH_BASE_MS") or "1700000000000")
	path = os.getenv("BENCH_PATH") or "/osmand"
	tid = wrk.thread:get("tid")
	n = tonumber(os.getenv("BENCH_THREADS") or "2")
	math.randomseed(base + tid)
end

function request()
	local ts = base + counter * n + tid
	local token = tokens[counter % #tokens + 1]
	counter = counter + 1
	local lat = 52.5 + (math.random() - 0.5) * 0.01
	local lon = 13.4 + (math.random() - 0.5) * 0.01
	return wrk.format("GET", string.format(
		"%s?token=%s&lat=%.7f&lon=%.7f&timestamp=%d&hdop=5&altitude=34.5&speed=1.5&bearing=90&batproc=80",
		path, token, lat, lon, ts))
end

function response(status, headers, body)
	if status >= 200 and status < 300 then
		ok2xx = ok2xx + 1
	else
		not2xx = not2xx + 1
	end
end

function done(summary, latency, requests)
	local ok, bad = 0, 0
	for _, t in ipairs(threads) do
		ok = ok + t:get("ok2xx")
		bad = bad + t:get("not2xx")
	end
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d ok2xx=%d not2xx=%d p50_us=%d p99_us=%d " ..
		"err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
		summary.requests, summary.duration, ok, bad,
		latency:percentile(50), latency:percentile(99),
		e.connect, e.read, e.write, e.timeout))
end
