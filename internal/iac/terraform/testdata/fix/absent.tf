# Keys for the payments service.
terraform {
  required_version = ">= 1.5"
}

resource   "aws_s3_bucket"   "logs"   {
  bucket="kept-exactly-as-written"
}

# The main key. Rotation was forgotten.
resource "aws_kms_key" "main" {
  description             = "payments data" # who owns it: team-pay
  deletion_window_in_days = 30

  tags = {
    Team = "payments"
  }

  lifecycle {
    prevent_destroy = true
  }
}

output "key_arn" {
  value=aws_kms_key.main.arn
}
