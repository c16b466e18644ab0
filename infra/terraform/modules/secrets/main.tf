# The engine's secrets in one Secrets Manager secret (a JSON object), KMS-encrypted. The External Secrets
# Operator copies it into the cluster (Helm: secrets.externalSecret). Terraform writes only the non-secret
# database URL shape and a generated signing secret; put the full DATABASE_URL (with the password from the
# RDS-managed secret, or use IAM auth) and the providers' API keys with `aws secretsmanager put-secret-value`.
variable "name" {
  description = "Name prefix."
  type        = string
}
variable "database_url" {
  description = "DATABASE_URL without the password."
  type        = string
}
variable "kms_key_arn" {
  description = "KMS key for the secret."
  type        = string
}

resource "random_password" "auth" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "engine" {
  name                    = "taina/${var.name}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "engine" {
  secret_id = aws_secretsmanager_secret.engine.id
  secret_string = jsonencode({
    database_url = var.database_url
    auth_secret  = random_password.auth.result
  })
  lifecycle {
    ignore_changes = [secret_string] # edited by operators after creation (keys, rotated passwords)
  }
}

output "secret_arn" {
  description = "The engine's secret."
  value       = aws_secretsmanager_secret.engine.arn
}
output "secret_name" {
  description = "Its name (Helm secrets.externalSecret.remoteKey)."
  value       = aws_secretsmanager_secret.engine.name
}
