# The HTTP entry point. Signalling (POST /api/rtc/offer), the dashboard and the REST API are served by the
# engine pods behind an Application Load Balancer that the AWS Load Balancer Controller creates from the chart's
# Ingress (values-production.yaml: ingress.className alb, health check /readyz). API Gateway is not used: calls
# start with one short HTTPS request and then go peer to peer over UDP, so a gateway would add nothing but
# latency and its 29 s request limit; if per-client quotas or API keys are needed later, put API Gateway (HTTP
# API with a VPC link to the ALB) in front of /api only. This module holds the WAF for the ALB: AWS's common
# rules, and per-address rate limits (5-minute windows) on call offers, LiveKit caller tokens and the REST API.
# TLS ends at the ALB (values-production.yaml: certificate-arn, ssl-policy TLS 1.2+, HTTP redirected to HTTPS).
variable "name" {
  description = "Name prefix."
  type        = string
}
variable "offers_per_5min" {
  description = "Call offers (POST /api/rtc/offer) and LiveKit caller tokens one address may make in 5 minutes."
  type        = number
}
variable "api_requests_per_5min" {
  description = "Requests to the rest of /api one address may make in 5 minutes (the REST API's quota)."
  type        = number
}

resource "aws_wafv2_web_acl" "this" {
  name  = "${var.name}-api"
  scope = "REGIONAL"
  default_action {
    allow {}
  }
  rule {
    name     = "aws-common"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-common"
      sampled_requests_enabled   = true
    }
  }
  rule {
    name     = "offers-rate"
    priority = 2
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.offers_per_5min
        aggregate_key_type = "IP"
        scope_down_statement {
          byte_match_statement {
            search_string         = "/api/rtc/offer"
            positional_constraint = "STARTS_WITH"
            field_to_match {
              uri_path {}
            }
            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-offers-rate"
      sampled_requests_enabled   = true
    }
  }
  rule {
    name     = "livekit-token-rate"
    priority = 3
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.offers_per_5min
        aggregate_key_type = "IP"
        scope_down_statement {
          byte_match_statement {
            search_string         = "/api/livekit/token"
            positional_constraint = "STARTS_WITH"
            field_to_match {
              uri_path {}
            }
            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-livekit-token-rate"
      sampled_requests_enabled   = true
    }
  }
  rule {
    name     = "api-rate"
    priority = 4
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.api_requests_per_5min
        aggregate_key_type = "IP"
        scope_down_statement {
          byte_match_statement {
            search_string         = "/api/"
            positional_constraint = "STARTS_WITH"
            field_to_match {
              uri_path {}
            }
            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-api-rate"
      sampled_requests_enabled   = true
    }
  }
  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name}-api"
    sampled_requests_enabled   = true
  }
}

output "web_acl_arn" {
  description = "WAF ACL for the ALB (Ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn)."
  value       = aws_wafv2_web_acl.this.arn
}
