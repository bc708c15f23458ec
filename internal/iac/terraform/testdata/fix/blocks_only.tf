resource "aws_kms_key" "guarded" {
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_kms_key" "tagged" {
  policy = <<-POLICY
    {"Version": "2012-10-17"}
  POLICY
  tags = {
    Name = "tagged"
  }
}
