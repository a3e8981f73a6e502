SEP = ", "
