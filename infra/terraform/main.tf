# TAINA Voice on AWS: network, EKS (with a media node group for WebRTC over UDP), RDS PostgreSQL with pgvector,
# S3 for documents and recordings, Secrets Manager, IRSA roles, Redis for LiveKit, CloudFront for static assets,
# the API's WAF.
locals {
  name = "taina-${var.environment}"
}

module "network" {
  source             = "./modules/network"
  name               = local.name
  cidr               = var.vpc_cidr
  availability_zones = var.availability_zones
}

module "eks" {
  source              = "./modules/eks"
  name                = local.name
  kubernetes_version  = var.eks_version
  vpc_id              = module.network.vpc_id
  vpc_cidr            = var.vpc_cidr
  private_subnet_ids  = module.network.private_subnet_ids
  public_subnet_ids   = module.network.public_subnet_ids
  media_instance_type = var.media_instance_type
  media_nodes         = var.media_nodes
}

module "rds" {
  source                = "./modules/rds"
  name                  = local.name
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  client_security_group = module.eks.node_security_group_id
  instance_class        = var.db_instance_class
  allocated_storage     = var.db_allocated_storage
  backup_retention_days = var.db_backup_retention_days
}

module "s3" {
  source                    = "./modules/s3"
  name                      = local.name
  recordings_retention_days = var.recordings_retention_days
  replication_region        = var.replication_region
  providers = {
    aws         = aws
    aws.replica = aws.replica
  }
}

module "redis" {
  source                = "./modules/redis"
  name                  = local.name
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  client_security_group = module.eks.node_security_group_id
  node_type             = var.livekit_redis_node_type
}

module "secrets" {
  source                 = "./modules/secrets"
  name                   = local.name
  database_url           = module.rds.database_url
  kms_key_arn            = module.s3.kms_key_arn
  livekit_redis_password = module.redis.auth_token
}

module "iam" {
  source            = "./modules/iam"
  name              = local.name
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer       = module.eks.oidc_issuer
  namespace         = var.namespace
  bucket_arn        = module.s3.bucket_arn
  kms_key_arn       = module.s3.kms_key_arn
  secret_arn        = module.secrets.secret_arn
}

module "cloudfront" {
  source = "./modules/cloudfront"
  name   = local.name
  domain = var.static_domain
}

module "api" {
  source                = "./modules/api"
  name                  = local.name
  offers_per_5min       = var.offers_per_5min
  api_requests_per_5min = var.api_requests_per_5min
}
