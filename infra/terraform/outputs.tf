output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.eks.cluster_name
}

output "engine_role_arn" {
  description = "IAM role for the engine's ServiceAccount (Helm value serviceAccount.annotations.eks.amazonaws.com/role-arn)."
  value       = module.iam.engine_role_arn
}

output "external_secrets_role_arn" {
  description = "IAM role for the External Secrets Operator (reads the engine's secret only)."
  value       = module.iam.external_secrets_role_arn
}

output "documents_bucket" {
  description = "S3 bucket for documents and recordings (TAINA_STORAGE=s3://<this>)."
  value       = module.s3.bucket_name
}

output "kms_key_arn" {
  description = "KMS key encrypting S3, RDS and the secret (TAINA_STORAGE_KMS_KEY_ID)."
  value       = module.s3.kms_key_arn
}

output "database_endpoint" {
  description = "RDS endpoint (the full DATABASE_URL is in Secrets Manager, not in outputs)."
  value       = module.rds.endpoint
}

output "secret_name" {
  description = "Secrets Manager secret the ExternalSecret reads (Helm value secrets.externalSecret.remoteKey)."
  value       = module.secrets.secret_name
}

output "static_assets_domain" {
  description = "CloudFront domain serving the static assets."
  value       = module.cloudfront.domain_name
}

output "livekit_redis_address" {
  description = "LiveKit's Redis, host:port with TLS (Helm value livekit.redis.address; its AUTH token is in the secret)."
  value       = module.redis.address
}

output "web_acl_arn" {
  description = "The API's WAF (Ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn in values-production.yaml)."
  value       = module.api.web_acl_arn
}
