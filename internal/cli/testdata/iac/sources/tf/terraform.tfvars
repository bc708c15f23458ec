rotate_from_tfvars = false
