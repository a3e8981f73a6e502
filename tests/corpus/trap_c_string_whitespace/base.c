puts("a b");
