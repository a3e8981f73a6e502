const x = compute(a,b) ;
