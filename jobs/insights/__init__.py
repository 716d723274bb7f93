"""What people read: access-review priorities, blast radius, outcome metrics and the leadership report."""
