variable "region" {
  description = "AWS region for everything (e.g. us-east-1)."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, prod): a prefix of every resource's name."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into public and private subnets across availability_zones."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones to use (at least two: RDS Multi-AZ and the EKS nodes spread over them)."
  type        = list(string)
}

variable "eks_version" {
  description = "Kubernetes version of the EKS control plane."
  type        = string
  default     = "1.31"
}

variable "media_instance_type" {
  description = "Instance type of the media node group (engine pods, WebRTC over UDP): compute-optimised, 4+ vCPU."
  type        = string
  default     = "c7i.xlarge"
}

variable "media_nodes" {
  description = "Media node group size: min, desired and max nodes."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 2, desired = 3, max = 12 }
}

variable "db_instance_class" {
  description = "RDS instance class for PostgreSQL (pgvector)."
  type        = string
  default     = "db.m7g.large"
}

variable "db_allocated_storage" {
  description = "RDS storage in GiB (grows automatically up to 5x)."
  type        = number
  default     = 100
}

variable "db_backup_retention_days" {
  description = "Days of automated backups kept (point-in-time recovery window)."
  type        = number
  default     = 14
}

variable "recordings_retention_days" {
  description = "Days after which recordings expire in S3 (match TAINA_RECORDINGS_RETENTION_DAYS)."
  type        = number
  default     = 90
}

variable "replication_region" {
  description = "If set, documents and recordings are replicated to a bucket in this region (disaster recovery)."
  type        = string
  default     = ""
}

variable "static_domain" {
  description = "Optional domain name for the CloudFront distribution of the static assets (empty: the CloudFront domain)."
  type        = string
  default     = ""
}

variable "namespace" {
  description = "Kubernetes namespace the chart is installed in (for the IRSA trust policy)."
  type        = string
  default     = "taina"
}

variable "livekit_redis_node_type" {
  description = "ElastiCache node type of LiveKit's Redis (two nodes, Multi-AZ)."
  type        = string
  default     = "cache.t4g.small"
}

variable "offers_per_5min" {
  description = "WAF rate limit: call offers and LiveKit caller tokens per client address in 5 minutes (then 403)."
  type        = number
  default     = 300
}

variable "api_requests_per_5min" {
  description = "WAF rate limit: other /api requests per client address in 5 minutes (the REST API's quota)."
  type        = number
  default     = 3000
}
