resource "aws_kms_key" "windows" {
  description = "written on windows"
}
