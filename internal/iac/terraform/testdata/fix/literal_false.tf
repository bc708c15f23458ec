resource "aws_kms_key" "legacy" {
  description = "legacy key"
  # Turned off during the 2023 migration.
  enable_key_rotation = false # TODO: turn back on
  is_enabled = true
}

resource "aws_kms_key" "untouched" {
  enable_key_rotation = false
}
