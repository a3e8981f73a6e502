SEP = ","
