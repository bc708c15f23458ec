variable "name" {
  type = string
}

variable "enable_key_rotation" {
  type    = bool
  default = false
}

variable "rotation_period_in_days" {
  type    = number
  default = null
}

resource "aws_kms_key" "this" {
  description             = "key for ${var.name}"
  enable_key_rotation     = var.enable_key_rotation
  rotation_period_in_days = var.rotation_period_in_days
}
