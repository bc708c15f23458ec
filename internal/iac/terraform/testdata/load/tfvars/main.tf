variable "rotate" {
  type = bool
}

variable "period" {
  type    = number
  default = 365
}

variable "spec" {
  default = "SYMMETRIC_DEFAULT"
}

variable "enabled" {
  type    = bool
  default = true
}

resource "aws_kms_key" "from_tfvars" {
  enable_key_rotation     = var.rotate
  rotation_period_in_days = var.period
}

resource "aws_kms_key" "spec_from_json" {
  customer_master_key_spec = var.spec
}

resource "aws_kms_key" "enabled_from_var" {
  is_enabled          = var.enabled
  enable_key_rotation = true
}
