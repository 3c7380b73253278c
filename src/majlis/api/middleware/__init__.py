"""What every request passes through before a route, in the order app.py stacks them: metrics,
admission control (503 + Retry-After when a lane is full), body guards (413/415), WHIP CORS.
Each reads the one route table (api/route_table.py) to know what a request is."""
