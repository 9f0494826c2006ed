"""GB/T 26875.3-2011: frames from user information transmission devices (用户信息传输装置)
to the monitoring centre over TCP (codec, stream parser, unit objects, messages, listener)."""
