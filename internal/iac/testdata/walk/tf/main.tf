resource "aws_kms_key" "main" {
  enable_key_rotation = true
}
