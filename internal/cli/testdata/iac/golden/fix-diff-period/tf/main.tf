variable "rotate" {
  type = bool
}

# The application key.
resource "aws_kms_key" "app" {
  description             = "app"
  enable_key_rotation     = true
  rotation_period_in_days = 180
}

resource "aws_kms_key" "by_var" {
  enable_key_rotation = var.rotate
}

locals {
  envs = ["dev"]
}

# An expression kmsrotor does not rewrite.
resource "aws_kms_key" "by_condition" {
  enable_key_rotation = length(local.envs) > 1
}

# AWS rejects rotation on an asymmetric key.
resource "aws_kms_key" "signing" {
  customer_master_key_spec = "RSA_2048"
  key_usage                = "SIGN_VERIFY"
}

resource "aws_kms_key" "hmac" {
  customer_master_key_spec = "HMAC_256"
  key_usage                = "GENERATE_VERIFY_MAC"
}

module "east" {
  source = "./mod"
}

module "west" {
  source = "./mod"
}
