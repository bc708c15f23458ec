resource "aws_kms_key" "slow" {
  enable_key_rotation     = true
  rotation_period_in_days = 730 # two years
}
