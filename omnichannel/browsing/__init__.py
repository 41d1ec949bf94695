"""What visitors look at: product views, browse abandonment."""
