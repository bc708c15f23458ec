period  = "180"
enabled = true
