"""Local simulators of the providers' HTTP APIs (Twilio, WeChat/WeCom, the broadcast
platform), so the demo, the tests and the benchmarks run the real adapters over HTTP."""
