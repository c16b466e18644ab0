terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { Project = "taina-voice", Environment = var.environment }
  }
}

# Where the documents bucket is replicated to (the main region itself when replication is off: then unused).
provider "aws" {
  alias  = "replica"
  region = var.replication_region == "" ? var.region : var.replication_region
}
