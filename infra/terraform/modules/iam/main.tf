# IRSA roles with least privilege: the engine's pods may read and write objects in the one bucket (no bucket
# administration, no delete of versions) with its KMS key; the External Secrets Operator may read the one secret.
variable "name" {
  description = "Name prefix."
  type        = string
}
variable "oidc_provider_arn" {
  description = "EKS OIDC provider."
  type        = string
}
variable "oidc_issuer" {
  description = "OIDC issuer (no https://)."
  type        = string
}
variable "namespace" {
  description = "The chart's namespace."
  type        = string
}
variable "bucket_arn" {
  description = "Documents and recordings bucket."
  type        = string
}
variable "kms_key_arn" {
  description = "The bucket's KMS key."
  type        = string
}
variable "secret_arn" {
  description = "The engine's secret."
  type        = string
}

data "aws_iam_policy_document" "engine_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:taina"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "engine" {
  name               = "${var.name}-engine"
  assume_role_policy = data.aws_iam_policy_document.engine_trust.json
}

data "aws_iam_policy_document" "engine" {
  statement {
    sid       = "Bucket"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]
  }
  statement {
    sid       = "Objects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.bucket_arn}/documents/*", "${var.bucket_arn}/recordings/*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "engine" {
  role   = aws_iam_role.engine.id
  policy = data.aws_iam_policy_document.engine.json
}

data "aws_iam_policy_document" "eso_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:external-secrets:external-secrets"]
    }
  }
}

resource "aws_iam_role" "external_secrets" {
  name               = "${var.name}-external-secrets"
  assume_role_policy = data.aws_iam_policy_document.eso_trust.json
}

resource "aws_iam_role_policy" "external_secrets" {
  role = aws_iam_role.external_secrets.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource = var.secret_arn },
      { Effect = "Allow", Action = ["kms:Decrypt"], Resource = var.kms_key_arn },
    ]
  })
}

output "engine_role_arn" {
  description = "Role for the engine's ServiceAccount."
  value       = aws_iam_role.engine.arn
}
output "external_secrets_role_arn" {
  description = "Role for the External Secrets Operator."
  value       = aws_iam_role.external_secrets.arn
}
