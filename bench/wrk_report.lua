-- wrk calls done() after the run: print the numbers the bench reports, one "name value" a line.
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("bench_requests %d\n", summary.requests))
  io.write(string.format("bench_duration_us %d\n", summary.duration))
  io.write(string.format("bench_errors %d\n",
    errors.connect + errors.read + errors.write + errors.status + errors.timeout))
  io.write(string.format("bench_p50_us %d\n", latency:percentile(50)))
  io.write(string.format("bench_p95_us %d\n", latency:percentile(95)))
end
