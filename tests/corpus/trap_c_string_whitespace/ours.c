puts("a  b");
