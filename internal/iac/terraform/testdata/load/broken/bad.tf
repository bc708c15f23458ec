resource "aws_kms_key" "half" {
  enable_key_rotation = false

resource "aws_kms_key" "never" {
  enable_key_rotation = 
}
