resource "aws_kms_key" "this" {
  description             = "module key"
  enable_key_rotation     = true
  rotation_period_in_days = 180
}
