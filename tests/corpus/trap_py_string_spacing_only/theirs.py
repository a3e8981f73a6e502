SEP = " ,"
