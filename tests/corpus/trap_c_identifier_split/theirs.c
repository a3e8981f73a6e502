int sub total;
