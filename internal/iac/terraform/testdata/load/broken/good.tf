resource "aws_kms_key" "fine" {
  enable_key_rotation = true
}
