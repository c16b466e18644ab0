region             = "us-east-1"
environment        = "prod"
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
