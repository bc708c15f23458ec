rotate = true
