int total;
