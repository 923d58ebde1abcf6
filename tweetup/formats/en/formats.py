# One voice for dates in English: day before month, and the 24-hour clock, as
# in French and as a Geneva event writes them (Django's default is US a.m./p.m.).
DATE_FORMAT = "l j F Y"
DATETIME_FORMAT = "l j F Y, H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
