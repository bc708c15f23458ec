# A trimmed copy of terraform-aws-modules/kms/aws.
variable "create" {
  type    = bool
  default = true
}

variable "enable_key_rotation" {
  type    = bool
  default = true
}

variable "rotation_period_in_days" {
  type    = number
  default = null
}

resource "aws_kms_key" "this" {
  count = var.create ? 1 : 0

  description             = "registry module key"
  enable_key_rotation     = var.enable_key_rotation
  rotation_period_in_days = var.rotation_period_in_days
}
