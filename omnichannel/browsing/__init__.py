"""What visitors look at and ask about: product views, browse abandonment, back in stock
and price drops.

``product_views`` and ``alerts`` record (the bridge's layer); ``abandonment`` and ``news``
are the sweeps that start flows from them.
"""
