# EKS with two node groups: "system" (private subnets) and "media" (public subnets, public IPs, tainted) for
# the engine pods, which terminate WebRTC and need callers to reach their UDP ports. The media security group
# admits UDP 1024-65535 from anywhere (ICE/DTLS-SRTP is authenticated per call) and nothing else from outside.
variable "name" {
  description = "Cluster name."
  type        = string
}
variable "kubernetes_version" {
  description = "Kubernetes version."
  type        = string
}
variable "vpc_id" {
  description = "VPC."
  type        = string
}
variable "vpc_cidr" {
  description = "The VPC's CIDR (load balancers reach LiveKit on the media nodes from it)."
  type        = string
}
variable "private_subnet_ids" {
  description = "Private subnets."
  type        = list(string)
}
variable "public_subnet_ids" {
  description = "Public subnets (media nodes)."
  type        = list(string)
}
variable "media_instance_type" {
  description = "Media node instance type."
  type        = string
}
variable "media_nodes" {
  description = "Media node group sizes."
  type        = object({ min = number, desired = number, max = number })
}

resource "aws_kms_key" "eks" {
  description         = "${var.name} EKS secrets envelope encryption"
  enable_key_rotation = true
}

resource "aws_iam_role" "cluster" {
  name = "${var.name}-eks-cluster"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "eks.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
}

resource "aws_eks_cluster" "this" {
  name     = var.name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn
  vpc_config {
    subnet_ids              = concat(var.private_subnet_ids, var.public_subnet_ids)
    endpoint_private_access = true
    endpoint_public_access  = false # reach the API from the VPC (VPN, bastion, CI runners inside)
  }
  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.eks.arn
    }
  }
  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  depends_on                = [aws_iam_role_policy_attachment.cluster]
}

data "tls_certificate" "oidc" {
  url = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

resource "aws_iam_openid_connect_provider" "this" {
  url             = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = [data.tls_certificate.oidc.certificates[0].sha1_fingerprint]
}

resource "aws_iam_role" "node" {
  name = "${var.name}-eks-node"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
  ])
  role       = aws_iam_role.node.name
  policy_arn = each.value
}

resource "aws_security_group" "media" {
  name        = "${var.name}-media"
  description = "WebRTC media (UDP) to the engine and LiveKit pods on the media nodes; LiveKit's TCP ports"
  vpc_id      = var.vpc_id
  ingress {
    description = "WebRTC ICE and DTLS-SRTP from callers"
    from_port   = 1024
    to_port     = 65535
    protocol    = "udp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    description = "LiveKit's WebRTC over TCP (rtc.tcp_port) for callers whose networks block UDP"
    from_port   = 7881
    to_port     = 7881
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    description = "LiveKit signalling and TURN/TLS from the load balancers in the VPC (TLS ends there)"
    from_port   = 7880
    to_port     = 7880
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  ingress {
    description = "LiveKit TURN/TLS from the load balancer in the VPC"
    from_port   = 5349
    to_port     = 5349
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
  egress {
    description = "Media back to callers, HTTPS to AWS APIs and speech providers, PostgreSQL in the VPC"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_launch_template" "media" {
  name_prefix            = "${var.name}-media-"
  vpc_security_group_ids = [aws_security_group.media.id, aws_eks_cluster.this.vpc_config[0].cluster_security_group_id]
  metadata_options {
    http_tokens                 = "required" # IMDSv2 only
    http_put_response_hop_limit = 1          # pods cannot reach the node's credentials (they use IRSA)
  }
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size = 50
      encrypted   = true
    }
  }
}

resource "aws_eks_node_group" "system" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "system"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.private_subnet_ids
  instance_types  = ["m7i.large"]
  scaling_config {
    min_size     = 2
    desired_size = 2
    max_size     = 4
  }
  depends_on = [aws_iam_role_policy_attachment.node]
}

resource "aws_eks_node_group" "media" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "media"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.public_subnet_ids
  instance_types  = [var.media_instance_type]
  labels          = { "taina.io/pool" = "media" }
  taint {
    key    = "taina.io/media"
    effect = "NO_SCHEDULE"
  }
  launch_template {
    id      = aws_launch_template.media.id
    version = aws_launch_template.media.latest_version
  }
  scaling_config {
    min_size     = var.media_nodes.min
    desired_size = var.media_nodes.desired
    max_size     = var.media_nodes.max
  }
  depends_on = [aws_iam_role_policy_attachment.node]
}

output "cluster_name" {
  description = "Cluster name."
  value       = aws_eks_cluster.this.name
}
output "oidc_provider_arn" {
  description = "IRSA OIDC provider."
  value       = aws_iam_openid_connect_provider.this.arn
}
output "oidc_issuer" {
  description = "OIDC issuer host and path (no https://)."
  value       = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")
}
output "node_security_group_id" {
  description = "The cluster security group (nodes and pods), allowed into RDS."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}
