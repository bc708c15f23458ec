resource "aws_kms_key" "base" {
  enable_key_rotation = true
}
