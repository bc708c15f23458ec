resource "aws_kms_key" "this" {
  description         = "module key"
  enable_key_rotation = false
}
