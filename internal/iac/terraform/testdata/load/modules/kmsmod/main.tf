variable "name" {
  type = string
}

variable "rotate" {
  type    = bool
  default = false
}

resource "aws_kms_key" "this" {
  description         = "key for ${var.name}"
  enable_key_rotation = var.rotate
  multi_region        = true
}

output "key_arn" {
  value = aws_kms_key.this.arn
}
