# PostgreSQL 17 on RDS (pgvector is an RDS extension: the first migration runs CREATE EXTENSION vector),
# Multi-AZ, encrypted with its own KMS key, 14-day backups with point-in-time recovery, deletion protection,
# TLS required, IAM auth, Performance Insights, logs to CloudWatch. The password is generated and kept by RDS in
# Secrets Manager (manage_master_user_password); the engine's DATABASE_URL goes to the secrets module.
variable "name" {
  description = "Name prefix."
  type        = string
}
variable "vpc_id" {
  description = "VPC."
  type        = string
}
variable "subnet_ids" {
  description = "Private subnets."
  type        = list(string)
}
variable "client_security_group" {
  description = "Security group allowed to connect (the EKS nodes and pods)."
  type        = string
}
variable "instance_class" {
  description = "Instance class."
  type        = string
}
variable "allocated_storage" {
  description = "Storage in GiB."
  type        = number
}
variable "backup_retention_days" {
  description = "Backup retention (PITR window) in days."
  type        = number
}

resource "aws_kms_key" "rds" {
  description         = "${var.name} RDS storage, Performance Insights and master password"
  enable_key_rotation = true
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "PostgreSQL from the EKS cluster only"
  vpc_id      = var.vpc_id
  ingress {
    description     = "PostgreSQL from the engine pods"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [var.client_security_group]
  }
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-pg17"
  family = "postgres17"
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
}

resource "aws_db_instance" "this" {
  identifier                            = var.name
  engine                                = "postgres"
  engine_version                        = "17"
  instance_class                        = var.instance_class
  allocated_storage                     = var.allocated_storage
  max_allocated_storage                 = var.allocated_storage * 5
  storage_type                          = "gp3"
  storage_encrypted                     = true
  kms_key_id                            = aws_kms_key.rds.arn
  db_name                               = "taina"
  username                              = "taina"
  manage_master_user_password           = true
  master_user_secret_kms_key_id         = aws_kms_key.rds.arn
  iam_database_authentication_enabled   = true
  multi_az                              = true
  db_subnet_group_name                  = aws_db_subnet_group.this.name
  vpc_security_group_ids                = [aws_security_group.db.id]
  parameter_group_name                  = aws_db_parameter_group.this.name
  publicly_accessible                   = false
  backup_retention_period               = var.backup_retention_days
  backup_window                         = "06:00-07:00"
  maintenance_window                    = "sun:07:30-sun:08:30"
  copy_tags_to_snapshot                 = true
  deletion_protection                   = true
  skip_final_snapshot                   = false
  final_snapshot_identifier             = "${var.name}-final"
  auto_minor_version_upgrade            = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.rds.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
}

resource "aws_iam_role" "monitoring" {
  name = "${var.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "monitoring.rds.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

output "endpoint" {
  description = "host:port of the database."
  value       = aws_db_instance.this.endpoint
}
output "database_url" {
  description = "DATABASE_URL without the password (the secrets module adds it from the RDS-managed secret)."
  value       = "postgresql://taina@${aws_db_instance.this.endpoint}/taina?sslmode=verify-full"
}
output "master_secret_arn" {
  description = "The RDS-managed secret holding the master password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}
