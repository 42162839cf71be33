"""Qt item models (QAbstractTableModel subclasses) that the views display; testable alone."""
