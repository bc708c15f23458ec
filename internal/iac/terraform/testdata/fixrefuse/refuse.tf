variable "rotate" {
  type = bool
}

resource "aws_kms_key" "from_var" {
  enable_key_rotation = var.rotate
}

resource "aws_kms_key" "period_from_var" {
  enable_key_rotation     = true
  rotation_period_in_days = var.period
}

resource "aws_kms_key" "quoted" {
  enable_key_rotation = "false"
}

resource "aws_kms_key" "primary" {
  multi_region = true
}

resource "aws_kms_replica_key" "replica" {
  primary_key_arn = aws_kms_key.primary.arn
}

resource "aws_kms_external_key" "imported" {}

resource "aws_kms_key" "no_rotation" {}
