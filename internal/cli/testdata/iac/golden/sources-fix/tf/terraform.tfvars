rotate_from_tfvars = true
