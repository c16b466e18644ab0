# Redis for LiveKit (ElastiCache, Valkey engine): the LiveKit pods of more than one media node share rooms and
# node state through it. Two nodes in different zones with automatic failover, TLS in transit, encrypted at rest
# with its own KMS key, an AUTH token (in the engine's secret as livekit_redis_password), reachable only from the
# cluster's nodes, daily snapshots, slow log to CloudWatch.
variable "name" {
  description = "Name prefix."
  type        = string
}
variable "vpc_id" {
  description = "VPC."
  type        = string
}
variable "subnet_ids" {
  description = "Private subnets (one node per zone)."
  type        = list(string)
}
variable "client_security_group" {
  description = "Security group allowed to connect (the EKS nodes: LiveKit uses host networking)."
  type        = string
}
variable "node_type" {
  description = "Cache node type (LiveKit's room state is small)."
  type        = string
}

resource "random_password" "auth" {
  length  = 64
  special = false
}

resource "aws_kms_key" "redis" {
  description         = "${var.name} LiveKit Redis at rest"
  enable_key_rotation = true
}

resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name}-livekit"
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-livekit-redis"
  description = "LiveKit Redis: 6379 from the cluster's nodes only"
  vpc_id      = var.vpc_id
  ingress {
    description     = "Redis (TLS) from the EKS nodes"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = [var.client_security_group]
  }
}

resource "aws_cloudwatch_log_group" "slow" {
  name              = "/aws/elasticache/${var.name}-livekit/slow-log"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.redis.arn
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = "${var.name}-livekit"
  description                = "LiveKit room and node state for ${var.name}"
  engine                     = "valkey"
  engine_version             = "7.2"
  node_type                  = var.node_type
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.redis.id]
  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.redis.arn
  auth_token                 = random_password.auth.result
  auto_minor_version_upgrade = true
  snapshot_retention_limit   = 7
  apply_immediately          = false
  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}

output "address" {
  description = "host:port for LiveKit (Helm value livekit.redis.address, with livekit.redis.useTls)."
  value       = "${aws_elasticache_replication_group.this.primary_endpoint_address}:6379"
}
output "auth_token" {
  description = "The AUTH token (written into the engine's secret; never print it)."
  value       = random_password.auth.result
  sensitive   = true
}
