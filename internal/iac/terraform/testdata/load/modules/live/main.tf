module "app" {
  source = "../kmsmod"
  name   = "app"
  rotate = true
}

module "legacy" {
  source = "../kmsmod"
  name   = "legacy"
}

module "tenants" {
  source   = "../kmsmod"
  for_each = toset(["a", "b"])
  name     = each.key
  rotate   = each.key == "a"
}

module "pair" {
  source = "../kmsmod"
  count  = 2
  name   = "pair${count.index}"
  rotate = true
}

module "registry" {
  source  = "terraform-aws-modules/kms/aws"
  version = "~> 3.0"
}

module "missing" {
  source = "./does-not-exist"
}

resource "aws_kms_replica_key" "app_replica" {
  primary_key_arn = module.app.key_arn
}
