"""``manage.py createtouradmin USERNAME``: a tour admin, who runs the visits' days."""

from tweetup.management.staff import StaffCommand
from tweetup.roles import TOUR_ADMINS


class Command(StaffCommand):
    group = TOUR_ADMINS
    role = "tour admin"
