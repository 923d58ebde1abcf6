"""``manage.py createpressofficer USERNAME``: a press officer, who runs the day in public."""

from tweetup.management.staff import StaffCommand
from tweetup.roles import PRESS_OFFICERS


class Command(StaffCommand):
    group = PRESS_OFFICERS
    role = "press officer"
