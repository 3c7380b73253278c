"""The HTTP routes, one router per area of docs/api.md; each turns a request into a call on the
domain or the media plane and its result into JSON (or bytes), and owns nothing else."""
