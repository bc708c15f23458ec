resource "aws_kms_key" "downloaded" {}
