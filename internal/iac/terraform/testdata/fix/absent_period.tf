resource "aws_kms_key" "k" {
  description = "needs rotation and a period"
  key_usage = "ENCRYPT_DECRYPT"
}
