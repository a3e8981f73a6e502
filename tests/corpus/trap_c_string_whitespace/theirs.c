puts( "a b" );
