region             = "us-east-1"
environment        = "prod"
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
# LiveKit's Redis and the WAF's per-address limits (5-minute windows): the defaults, shown here to be tuned.
livekit_redis_node_type = "cache.t4g.small"
offers_per_5min         = 300
api_requests_per_5min   = 3000
