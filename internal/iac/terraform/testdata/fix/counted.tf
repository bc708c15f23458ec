resource "aws_kms_key" "per_tenant" {
  count       = 3
  description = "tenant ${count.index}"
}

resource "aws_kms_key" "null_rotation" {
  enable_key_rotation = null
}
