resource "aws_kms_key" "empty" {}

resource "aws_kms_key" "one" { description = "one line" }

resource "aws_kms_key" "off" { enable_key_rotation = false }
