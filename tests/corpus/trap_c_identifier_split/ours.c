int sub_total;
