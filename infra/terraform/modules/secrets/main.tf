# The engine's secrets in one Secrets Manager secret (a JSON object), KMS-encrypted. The External Secrets
# Operator copies it into the cluster (Helm: secrets.externalSecret). Terraform writes the database URL's shape,
# a generated signing secret, LiveKit's API secret and its Redis AUTH token; put the full DATABASE_URL (with the password from the
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
variable "livekit_redis_password" {
  description = "LiveKit's Redis AUTH token (redis module)."
  type        = string
  sensitive   = true
}

resource "random_password" "auth" {
  length  = 48
  special = false
}

# LiveKit's API secret, shared by LiveKit (LIVEKIT_KEYS) and the engine (LIVEKIT_API_SECRET_FILE).
resource "random_password" "livekit" {
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
    database_url           = var.database_url
    auth_secret            = random_password.auth.result
    livekit_api_secret     = random_password.livekit.result
    livekit_redis_password = var.livekit_redis_password
    # The cloud providers' keys, empty (that provider off) until an operator sets them.
    deepgram_api_key   = ""
    elevenlabs_api_key = ""
    openai_api_key     = ""
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
