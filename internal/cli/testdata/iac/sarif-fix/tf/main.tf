variable "rotate" {
  type    = bool
  default = false
}

# The attribute is absent: rotation is off by default.
resource "aws_kms_key" "absent" {
  description = "absent"
  tags = {
    Team = "payments"
  }
}

resource "aws_kms_key" "literal_false" {
  description         = "literal false"
  enable_key_rotation = false # to do
}

resource "aws_kms_key" "long_period" {
  enable_key_rotation     = true
  rotation_period_in_days = 730
}

resource "aws_kms_key" "off_long_period" {
  enable_key_rotation     = false
  rotation_period_in_days = 500
}

resource "aws_kms_key" "oneline" {}

# Set by expressions: reported, never rewritten.
resource "aws_kms_key" "by_var" {
  enable_key_rotation = var.rotate
}

resource "aws_kms_key" "counted" {
  count               = 2
  enable_key_rotation = count.index != 1
}

module "east" {
  source = "./mod"
}

module "west" {
  source = "./mod"
}
