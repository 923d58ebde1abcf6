"""``manage.py createorganizer USERNAME``: the first organizer of a new site, and the next."""

from tweetup.management.staff import StaffCommand
from tweetup.roles import ORGANIZERS


class Command(StaffCommand):
    group = ORGANIZERS
    role = "organizer"
