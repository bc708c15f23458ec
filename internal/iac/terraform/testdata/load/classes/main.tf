# Every class of KMS key the AWS provider can declare, with the peers'
# false positives and false negatives (peers.md) marked.

variable "period" {
  type    = number
  default = 180
}

variable "rotate" {
  type = bool
}

variable "env" {
  type    = string
  default = "prod"
}

locals {
  rotate_all = true
}

resource "aws_kms_key" "rotating" {
  description         = "symmetric, rotating"
  enable_key_rotation = true
}

resource "aws_kms_key" "not_rotating" {
  description = "symmetric, rotation off by default"
}

resource "aws_kms_key" "period_730" {
  enable_key_rotation     = true
  rotation_period_in_days = 730
}

resource "aws_kms_key" "period_var" {
  enable_key_rotation     = true
  rotation_period_in_days = var.period
}

# Trivy and tfsec flag this (only SIGN_VERIFY is exempt there).
resource "aws_kms_key" "rsa_encrypt" {
  customer_master_key_spec = "RSA_2048"
  key_usage                = "ENCRYPT_DECRYPT"
}

resource "aws_kms_key" "rsa_sign" {
  customer_master_key_spec = "RSA_4096"
  key_usage                = "SIGN_VERIFY"
}

resource "aws_kms_key" "ecc" {
  customer_master_key_spec = "ECC_NIST_P256"
  key_usage                = "SIGN_VERIFY"
}

# Checkov, Trivy and tfsec flag HMAC keys, which cannot rotate.
resource "aws_kms_key" "hmac" {
  customer_master_key_spec = "HMAC_256"
  key_usage                = "GENERATE_VERIFY_MAC"
}

# Every peer flags custom key store keys.
resource "aws_kms_key" "cloudhsm" {
  custom_key_store_id = "cks-1234567890abcdef0"
}

resource "aws_kms_key" "xks" {
  custom_key_store_id = "cks-0fedcba9876543210"
  xks_key_id          = "xks-key-1"
}

resource "aws_kms_external_key" "imported" {
  description = "imported material"
}

resource "aws_kms_key" "primary_rotating" {
  multi_region        = true
  enable_key_rotation = true
}

resource "aws_kms_replica_key" "replica_rotating" {
  primary_key_arn = aws_kms_key.primary_rotating.arn
}

resource "aws_kms_key" "primary_not_rotating" {
  multi_region = true
}

resource "aws_kms_replica_key" "replica_not_rotating" {
  primary_key_arn = aws_kms_key.primary_not_rotating.arn
  enabled         = true
}

resource "aws_kms_replica_key" "replica_elsewhere" {
  primary_key_arn = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
}

resource "aws_kms_key" "disabled" {
  is_enabled = false
}

# KICS skips keys that set a deletion window; it is not a state.
resource "aws_kms_key" "deletion_window" {
  deletion_window_in_days = 7
}

resource "aws_kms_key" "var_no_default" {
  enable_key_rotation = var.rotate
}

resource "aws_kms_key" "conditional" {
  enable_key_rotation = var.env == "prod" ? true : false
}

resource "aws_kms_key" "local" {
  enable_key_rotation = local.rotate_all
}

resource "aws_kms_key" "data_store" {
  custom_key_store_id = data.aws_kms_custom_key_store.hsm.id
  enable_key_rotation = true
}

resource "aws_kms_key" "counted" {
  count               = 2
  enable_key_rotation = count.index == 0
}

resource "aws_kms_key" "each" {
  for_each = {
    short = 90
    long  = 1000
  }
  enable_key_rotation     = true
  rotation_period_in_days = each.value
}

resource "aws_kms_key" "unknown_count" {
  count               = var.rotate ? 1 : 0
  enable_key_rotation = true
}

resource "aws_kms_key" "too_short" {
  enable_key_rotation     = true
  rotation_period_in_days = 30
}

resource "aws_kms_key" "functions" {
  enable_key_rotation = tobool(lookup(merge({ rotate = "false" }, { rotate = "true" }), "rotate", "false"))
}

resource "aws_kms_key" "unknown_function" {
  enable_key_rotation = fileexists("rotate.flag")
}

resource "aws_kms_replica_key" "replica_of_counted" {
  count           = 2
  primary_key_arn = aws_kms_key.counted[count.index].arn
}
