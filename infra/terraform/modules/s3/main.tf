# One bucket for documents and recordings (prefixes documents/ and recordings/): SSE-KMS with a bucket key,
# versioning, public access blocked, TLS-only policy, recordings expired after the retention period (noncurrent
# versions too), server access logs, optional cross-region replication.
terraform {
  required_providers {
    aws = {
      source                = "hashicorp/aws"
      configuration_aliases = [aws.replica]
    }
  }
}

variable "name" {
  description = "Name prefix."
  type        = string
}
variable "recordings_retention_days" {
  description = "Days before recordings/ objects expire."
  type        = number
}
variable "replication_region" {
  description = "Region of the replica bucket; empty: no replication."
  type        = string
}

resource "aws_kms_key" "data" {
  description         = "${var.name} documents and recordings"
  enable_key_rotation = true
}

resource "aws_s3_bucket" "data" {
  bucket = "${var.name}-documents"
}

resource "aws_s3_bucket" "logs" {
  bucket = "${var.name}-access-logs"
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256" # S3 server access logging cannot write to SSE-KMS buckets
    }
  }
}

resource "aws_s3_bucket_logging" "data" {
  bucket        = aws_s3_bucket.data.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "documents/"
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    id     = "recordings-retention"
    status = "Enabled"
    filter {
      prefix = "recordings/"
    }
    expiration {
      days = var.recordings_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
  rule {
    id     = "old-document-versions"
    status = "Enabled"
    filter {
      prefix = "documents/"
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 365
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.data.arn, "${aws_s3_bucket.data.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  bucket = aws_s3_bucket.data.id
  policy = data.aws_iam_policy_document.tls_only.json
}

# Optional cross-region replication (disaster recovery) into a versioned, KMS-encrypted bucket in
# replication_region (the aws.replica provider).
locals {
  replicate = var.replication_region != ""
}

resource "aws_kms_key" "replica" {
  count               = local.replicate ? 1 : 0
  provider            = aws.replica
  description         = "${var.name} replica of documents and recordings"
  enable_key_rotation = true
}

resource "aws_s3_bucket" "replica" {
  count    = local.replicate ? 1 : 0
  provider = aws.replica
  bucket   = "${var.name}-documents-replica"
}

resource "aws_s3_bucket_public_access_block" "replica" {
  count                   = local.replicate ? 1 : 0
  provider                = aws.replica
  bucket                  = aws_s3_bucket.replica[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "replica" {
  count    = local.replicate ? 1 : 0
  provider = aws.replica
  bucket   = aws_s3_bucket.replica[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "replica" {
  count    = local.replicate ? 1 : 0
  provider = aws.replica
  bucket   = aws_s3_bucket.replica[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.replica[0].arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_iam_role" "replication" {
  count = local.replicate ? 1 : 0
  name  = "${var.name}-s3-replication"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "s3.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "replication" {
  count = local.replicate ? 1 : 0
  role  = aws_iam_role.replication[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource = aws_s3_bucket.data.arn },
      { Effect = "Allow", Action = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"], Resource = "${aws_s3_bucket.data.arn}/*" },
      { Effect = "Allow", Action = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], Resource = "${aws_s3_bucket.replica[0].arn}/*" },
      { Effect = "Allow", Action = ["kms:Decrypt"], Resource = aws_kms_key.data.arn },
      { Effect = "Allow", Action = ["kms:Encrypt"], Resource = aws_kms_key.replica[0].arn },
    ]
  })
}

resource "aws_s3_bucket_replication_configuration" "data" {
  count      = local.replicate ? 1 : 0
  bucket     = aws_s3_bucket.data.id
  role       = aws_iam_role.replication[0].arn
  depends_on = [aws_s3_bucket_versioning.data, aws_s3_bucket_versioning.replica]
  rule {
    id     = "all"
    status = "Enabled"
    filter {}
    delete_marker_replication {
      status = "Enabled"
    }
    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }
    destination {
      bucket = aws_s3_bucket.replica[0].arn
      encryption_configuration {
        replica_kms_key_id = aws_kms_key.replica[0].arn
      }
    }
  }
}

output "bucket_name" {
  description = "Documents and recordings bucket."
  value       = aws_s3_bucket.data.id
}
output "bucket_arn" {
  description = "Its ARN."
  value       = aws_s3_bucket.data.arn
}
output "kms_key_arn" {
  description = "The bucket's KMS key."
  value       = aws_kms_key.data.arn
}
