locals {
  rotate = false
}

variable "period" {
  type    = number
  default = 365
}

variable "rotate_from_tfvars" {
  type = bool
}

# Rotation set through a local.
resource "aws_kms_key" "by_local" {
  enable_key_rotation = local.rotate
}

# The period is a variable's default.
resource "aws_kms_key" "by_default" {
  enable_key_rotation     = true
  rotation_period_in_days = var.period
}

# Rotation set in terraform.tfvars.
resource "aws_kms_key" "by_tfvars" {
  enable_key_rotation = var.rotate_from_tfvars
}

# Strings, which Terraform converts.
resource "aws_kms_key" "quoted" {
  enable_key_rotation = "false"
}

resource "aws_kms_key" "quoted_period" {
  enable_key_rotation     = "true"
  rotation_period_in_days = "730"
}

# AWS rejects rotation on an asymmetric key.
resource "aws_kms_key" "signing" {
  customer_master_key_spec = "ECC_NIST_P256"
  key_usage                = "SIGN_VERIFY"
  enable_key_rotation      = true
  rotation_period_in_days  = 365
}

# The module's variable defaults to false and is not passed.
module "local_default" {
  source = "./modules/kms"
  name   = "default"
}

# The module's variable is passed false.
module "local_passed" {
  source              = "./modules/kms"
  name                = "passed"
  enable_key_rotation = false
}

# Downloaded by terraform init (.terraform/modules).
module "registry" {
  source              = "terraform-aws-modules/kms/aws"
  version             = "3.1.0"
  enable_key_rotation = false
}

# Not downloaded yet.
module "not_installed" {
  source              = "cloudposse/kms-key/aws"
  version             = "0.12.2"
  enable_key_rotation = false
}
