resource "aws_kms_key" "base" {
  description         = "overridden below"
  enable_key_rotation = false
}
