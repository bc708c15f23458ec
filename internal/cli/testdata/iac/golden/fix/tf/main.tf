variable "rotate" {
  type = bool
}

# The application key.
resource "aws_kms_key" "app" {
  description         = "app"
  enable_key_rotation = true
}

resource "aws_kms_key" "by_var" {
  enable_key_rotation = var.rotate
}

resource "aws_kms_key" "hmac" {
  customer_master_key_spec = "HMAC_256"
  key_usage                = "GENERATE_VERIFY_MAC"
}

module "east" {
  source = "./mod"
}

module "west" {
  source = "./mod"
}
