resource "aws_kms_key" "ok" {
  enable_key_rotation = true
}
