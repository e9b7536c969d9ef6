"""What other domains may follow without spaces knowing them (billing takes credits on a
confirmation and gives them back on a cancellation).

Both are sent inside the booking's write transaction, after the booking row is saved: a
receiver's writes commit or roll back with the booking, and a receiver that raises undoes
the booking.
"""

from django.dispatch import Signal

# A booking became confirmed: created confirmed, approved, booked from the waitlist, or
# moved (its charge is fixed again). Keyword argument: booking.
booking_confirmed = Signal()

# A booking was cancelled. Keyword arguments: booking, by_place (True when the place
# cancelled it: a closure or an out-of-service resource).
booking_cancelled = Signal()
