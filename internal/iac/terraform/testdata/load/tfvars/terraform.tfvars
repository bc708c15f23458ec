rotate = false
period = 730
