"""Building blocks every part of the app uses and that import nothing above them."""
